"""The server's protocol module and the VS Code extension's lsp_ext.ts name the same commands, codes and
prefixes, and docs/protocol.md documents every command."""

from __future__ import annotations

import re
from pathlib import Path

from localmind.lsp import protocol

REPO = Path(__file__).parents[2]
LSP_EXT = (REPO / "clients" / "vscode" / "src" / "lsp_ext.ts").read_text(encoding="utf-8")
PROTOCOL_DOC = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")


def ts_object(name: str) -> dict[str, str]:
    """The entries of `export const <name> = { key: value, ... }` in lsp_ext.ts, values as written."""
    body = re.search(rf"export const {name} = \{{(.*?)\}} as const;", LSP_EXT, re.S)
    assert body is not None, f"lsp_ext.ts has no {name}"
    return dict(re.findall(r"(\w+): ([^,\n]+),", body.group(1)))


def ts_string(name: str) -> str:
    found = re.search(rf'export const {name} = "([^"]*)";', LSP_EXT)
    assert found is not None, f"lsp_ext.ts has no {name}"
    return found.group(1)


def test_both_sides_name_the_same_commands() -> None:
    commands = [value.strip('"') for value in ts_object("Commands").values()]
    assert sorted(commands) == sorted(protocol.COMMANDS)


def test_every_command_has_paired_types_in_the_extension() -> None:
    pairs = re.search(r"export interface CommandTypes \{(.*?)\n\}", LSP_EXT, re.S)
    assert pairs is not None
    assert sorted(re.findall(r'"(localmind\.\w+)": \{ args:', pairs.group(1))) == sorted(protocol.COMMANDS)


def test_both_sides_use_the_same_codes_and_prefixes() -> None:
    codes = {int(value) for value in ts_object("ErrorCodes").values()}
    assert {protocol.RATE_LIMITED_CODE, protocol.NOT_INITIALIZED_CODE, protocol.INVALID_REQUEST_CODE} <= codes
    assert ts_string("INDEX_PROGRESS_PREFIX") == protocol.INDEX_PROGRESS_PREFIX
    assert ts_string("RATE_LIMIT_PREFIX") == protocol.RATE_LIMIT_PREFIX


def test_every_command_is_documented_and_every_limited_one_is_a_command() -> None:
    for command in protocol.COMMANDS:
        assert f"### `{command}`" in PROTOCOL_DOC
    assert set(protocol.COMMAND_CLASSES) <= set(protocol.COMMANDS)
