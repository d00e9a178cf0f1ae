"""`localmind index` then `localmind search` as a user runs them, including the batch mode for evaluation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE_WORKSPACE = Path(__file__).parents[1] / "fixtures" / "workspace"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory, model_cache: Path, embedder: object) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("cli-search")
    root = base / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, root)
    env = {
        **os.environ,
        "LOCALMIND_INDEXING__DATA_DIR": str(base / "data"),
        "LOCALMIND_EMBEDDINGS__CACHE_DIR": str(model_cache),
        "XDG_CONFIG_HOME": str(base / "config"),
    }
    result = localmind(["index", "--json", str(root)], env, cwd=base)
    report = json.loads(result.stdout)
    assert report["files_indexed"] >= 9 and report["chunks_embedded"] > 0
    return root, env


def localmind(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "localmind.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result


def test_search_json_from_inside_the_workspace(cli: tuple[Path, dict[str, str]]) -> None:
    root, env = cli
    hits = json.loads(localmind(["search", "where is parse_config defined", "--json", "-k", "3"], env, root).stdout)
    assert len(hits) == 3
    assert hits[0]["path"] == "src/config_loader.py"
    assert hits[0]["uri"] == (root / "src" / "config_loader.py").resolve().as_uri()
    assert set(hits[0]["range"]) == {"start", "end"}
    assert {"snippet", "symbol", "heading", "score", "provenance", "ranks"} <= set(hits[0])


def test_search_filters_from_the_command_line(cli: tuple[Path, dict[str, str]]) -> None:
    root, env = cli
    hits = json.loads(localmind(["search", "configuration", "--json", "--kind", "notes"], env, root).stdout)
    assert hits and all(hit["kind"] == "notes" for hit in hits)
    hits = json.loads(localmind(["search", "configuration", "--json", "--path", "src/*.py"], env, root).stdout)
    assert hits and all(hit["path"].startswith("src/") and hit["path"].endswith(".py") for hit in hits)


def test_plain_output_names_file_and_line(cli: tuple[Path, dict[str, str]]) -> None:
    root, env = cli
    output = localmind(["search", "parseArgs", "-k", "2"], env, root).stdout
    assert "src/args.ts:" in output or "src/server.ts:" in output


def test_batch_mode_answers_one_line_per_query_in_order(cli: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, env = cli
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        "\n".join(json.dumps(q) for q in [{"_id": "a", "text": "startServer"}, {"_id": "b", "text": "local first"}])
    )
    lines = localmind(["search", "--json", "--queries", str(queries), "-k", "5"], env, root).stdout.splitlines()
    answers = [json.loads(line) for line in lines]
    assert [a["_id"] for a in answers] == ["a", "b"]
    assert answers[0]["results"][0]["path"] == "src/server.ts"
    assert len(answers[1]["results"]) == 5


def test_status_json_counts_the_index(cli: tuple[Path, dict[str, str]]) -> None:
    root, env = cli
    status = json.loads(localmind(["status", "--json"], env, root / "src").stdout)
    assert status["files"] >= 9 and status["chunks"] >= status["files"]
    assert status["edges"]["MENTIONS"] > 0 and status["edge_total"] > status["chunks"]
    assert status["skipped"] == {} or all(isinstance(n, int) for n in status["skipped"].values())
    assert status["model_id"] == "all-MiniLM-L6-v2:int8"
    assert status["last_run"]["status"] == "done"


def test_searching_outside_any_workspace_says_what_to_do(cli: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    _, env = cli
    result = subprocess.run(
        [sys.executable, "-m", "localmind.cli", "search", "x"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "localmind index" in result.stderr


def test_ask_json_gives_an_extractive_answer_with_sources(cli: tuple[Path, dict[str, str]]) -> None:
    root, env = cli
    answer = json.loads(localmind(["ask", "how are configuration files parsed?", "--json"], env, root).stdout)
    assert answer["extractive"] is True and "extractive answer" in answer["answer"]
    assert answer["sources"] and [s["n"] for s in answer["sources"]] == list(range(1, len(answer["sources"]) + 1))
    first = answer["sources"][0]
    assert first["uri"] == (root / first["path"]).resolve().as_uri() and set(first["range"]) == {"start", "end"}
    assert f"[1] `{first['path']}:{first['range']['start']['line'] + 1}`" in answer["answer"]
    plain = localmind(["ask", "how are configuration files parsed?"], env, root).stdout
    assert plain.strip() == answer["answer"].strip(), "the plain answer is the same text, streamed"
