"""Workspace trust: which settings a repository's own localmind.toml may set.

A workspace is untrusted input: whoever wrote the repository wrote its localmind.toml. Such a file may tune
what is indexed and how search ranks (the settings in WORKSPACE_SETTABLE); everything that reaches or runs
something, stores or reads data somewhere, or switches a protection off — the LLM endpoint and its key,
backend URIs and credentials, data and model folders, the secret switches, logs and metrics, limits — is
only taken from the user: the user's own localmind.toml, the environment, the editor's settings, or a
workspace file in a folder the user has trusted (`localmind trust PATH`). A credential set by the user is
therefore never sent to an endpoint named by an untrusted repository.

The trust list is a JSON file beside the user's localmind.toml: a list of absolute folder paths. Trusting a
folder trusts the folders inside it.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from localmind.errors import ConfigError

TRUST_FILE_NAME = "trusted-folders.json"
# Dotted setting names (or whole sections) that a workspace's localmind.toml may set without trust.
WORKSPACE_SETTABLE = (
    "indexing.include",
    "indexing.exclude",
    "indexing.max_file_bytes",
    "indexing.chunk_tokens",
    "indexing.chunk_overlap",
    "retrieval",
    "embeddings.model",
    "embeddings.variant",
    "embeddings.batch_size",
)


class TrustError(ConfigError):
    """The trust list or a workspace file cannot be read."""


def trust_file(user_config: Path) -> Path:
    """The trust list that goes with a user's localmind.toml."""
    return user_config.parent / TRUST_FILE_NAME


def trusted_folders(user_config: Path) -> list[Path]:
    path = trust_file(user_config)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise TrustError(f"cannot read the trust list {path}: {exc}") from None
    if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
        raise TrustError(f"the trust list {path} must be a JSON list of folder paths")
    return [Path(entry) for entry in entries]


def is_trusted(folder: Path, user_config: Path) -> bool:
    """Whether the folder, or a folder holding it, is on the user's trust list."""
    resolved = folder.resolve()
    return any(resolved == trusted or trusted in resolved.parents for trusted in trusted_folders(user_config))


def set_trust(folder: Path, user_config: Path, trusted: bool) -> list[Path]:
    """Add the folder to the trust list (or remove it); the list is rewritten atomically. Returns the list."""
    resolved = folder.resolve()
    if trusted and not resolved.is_dir():
        raise TrustError(f"{folder} is not a folder")
    current = [entry for entry in trusted_folders(user_config) if entry != resolved]
    updated = [*current, resolved] if trusted else current
    _write_atomically(trust_file(user_config), json.dumps([str(entry) for entry in updated], indent=2) + "\n")
    return updated


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".trust-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def read_workspace_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TrustError(f"{path}: {exc}") from None


def split_settings(values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The values a workspace may set, and the dotted names of those it may not (leaves, in file order)."""
    kept: dict[str, Any] = {}
    refused: list[str] = []
    _split(values, (), kept, refused)
    return kept, refused


def _split(values: dict[str, Any], path: tuple[str, ...], kept: dict[str, Any], refused: list[str]) -> None:
    for key, value in values.items():
        name = (*path, str(key))
        if workspace_may_set(".".join(name)):
            _place(kept, name, value)
        elif isinstance(value, dict) and value:
            _split(value, name, kept, refused)
        else:
            refused.append(".".join(name))


def workspace_may_set(dotted: str) -> bool:
    """Whether an untrusted workspace's own settings may set this dotted setting name."""
    return any(dotted == allowed or dotted.startswith(allowed + ".") for allowed in WORKSPACE_SETTABLE)


def _place(target: dict[str, Any], name: tuple[str, ...], value: Any) -> None:
    for key in name[:-1]:
        target = target.setdefault(key, {})
    target[name[-1]] = value
