"""Every limit, timeout and threshold has a range, and an invalid value names its setting."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from localmind.config import Settings, load_settings
from localmind.errors import ConfigError


@pytest.mark.parametrize(
    ("variable", "value", "setting"),
    [
        ("LOCALMIND_LIMITS__CHAT__BURST", "0", "limits.chat.burst"),
        ("LOCALMIND_LIMITS__HOVER__PER_MINUTE", "-5", "limits.hover.per_minute"),
        ("LOCALMIND_RESILIENCE__NEO4J__TIMEOUT", "-1", "resilience.neo4j.timeout"),
        ("LOCALMIND_RESILIENCE__MILVUS__FAILURE_RATE", "1.5", "resilience.milvus.failure_rate"),
        ("LOCALMIND_RESILIENCE__LLM__RETRIES", "99", "resilience.llm.retries"),
        ("LOCALMIND_OBSERVABILITY__METRICS_PORT", "80", "observability.metrics_port"),
        ("LOCALMIND_OBSERVABILITY__METRICS_PORT", "70000", "observability.metrics_port"),
        ("LOCALMIND_OBSERVABILITY__LOG_FORMAT", "xml", "observability.log_format"),
        ("LOCALMIND_LLM__CONNECT_TIMEOUT", "0", "llm.connect_timeout"),
    ],
)
def test_an_environment_value_out_of_range_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, setting: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings(workspace=tmp_path)
    assert f"setting {setting}:" in str(error.value)
    assert f"from environment variable {variable}" in str(error.value), "the source is named"


def test_a_toml_value_out_of_range_names_the_setting(tmp_path: Path) -> None:
    """In the user's own localmind.toml (a workspace's may not set these without trust: workspace_trust.py)."""
    user = tmp_path / "config" / "localmind.toml"
    user.parent.mkdir()
    user.write_text("[resilience.neo4j]\ntimeout = -1\n\n[observability]\nmetrics_port = 80\n")
    with pytest.raises(ConfigError) as error:
        load_settings(workspace=tmp_path, user_config=user)
    message = str(error.value)
    assert "setting resilience.neo4j.timeout:" in message and "setting observability.metrics_port:" in message
    assert f"from {user}:2" in message and f"from {user}:5" in message, "each value's file and line"


def test_a_workspace_toml_value_out_of_range_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "localmind.toml").write_text("[retrieval]\nrrf_k = 0\n\n[indexing]\nchunk_tokens = 5\n")
    with pytest.raises(ConfigError) as error:
        load_settings(workspace=tmp_path, user_config=tmp_path / "none.toml")
    message = str(error.value)
    assert "setting retrieval.rrf_k:" in message and "setting indexing.chunk_tokens:" in message
    workspace_file = tmp_path / "localmind.toml"
    assert "rrf_k: " in message and f"from {workspace_file}:2" in message and f"from {workspace_file}:5" in message


def test_a_misspelled_section_or_key_in_a_file_names_the_file_and_line(tmp_path: Path) -> None:
    user = tmp_path / "localmind.toml"
    user.write_text('# mine\n[embedings]\nvariant = "int8"\n\n[indexing]\nchunk_tokns = 150\nretrieval.rrf_k = 3\n')
    with pytest.raises(ConfigError) as error:
        load_settings(workspace=tmp_path / "ws", user_config=user)
    message = str(error.value)
    assert f"setting embedings: Extra inputs are not permitted, from {user}:2" in message
    assert f"setting indexing.chunk_tokns: Extra inputs are not permitted (got 150), from {user}:6" in message


def test_observability_defaults_and_valid_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    defaults = load_settings(workspace=tmp_path).observability
    assert (defaults.log_format, defaults.log_file, defaults.metrics_port) == ("text", None, None)
    monkeypatch.setenv("LOCALMIND_OBSERVABILITY__METRICS_PORT", "9464")
    monkeypatch.setenv("LOCALMIND_OBSERVABILITY__LOG_FORMAT", "json")
    monkeypatch.setenv("LOCALMIND_OBSERVABILITY__LOG_FILE", str(tmp_path / "lm.log"))
    chosen = load_settings(workspace=tmp_path).observability
    assert (chosen.log_format, chosen.log_file, chosen.metrics_port) == ("json", tmp_path / "lm.log", 9464)


def test_an_unknown_observability_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"setting observability\.metrics_host"):
        load_settings(workspace=tmp_path, overrides={"observability": {"metrics_host": "0.0.0.0"}})


def numeric_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, FieldInfo]]:
    """Every int or float setting (optional ones included), by its dotted name."""
    found: list[tuple[str, FieldInfo]] = []
    for name, info in model.model_fields.items():
        kinds = typing.get_args(info.annotation) or (info.annotation,)
        nested = [kind for kind in kinds if isinstance(kind, type) and issubclass(kind, BaseModel)]
        if nested:
            found += numeric_fields(nested[0], f"{prefix}{name}.")
        elif any(kind in (int, float) for kind in kinds):
            found.append((f"{prefix}{name}", info))
    return found


def test_every_limit_timeout_and_threshold_has_a_range() -> None:
    fields = numeric_fields(Settings)
    assert len(fields) > 40 and "resilience.neo4j.timeout" in dict(fields)
    unbounded = []
    for name, info in fields:
        bounds = {
            bound
            for meta in info.metadata
            for bound in ("gt", "ge", "lt", "le")
            if getattr(meta, bound, None) is not None
        }
        if not bounds & {"gt", "ge"} or not bounds & {"lt", "le"}:
            unbounded.append(name)
    assert unbounded == []
