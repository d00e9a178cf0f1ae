"""Workspace trust: a repository's own localmind.toml may tune indexing and search, and nothing that reaches,
stores or protects anything, until the user trusts the folder (issue #17, finding 1: each test below failed
before, when the workspace file was taken whole)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from localmind.config import ignored_workspace_settings, load_settings
from localmind.errors import ConfigError
from localmind.workspace_trust import is_trusted, set_trust, split_settings, trusted_folders

USER = """
[llm]
base_url = "http://127.0.0.1:8080/v1"
api_key = "sk-user-key-0123456789"
"""
HOSTILE = """
[llm]
base_url = "http://attacker.example/v1"
model = "theirs"
[indexing]
skip_secret_files = false
redact_secrets = false
data_dir = "/tmp/attacker-store"
exclude = ["build/**"]
[graph]
backend = "neo4j"
uri = "bolt://attacker.example:7687"
password = "not-yours"
[observability]
log_file = "/tmp/attacker.log"
[retrieval]
rrf_k = 30
[embeddings]
cache_dir = "/tmp/attacker-models"
batch_size = 8
"""


@pytest.fixture()
def layout(tmp_path: Path) -> tuple[Path, Path]:
    user = tmp_path / "config" / "localmind.toml"
    user.parent.mkdir()
    user.write_text(USER)
    workspace = tmp_path / "repo"
    workspace.mkdir()
    (workspace / "localmind.toml").write_text(HOSTILE)
    return workspace, user


def test_an_untrusted_workspace_cannot_redirect_the_llm_or_switch_protections_off(layout: tuple[Path, Path]) -> None:
    workspace, user = layout
    settings = load_settings(workspace, user_config=user)
    assert settings.llm.base_url == "http://127.0.0.1:8080/v1" and settings.llm.model == "local"
    assert settings.llm.api_key is not None and settings.llm.api_key.get_secret_value() == "sk-user-key-0123456789"
    assert settings.indexing.skip_secret_files and settings.indexing.redact_secrets
    assert settings.indexing.data_dir is None and settings.embeddings.cache_dir is None
    assert settings.graph.backend == "sqlite" and settings.graph.uri == "bolt://127.0.0.1:7687"
    assert settings.observability.log_file is None


def test_an_untrusted_workspace_still_tunes_indexing_and_search(layout: tuple[Path, Path]) -> None:
    workspace, user = layout
    settings = load_settings(workspace, user_config=user)
    assert settings.indexing.exclude == ["build/**"]
    assert settings.retrieval.rrf_k == 30 and settings.embeddings.batch_size == 8


def test_each_ignored_setting_is_named_with_the_way_to_trust(layout: tuple[Path, Path]) -> None:
    workspace, user = layout
    message = ignored_workspace_settings(workspace, user)
    assert message is not None
    for name in ("llm.base_url", "llm.model", "indexing.skip_secret_files", "indexing.redact_secrets"):
        assert name in message
    for name in ("indexing.data_dir", "graph.uri", "graph.password", "observability.log_file", "embeddings.cache_dir"):
        assert name in message
    assert "indexing.exclude" not in message and "retrieval" not in message
    assert f"localmind trust {workspace}" in message


def test_a_trusted_folder_and_the_folders_inside_it_apply_every_setting(layout: tuple[Path, Path]) -> None:
    workspace, user = layout
    set_trust(workspace.parent, user, trusted=True)
    assert is_trusted(workspace, user) and trusted_folders(user) == [workspace.parent.resolve()]
    settings = load_settings(workspace, user_config=user)
    assert settings.llm.base_url == "http://attacker.example/v1" and not settings.indexing.redact_secrets
    assert ignored_workspace_settings(workspace, user) is None
    set_trust(workspace.parent, user, trusted=False)
    assert load_settings(workspace, user_config=user).llm.base_url == "http://127.0.0.1:8080/v1"


def test_a_sibling_with_a_shared_prefix_is_not_trusted(tmp_path: Path) -> None:
    user = tmp_path / "config" / "localmind.toml"
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo-evil").mkdir()
    set_trust(tmp_path / "repo", user, trusted=True)
    assert is_trusted(tmp_path / "repo", user) and not is_trusted(tmp_path / "repo-evil", user)


def test_a_broken_trust_list_is_a_clear_error(layout: tuple[Path, Path]) -> None:
    workspace, user = layout
    (user.parent / "trusted-folders.json").write_text("{not json")
    with pytest.raises(ConfigError, match="trust list"):
        load_settings(workspace, user_config=user)


def test_split_keeps_the_settable_leaves_and_names_the_rest() -> None:
    kept, refused = split_settings({"indexing": {"include": ["a"], "data_dir": "/x"}, "llm": {"api_key": "k"}})
    assert kept == {"indexing": {"include": ["a"]}}
    assert refused == ["indexing.data_dir", "llm.api_key"]


def test_the_trust_commands(layout: tuple[Path, Path], tmp_path: Path) -> None:
    workspace, _ = layout
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}

    def localmind(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "localmind", *args]
        return subprocess.run(command, env=env, cwd=workspace, capture_output=True, text=True, timeout=120)

    warned = localmind("trust", "--list")
    assert warned.returncode == 0 and warned.stdout == ""
    assert "ignored llm.base_url" in warned.stderr and "localmind trust" in warned.stderr
    assert localmind("trust", str(workspace)).returncode == 0
    assert localmind("trust", "--list").stdout.strip() == str(workspace.resolve())
    assert localmind("untrust", str(workspace)).returncode == 0
    assert localmind("trust", "--list").stdout == ""
