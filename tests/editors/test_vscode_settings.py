"""The VS Code extension contributes every server setting exactly as the settings model declares it: name,
type, default, enum and bounds. The contributed settings are written by
clients/vscode/scripts/generate_settings.py; this test compares them with the model on its own, so that a
change to config.py without a regenerated package.json (or a bug in the generator) fails here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localmind.config import Settings

PACKAGE_JSON = Path(__file__).resolve().parents[2] / "clients" / "vscode" / "package.json"
CLIENT_BLOCK = "localmind"
# The extension's own settings: they never reach the server.
CLIENT_SETTINGS = {
    "localmind.pythonPath",
    "localmind.serverEnv",
    "localmind.search.debounceMs",
    "localmind.search.results",
    "localmind.ask.sources",
    "localmind.trace.server",
}
SECRETS = {"localmind.graph.password", "localmind.vectors.token", "localmind.llm.api_key"}
JSON_TYPES = {"string", "integer", "number", "boolean", "array", "object"}
BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern")


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return schema["$defs"][ref.split("/")[-1]] if isinstance(ref, str) else node


def _model_leaves() -> dict[str, dict[str, Any]]:
    """Every leaf setting of the model as `localmind.<section>.<key>` → what VS Code must declare for it."""
    schema = Settings.model_json_schema()
    defaults = Settings().model_dump(mode="json")
    leaves: dict[str, dict[str, Any]] = {}

    def walk(node: dict[str, Any], path: list[str], default: Any) -> None:
        resolved = _resolve(schema, node)
        if resolved.get("type") == "object" and "properties" in resolved:
            for key, child in resolved["properties"].items():
                walk(child, [*path, key], default[key])
            return
        variants = node.get("anyOf", [node])
        nullable = any(v.get("type") == "null" for v in variants)
        (main,) = [v for v in variants if v.get("type") != "null"]
        expected: dict[str, Any] = {"types": {main["type"], *(["null"] if nullable else [])}, "default": default}
        for keyword in (*BOUNDS, "enum"):
            if keyword in main or keyword in node:
                expected[keyword] = main.get(keyword, node.get(keyword))
        if main["type"] == "array":
            expected["items"] = main["items"]
        leaves["localmind." + ".".join(path)] = expected

    for section, node in schema["properties"].items():
        walk(node, [section], defaults[section])
    return leaves


def _contributed() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The extension's (client settings, server settings) from package.json."""
    manifest = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    client: dict[str, dict[str, Any]] = {}
    server: dict[str, dict[str, Any]] = {}
    for block in manifest["contributes"]["configuration"]:
        (client if block.get("id") == CLIENT_BLOCK else server).update(block["properties"])
    return client, server


MODEL = _model_leaves()
CLIENT, SERVER = _contributed()
HOW_TO_FIX = "run .venv/bin/python clients/vscode/scripts/generate_settings.py"


def test_every_model_setting_is_contributed_and_nothing_else() -> None:
    missing = sorted(set(MODEL) - set(SERVER))
    extra = sorted(set(SERVER) - set(MODEL))
    assert not missing, f"not contributed in clients/vscode/package.json: {missing}; {HOW_TO_FIX}"
    assert not extra, f"contributed but not in the settings model: {extra}; {HOW_TO_FIX}"


def test_the_extensions_own_settings_are_kept_apart() -> None:
    assert set(CLIENT) == CLIENT_SETTINGS
    # A server section named like a client setting would make the client's settings reach the server.
    sections = {name.split(".")[1] for name in MODEL}
    assert not sections & {name.split(".")[1] for name in CLIENT}


@pytest.mark.parametrize("name", sorted(MODEL))
def test_contributed_setting_matches_the_model(name: str) -> None:
    expected = MODEL[name]
    contributed = SERVER.get(name)
    assert contributed is not None, f"{name} is not contributed; {HOW_TO_FIX}"
    types = contributed["type"] if isinstance(contributed["type"], list) else [contributed["type"]]
    assert set(types) <= JSON_TYPES | {"null"}, types
    assert set(types) == expected["types"], f"{name}: type {types}, the model says {expected['types']}"
    assert contributed.get("default") == expected["default"], f"{name}: default differs from the model's"
    assert type(contributed.get("default")) is type(expected["default"]), f"{name}: default's JSON type differs"
    for keyword in (*BOUNDS, "enum", "items"):
        assert contributed.get(keyword) == expected.get(keyword), f"{name}: {keyword} differs from the model's"
    description = contributed.get("markdownDescription") or contributed.get("description") or ""
    assert description.strip(), f"{name} has no description"


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_secrets_are_contributed_with_a_warning(name: str) -> None:
    description = SERVER[name]["markdownDescription"]
    assert "plain text" in description and "LOCALMIND_" in description, description
    assert SERVER[name]["default"] is None


def test_an_untrusted_window_may_not_choose_what_a_repository_may_not() -> None:
    """VS Code's restricted mode covers the settings an untrusted localmind.toml may not set (issue #17)."""
    manifest = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    restricted = set(manifest["capabilities"]["untrustedWorkspaces"]["restrictedConfigurations"])
    for name in ("llm.base_url", "llm.api_key", "indexing.data_dir", "indexing.redact_secrets", "graph.uri"):
        assert f"localmind.{name}" in restricted
    assert "localmind.pythonPath" in restricted and "localmind.serverEnv" in restricted
    assert "localmind.retrieval.rrf_k" not in restricted and "localmind.indexing.exclude" not in restricted
