"""Writes the server's settings into package.json's contributes.configuration, from Local Mind's own
settings model (server/localmind/config.py): one block per section, one VS Code setting per leaf, with
its type, default, enum, bounds and description.

Run it with the project's interpreter after changing the settings model:

    .venv/bin/python clients/vscode/scripts/generate_settings.py [--check]

The block with id "localmind" holds the extension's own settings (interpreter, server environment, search
and ask behaviour) and is kept as it is. tests/editors/test_vscode_settings.py compares the result with the
model independently, so the two cannot drift unnoticed. --check changes nothing and exits 1 when the file
is out of date.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

PACKAGE_JSON = Path(__file__).resolve().parent.parent / "package.json"
CLIENT_BLOCK = "localmind"
# The extension's own settings that a workspace may not choose in an untrusted window: they run something.
CLIENT_RESTRICTED = ["localmind.pythonPath", "localmind.serverEnv"]
UNTRUSTED_DESCRIPTION = (
    "In an untrusted workspace Local Mind ignores the workspace's choice of Python interpreter and server "
    "environment, and every server setting that reaches, stores or protects something (the LLM endpoint and "
    "key, backends, data folders, secret switches, logs, limits): as for a repository's own localmind.toml, "
    "only indexing and ranking settings apply."
)
# Keys JSON Schema and VS Code share, copied from the model's schema as they are.
COPIED_KEYWORDS = (
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "pattern",
    "minLength",
    "maxLength",
)
STARTS = "in the environment VS Code starts from"
# Secrets: contributed, but settings.json is plain text, so their descriptions point elsewhere.
SECRET_NOTES = {
    "graph.password": f"`graph.password_file`, or the variable `LOCALMIND_GRAPH__PASSWORD` {STARTS}",
    "vectors.token": f"the variable `LOCALMIND_VECTORS__TOKEN` {STARTS}",
    "llm.api_key": f"the variable `LOCALMIND_LLM__API_KEY` {STARTS}",
}


def load_model() -> tuple[dict[str, Any], dict[str, Any]]:
    """The settings model's JSON schema and its defaults (with no environment variable or TOML file)."""
    for name in [name for name in os.environ if name.startswith("LOCALMIND_")]:
        del os.environ[name]
    from localmind.config import Settings

    return Settings.model_json_schema(), Settings().model_dump(mode="json")


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        return dict(schema["$defs"][ref.rsplit("/", 1)[-1]])
    return node


def is_section(schema: dict[str, Any], node: dict[str, Any]) -> bool:
    resolved = resolve(schema, node)
    return resolved.get("type") == "object" and "properties" in resolved


def leaves(schema: dict[str, Any], node: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(dotted name, schema) of every setting below node, in declaration order."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, prop in resolve(schema, node)["properties"].items():
        dotted = f"{prefix}{name}"
        if is_section(schema, prop):
            found.extend(leaves(schema, prop, f"{dotted}."))
        else:
            found.append((dotted, prop))
    return found


def default_of(defaults: dict[str, Any], dotted: str) -> Any:
    value: Any = defaults
    for part in dotted.split("."):
        value = value[part]
    return value


def contributed(dotted: str, prop: dict[str, Any], default: Any, order: int) -> dict[str, Any]:
    """One VS Code setting for one leaf of the model."""
    variants = prop.get("anyOf", [prop])
    nullable = any(variant.get("type") == "null" for variant in variants)
    (main,) = [variant for variant in variants if variant.get("type") != "null"]
    kind = main["type"]
    setting: dict[str, Any] = {"type": [kind, "null"] if nullable else kind}
    if kind == "array":
        setting["items"] = main.get("items", {})
    for keyword in COPIED_KEYWORDS:
        if keyword in main:
            setting[keyword] = main[keyword]
        elif keyword in prop:
            setting[keyword] = prop[keyword]
    setting["default"] = default
    description = prop.get("description") or prop.get("title") or dotted
    if dotted in SECRET_NOTES:
        description += f" **A secret:** settings.json is plain text, so prefer {SECRET_NOTES[dotted]};"
        description += " the extension never logs it."
    if nullable:
        description += " Empty: the server's default (or `localmind.toml`, or the environment)."
    setting["markdownDescription"] = description
    if "pattern" in setting:
        setting["patternErrorMessage"] = f"Must match {setting['pattern']}"
    setting["order"] = order
    return setting


def blocks(schema: dict[str, Any], defaults: dict[str, Any]) -> list[dict[str, Any]]:
    result = []
    for index, (section, prop) in enumerate(schema["properties"].items(), start=1):
        definition = resolve(schema, prop)
        properties = {
            f"localmind.{section}.{dotted}": contributed(
                f"{section}.{dotted}", leaf, default_of(defaults, f"{section}.{dotted}"), order
            )
            for order, (dotted, leaf) in enumerate(leaves(schema, prop))
        }
        title = section.replace("_", " ").capitalize()
        if section == "llm":
            title = "LLM"
        block: dict[str, Any] = {"id": f"localmind.{section}", "title": title, "order": index}
        if definition.get("description"):
            block["description"] = definition["description"]
        block["properties"] = properties
        result.append(block)
    return result


def untrusted_workspaces(schema: dict[str, Any]) -> dict[str, Any]:
    """VS Code's restricted mode: the settings a workspace's settings.json may not set in an untrusted window,
    the same server settings a repository's localmind.toml may not set without trust."""
    from localmind.workspace_trust import workspace_may_set

    server = [
        f"localmind.{section}.{dotted}"
        for section, prop in schema["properties"].items()
        for dotted, _ in leaves(schema, prop)
        if not workspace_may_set(f"{section}.{dotted}")
    ]
    return {
        "supported": "limited",
        "description": UNTRUSTED_DESCRIPTION,
        "restrictedConfigurations": CLIENT_RESTRICTED + server,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when package.json is out of date")
    options = parser.parse_args()
    schema, defaults = load_model()
    manifest = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    configuration = manifest["contributes"]["configuration"]
    client = [block for block in configuration if block.get("id") == CLIENT_BLOCK]
    manifest["contributes"]["configuration"] = client + blocks(schema, defaults)
    manifest["capabilities"]["untrustedWorkspaces"] = untrusted_workspaces(schema)
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    if options.check:
        if text != PACKAGE_JSON.read_text(encoding="utf-8"):
            print(f"{PACKAGE_JSON} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    PACKAGE_JSON.write_text(text, encoding="utf-8")
    count = sum(len(block["properties"]) for block in manifest["contributes"]["configuration"][1:])
    print(f"wrote {count} server settings into {PACKAGE_JSON}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
