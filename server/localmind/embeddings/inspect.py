"""What the `models` and `doctor` commands report, as plain data (the CLI only prints it)."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from pathlib import Path

import onnxruntime as ort

from localmind.config import VARIANTS, EmbeddingsSettings, Variant
from localmind.embeddings.build_cache import ModelFiles, build_folder, ensure_built, problems_in
from localmind.embeddings.manifest import ModelSpec, load_catalog
from localmind.embeddings.providers import GPU_INSTALL_HINT, auto_variant
from localmind.embeddings.runtime import OnnxEmbedder
from localmind.embeddings.source import source_folder
from localmind.errors import EmbeddingInputError, LocalMindError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def model_table(cache_dir: Path) -> list[dict[str, object]]:
    """One row per known model: its manifest facts and the state of each built variant."""
    catalog = load_catalog()
    rows = []
    for spec in catalog.models.values():
        states = {v: _state(build_folder(spec, v, cache_dir)) for v in VARIANTS}
        rows.append(
            {
                "name": spec.name,
                "default": spec.name == catalog.default,
                "dimensions": spec.dimensions,
                "max_tokens": spec.max_tokens,
                "pooling": spec.pooling,
                "license": spec.license,
                "source": f"{spec.source.package}=={spec.source.version}" if spec.source else "",
                "variants": states,
                "auto_variant": auto_variant("auto"),
            }
        )
    return rows


def _state(folder: Path) -> str:
    problems = problems_in(folder)
    return "built" if not problems else "; ".join(problems)


def build_models(settings: EmbeddingsSettings, model: str | None, variants: list[Variant]) -> list[ModelFiles]:
    spec = load_catalog().get(model or settings.model)
    return [ensure_built(spec, variant, settings.resolved_cache_dir()) for variant in variants]


def verify_models(settings: EmbeddingsSettings, model: str | None) -> list[Check]:
    """Digests of the sources, integrity of every built variant, and a probe embedding through each."""
    catalog = load_catalog()
    names = [model] if model else list(catalog.models)
    checks = []
    for spec in (catalog.get(name) for name in names):
        checks.append(_check(f"{spec.name} source", partial(_source_detail, spec, settings)))
        for variant in VARIANTS:
            folder = build_folder(spec, variant, settings.resolved_cache_dir())
            if folder.exists():
                files = ModelFiles(spec, variant, folder, built=False)
                checks.append(_check(f"{spec.name} {variant}", partial(_probe, files, settings)))
    return checks


def _check(name: str, run: Callable[[], str]) -> Check:
    try:
        return Check(name, True, run())
    except LocalMindError as exc:
        return Check(name, False, str(exc), "run `localmind models build` to rebuild from verified sources")


def _source_detail(spec: ModelSpec, settings: EmbeddingsSettings) -> str:
    folder = source_folder(spec, settings.resolved_cache_dir(), allow_download=False)
    return f"sha256 verified in {folder}"


def _probe(files: ModelFiles, settings: EmbeddingsSettings) -> str:
    problems = problems_in(files.folder)
    if problems:
        raise LocalMindError("; ".join(problems))
    embedder = OnnxEmbedder(files, settings)
    norm = float((embedder.embed_query("probe") ** 2).sum() ** 0.5)
    return f"intact; {embedder.dimensions}-d vector of norm {norm:.4f} on {embedder.provider}"


def doctor_report(settings: EmbeddingsSettings) -> dict[str, object]:
    """Versions, the execution provider that a session really gets, and the configured model's state."""
    from localmind.embeddings import load_embedder

    report: dict[str, object] = {
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "onnxruntime_package": _ort_package(),
        "available_providers": ort.get_available_providers(),
        "settings": json.loads(settings.model_dump_json()),
    }
    try:
        embedder = load_embedder(settings, allow_build=False)
        report.update(model=embedder.model_id, provider=embedder.provider, provider_reason=embedder.provider_reason)
        report["problems"] = []
    except LocalMindError as exc:
        report["problems"] = [str(exc)]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        report["gpu_hint"] = f"for a GPU: {GPU_INSTALL_HINT}"
    return report


def _ort_package() -> str:
    """Which distribution owns the onnxruntime folder; both installed at once is an error worth naming."""
    found = []
    for name in ("onnxruntime", "onnxruntime-gpu"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return " + ".join(found) + ("  (conflict: keep only one)" if len(found) > 1 else "")


def read_texts_jsonl(path: Path) -> list[str]:
    """The texts of a JSONL file of {"text": ...} objects; a bad line is an error naming its number."""
    texts = []
    with path.open(encoding="utf-8", errors="surrogateescape") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                texts.append(_text_of(line, number, path))
    return texts


def _text_of(line: str, number: int, path: Path) -> str:
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise EmbeddingInputError(f"{path}:{number}: not JSON ({exc})") from None
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise EmbeddingInputError(f'{path}:{number}: expected an object with a string "text"')
    text: str = item["text"]
    return text
