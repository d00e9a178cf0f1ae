"""bench/gpu.sh on a machine without a GPU: it installs a fresh environment, chooses the CPU build and says
why, doctor confirms the CPU provider, and the speed script measures fp32 and int8 that agree. On a GPU machine
the same script measures fp32 and fp16 on CUDA (docs/BENCHMARKS.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from localmind.embeddings import OnnxEmbedder

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this test is the no-GPU fallback")


def test_gpu_script_falls_back_to_the_cpu_and_measures_both_cpu_variants(
    model_cache: Path, fp32: OnnxEmbedder, int8: OnnxEmbedder, tmp_path: Path
) -> None:
    del fp32, int8  # Requested so that both variants are built in model_cache.
    env = {
        **os.environ,
        "LOCALMIND_EMBEDDINGS__CACHE_DIR": str(model_cache),
        "LOCALMIND_BENCH_VENV": str(tmp_path / "no-reference"),
    }
    env.pop("LOCALMIND_GPU", None)
    command = ["bash", str(ROOT / "bench" / "gpu.sh"), "--quick", "--results", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
    explained = f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert result.returncode == 0, explained
    assert "== build: cpu (no NVIDIA driver is visible" in result.stderr, explained
    assert "doctor: all-MiniLM-L6-v2:int8 on CPUExecutionProvider" in result.stderr, explained
    report = json.loads(next(tmp_path.glob("gpu_speed-*.json")).read_text())
    assert report["device"] == "cpu" and report["provider"] == "CPUExecutionProvider"
    assert {row["engine"] for row in report["rows"]} == {"Local Mind fp32", "Local Mind int8"}
    assert all(row["passages_per_s"] > 0 for row in report["rows"])
    assert report["min_cosine_between_variants"] >= 0.97
