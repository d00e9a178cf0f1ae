"""Settings: defaults, then user TOML, workspace TOML, environment, editor settings, each overriding."""

from __future__ import annotations

from pathlib import Path

import pytest

from localmind.config import load_settings
from localmind.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(user_config=tmp_path / "none.toml")
    assert settings.embeddings.model == "all-MiniLM-L6-v2"
    assert settings.embeddings.variant == "auto"
    assert settings.embeddings.batch_size == 16


def test_each_layer_overrides_the_one_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = write(tmp_path / "user" / "localmind.toml", "[embeddings]\nbatch_size = 8\nintra_op_threads = 3\n")
    workspace = tmp_path / "ws"
    write(workspace / "localmind.toml", "[embeddings]\nbatch_size = 32\nvariant = 'int8'\n")
    assert load_settings(workspace, user_config=user).embeddings.batch_size == 32
    assert load_settings(workspace, user_config=user).embeddings.intra_op_threads == 3

    monkeypatch.setenv("LOCALMIND_EMBEDDINGS__BATCH_SIZE", "64")
    from_env = load_settings(workspace, user_config=user).embeddings
    assert (from_env.batch_size, from_env.variant, from_env.intra_op_threads) == (64, "int8", 3)

    editor = load_settings(workspace, {"embeddings": {"batch_size": 4}}, user_config=user).embeddings
    assert (editor.batch_size, editor.variant, editor.intra_op_threads) == (4, "int8", 3)


def test_the_user_file_lives_in_the_user_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    write(tmp_path / "localmind" / "localmind.toml", "[embeddings]\nvariant = 'int8'\n")
    assert load_settings().embeddings.variant == "int8"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"embeddings": {"batch_size": 0}}, "embeddings.batch_size"),
        ({"embeddings": {"batch_size": 5000}}, "embeddings.batch_size"),
        ({"embeddings": {"variant": "int4"}}, "embeddings.variant"),
        ({"embeddings": {"device": "tpu"}}, "embeddings.device"),
        ({"embeddings": {"intra_op_threads": -1}}, "embeddings.intra_op_threads"),
        ({"embeddings": {"batch_sise": 8}}, "embeddings.batch_sise"),
        ({"embedings": {}}, "embedings"),
    ],
)
def test_invalid_values_name_the_setting(tmp_path: Path, overrides: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=rf"setting {named}\b"):
        load_settings(user_config=tmp_path / "none.toml", overrides=overrides)


def test_an_invalid_environment_value_names_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCALMIND_EMBEDDINGS__BATCH_SIZE", "lots")
    with pytest.raises(ConfigError, match=r"embeddings\.batch_size.*'lots'"):
        load_settings(user_config=tmp_path / "none.toml")


def test_a_malformed_toml_file_is_a_config_error(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    write(workspace / "localmind.toml", "[embeddings\nvariant=")
    with pytest.raises(ConfigError, match="invalid configuration"):
        load_settings(workspace, user_config=tmp_path / "none.toml")


def test_neo4j_needs_a_password_and_never_shows_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(overrides={"graph": {"backend": "neo4j"}})
    with pytest.raises(ConfigError, match=r"graph\.password"):
        settings.graph.resolved_password()
    monkeypatch.setenv("LOCALMIND_GRAPH__PASSWORD", "s3cret-Neo4j-pw")
    settings = load_settings(overrides={"graph": {"backend": "neo4j"}})
    assert settings.graph.resolved_password() == "s3cret-Neo4j-pw"
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())
    assert not settings.graph.password_is_weak()


def test_the_neo4j_password_can_come_from_a_file_and_weak_ones_are_flagged(tmp_path: Path) -> None:
    secret = tmp_path / "neo4j-password"
    secret.write_text("changeme\n")
    graph = load_settings(overrides={"graph": {"backend": "neo4j", "password_file": str(secret)}}).graph
    assert graph.resolved_password() == "changeme" and graph.password_is_weak()
    missing = load_settings(overrides={"graph": {"password_file": str(tmp_path / "absent")}}).graph
    with pytest.raises(ConfigError, match=r"graph\.password_file"):
        missing.resolved_password()


def test_backend_choices_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"graph\.backend"):
        load_settings(overrides={"graph": {"backend": "postgres"}})
    with pytest.raises(ConfigError, match=r"vectors\.consistency_level"):
        load_settings(overrides={"vectors": {"consistency_level": "Sometimes"}})
    assert load_settings().vectors.consistency_level == "Bounded"
