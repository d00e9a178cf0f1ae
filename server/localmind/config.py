"""The one settings model of Local Mind.

Values are resolved in this order, each overriding the one before: defaults, the user's
``localmind.toml`` (user config folder), the workspace's ``localmind.toml``, environment variables
``LOCALMIND_<SECTION>__<KEY>``, then editor settings passed as keyword arguments.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from localmind.errors import ConfigError

CONFIG_FILE_NAME = "localmind.toml"

# Settings sources are chosen by a classmethod that receives no arguments of ours, so the TOML
# files of one load_settings() call travel in a context variable.
_toml_files: ContextVar[tuple[Path, ...]] = ContextVar("localmind_toml_files", default=())


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EmbeddingsSettings(_Section):
    """How text becomes vectors."""

    model: str = Field("all-MiniLM-L6-v2", description="A model named in models/manifest.toml.")
    model_dir: Path | None = Field(
        None,
        description="A folder with model.onnx, tokenizer.json and localmind-model.toml; overrides model.",
    )
    variant: Literal["fp32", "int8"] = Field("fp32", description="fp32, or int8 dynamic quantisation.")
    device: Literal["auto", "cpu", "cuda", "tensorrt"] = Field(
        "auto", description="auto uses CUDA when onnxruntime-gpu and a GPU are present, else the CPU."
    )
    batch_size: int = Field(16, ge=1, le=1024, description="Texts per inference call, after length sorting.")
    intra_op_threads: int = Field(0, ge=0, le=256, description="ONNX Runtime threads; 0 lets it choose.")
    cache_dir: Path | None = Field(None, description="Where built models live; default: the user cache.")

    def resolved_cache_dir(self) -> Path:
        """The folder that holds built models and downloaded sources."""
        return self.cache_dir or Path(platformdirs.user_cache_dir("localmind"))


class Settings(BaseSettings):
    """Every setting of Local Mind, grouped by section."""

    model_config = SettingsConfigDict(
        env_prefix="LOCALMIND_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    embeddings: EmbeddingsSettings = Field(default_factory=EmbeddingsSettings)  # type: ignore[arg-type]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The first source wins; TOML files are listed last-loaded-first so the workspace beats the user.
        tomls = [TomlConfigSettingsSource(settings_cls, toml_file=p) for p in reversed(_toml_files.get())]
        return (init_settings, env_settings, *tomls)


def user_config_file() -> Path:
    """The user's own localmind.toml, in the platform's config folder."""
    return Path(platformdirs.user_config_dir("localmind")) / CONFIG_FILE_NAME


@contextmanager
def _using_toml_files(files: tuple[Path, ...]) -> Iterator[None]:
    token = _toml_files.set(files)
    try:
        yield
    finally:
        _toml_files.reset(token)


def load_settings(
    workspace: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    user_config: Path | None = None,
) -> Settings:
    """Resolve settings for a workspace; raise ConfigError naming each invalid setting."""
    files = tuple(p for p in (user_config or user_config_file(), _workspace_file(workspace)) if p and p.is_file())
    try:
        with _using_toml_files(files):
            return Settings(**dict(overrides or {}))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
    except ValueError as exc:  # A malformed TOML file or environment value.
        raise ConfigError(f"invalid configuration: {exc}") from None


def _workspace_file(workspace: Path | None) -> Path | None:
    return workspace / CONFIG_FILE_NAME if workspace else None


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming the setting as a user writes it (section.key)."""
    lines = []
    for err in exc.errors():
        name = ".".join(str(part) for part in err["loc"]) or "settings"
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
        lines.append(f"setting {name}: {err['msg']}{got}")
    return "invalid configuration:\n  " + "\n  ".join(lines)
