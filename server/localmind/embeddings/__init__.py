"""Local embeddings: all-MiniLM-L6-v2 (or a user's BERT-family encoder) on ONNX Runtime.

Public API::

    from localmind.embeddings import load_embedder
    e = load_embedder(None)            # or a Settings / EmbeddingsSettings
    e.embed_documents(["text", ...])   # (n, e.dimensions) float32, L2-normalised rows
    e.embed_query("text")              # (e.dimensions,)
"""

from __future__ import annotations

from localmind.config import EmbeddingsSettings, Settings, Variant, load_settings
from localmind.embeddings.build_cache import ModelFiles, ensure_built
from localmind.embeddings.manifest import load_catalog, load_user_spec
from localmind.embeddings.providers import auto_variant
from localmind.embeddings.runtime import BULK_PURPOSE, EmbeddingResult, OnnxEmbedder, shared_embedder
from localmind.errors import ModelError

__all__ = [
    "BULK_PURPOSE",
    "EmbeddingResult",
    "OnnxEmbedder",
    "chosen_variant",
    "load_embedder",
    "model_identity",
    "resolve_model_files",
]


def load_embedder(
    settings: Settings | EmbeddingsSettings | None = None, allow_build: bool = True, purpose: str = "shared"
) -> OnnxEmbedder:
    """The process's embedder for these settings, building the model on first use. Callers with another
    `purpose` get a session of their own (the language server indexes on one, answers queries on another)."""
    section = _section(settings)
    return shared_embedder(resolve_model_files(section, allow_build), section, purpose)


def model_identity(settings: Settings | EmbeddingsSettings) -> tuple[str, int]:
    """The model id and vector width these settings embed with, without opening a session."""
    files = resolve_model_files(_section(settings))
    return files.model_id, files.spec.dimensions


def resolve_model_files(section: EmbeddingsSettings, allow_build: bool = True) -> ModelFiles:
    """A user's own model folder when configured, else the manifest's model built into the cache."""
    if section.model_dir is not None:
        return _user_model(section)
    spec = load_catalog().get(section.model)
    return ensure_built(spec, chosen_variant(section), section.resolved_cache_dir(), allow_build)


def chosen_variant(section: EmbeddingsSettings) -> Variant:
    """The variant the settings name, with "auto" resolved for this machine's ONNX Runtime build."""
    return auto_variant(section.device) if section.variant == "auto" else section.variant


def _user_model(section: EmbeddingsSettings) -> ModelFiles:
    assert section.model_dir is not None
    folder = section.model_dir.expanduser()
    for name in ("model.onnx", "tokenizer.json"):
        if not (folder / name).is_file():
            raise ModelError(f"embeddings.model_dir {folder} has no {name}")
    return ModelFiles(load_user_spec(folder), "custom", folder, built=False)


def _section(settings: Settings | EmbeddingsSettings | None) -> EmbeddingsSettings:
    if settings is None:
        return load_settings().embeddings
    return settings.embeddings if isinstance(settings, Settings) else settings
