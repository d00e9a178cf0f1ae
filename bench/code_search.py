"""Symbol-level code search: Local Mind against whole-definition baselines, every system scored alike.

Corpora, fetched on first use into the cache folder (pinned releases, checked before use):
  jinja2  the PyPI sdist jinja2==3.1.6 (sha256 checked); the workspace holds copies of its src/ and docs/.
  cobra   the Go module github.com/spf13/cobra@v1.10.2 (`go mod download`, its go.sum hash checked); the
          workspace is the module without its *_test.go files, Markdown docs included.
Questions: bench/codesearch/<set>-questions.jsonl, one JSON object a line:
  {"_id", "text", "category", "has_identifier", "answers": [{"path", "symbol", "start_line", "end_line"}]}
  with 1-based inclusive lines and paths relative to the sdist or module root.

Systems:
  bm25 (whole definitions)   bm25s over every definition of the workspace's code (Python: functions, classes,
                             methods and nested ones, from ast; Go: func, method and type declarations with the
                             doc comment above, from tree-sitter); identifiers split on _ and camelCase.
  dense (whole definitions)  MiniLM through Local Mind's embedder over the same texts (cut at 256 tokens), cosine.
  rrf (bm25 + dense, ...)    reciprocal rank fusion (k = 60) of the top 100 of each.
  localmind default          Local Mind's index of the whole workspace (code and docs), default search; the
                             rows "localmind dense", "localmind lexical" and "localmind dense+lexical" are
                             diagnostics with only those signals, and "localmind default, kind=code" the
                             default search kept to code chunks (what the baselines see).
A hit answers when its file is an answer's file and its lines overlap the answer's lines. Per system: MRR@10
and success@10 by symbol, MRR@10 by file (first hit in any answer's file), each also per category and per
has_identifier. Per-question ranks and top-10 hits go to bench/results/code_search-*.json (and stdout); a
table goes to stderr.

    .venv/bin/python bench/code_search.py [--set jinja2|cobra|all] [--cache DIR] [--questions PATH]
        [--keep-index DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tree_sitter_language_pack import get_parser

from baselines import STOPWORDS, Bm25Ranker, DenseRanker, rrf
from benchlib import BENCH_DIR, machine, read_jsonl, save_results
from localmind.embeddings import OnnxEmbedder, load_embedder
from localmind.retrieval import parse_query
from retrieval_quality import index_folder

QUESTIONS_DIR = BENCH_DIR / "codesearch"
DEFAULT_CACHE = Path.home() / ".cache" / "localmind-bench"
JINJA2_VERSION = "3.1.6"
# The sha256 PyPI publishes for jinja2-3.1.6.tar.gz; bench/codesearch/jinja2-PROVENANCE.md states it too.
JINJA2_SHA256 = "0137fb05990d35f1275a587e9aee6d56da821fc83491a0fb838183be43f66d6d"
COBRA_MODULE = "github.com/spf13/cobra"
COBRA_VERSION = "v1.10.2"
# The module's hash as go.sum and the checksum database record it.
COBRA_SUM = "h1:DMTTonx5m65Ic0GOoRY2c16WCbHxOOw6xxezuLaBpcU="
TOP_K = 10
FUSION_DEPTH = 100
# Each Local Mind row: the search fields it adds to the query (none: the default search).
LOCALMIND_ROWS: dict[str, dict[str, Any]] = {
    "localmind default": {},
    "localmind dense": {"signals": ("dense",)},
    "localmind lexical": {"signals": ("lexical",)},
    "localmind dense+lexical": {"signals": ("dense", "lexical")},
    "localmind default, kind=code": {"kind": "code"},
}
BM25 = "bm25 (whole definitions)"
DENSE = "dense (whole definitions)"
RRF = "rrf (bm25 + dense, whole definitions)"

# A hit or a definition: the workspace-relative path, its 0-based inclusive lines and its symbol (for the record).
Hit = tuple[str, int, int, str]


@dataclass(frozen=True)
class Corpus:
    name: str
    workspace: Path
    suffix: str
    provenance: dict[str, str]


@dataclass(frozen=True)
class Definition:
    path: str
    start: int
    end: int
    symbol: str
    text: str

    @property
    def hit(self) -> Hit:
        return (self.path, self.start, self.end, self.symbol)


# Corpora


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_files(source: Path, target: Path, keep: Callable[[Path], bool]) -> None:
    """Plain copies (no permissions: the Go module cache is read-only) of the files that keep accepts."""
    for path in sorted(source.rglob("*")):
        if path.is_file() and keep(path):
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)


def build_once(workspace: Path, build: Callable[[Path], None]) -> None:
    """Build the workspace in a scratch folder and rename it into place, so a broken run leaves none."""
    if workspace.is_dir():
        return
    partial = workspace.with_name(workspace.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    build(partial)
    partial.rename(workspace)


def fetch_jinja2(cache: Path) -> Corpus:
    folder = cache / "jinja2"
    archive = folder / f"jinja2-{JINJA2_VERSION}.tar.gz"
    if not archive.is_file():
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*pip, f"jinja2=={JINJA2_VERSION}", "-d", str(folder)], check=True, stdout=sys.stderr)
    digest = sha256(archive)
    if digest != JINJA2_SHA256:
        sys.exit(f"{archive} has sha256 {digest}, not the pinned {JINJA2_SHA256}")
    check_provenance_note("jinja2", JINJA2_SHA256)

    def build(target: Path) -> None:
        with tempfile.TemporaryDirectory() as scratch, tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
            root = Path(scratch) / f"jinja2-{JINJA2_VERSION}"
            for part in ("src", "docs"):
                copy_files(root / part, target / part, lambda _: True)

    # The folder's name is the name Local Mind gives the workspace.
    workspace = folder / f"jinja2-{JINJA2_VERSION}"
    build_once(workspace, build)
    return Corpus("jinja2", workspace, ".py", {"sdist": f"jinja2=={JINJA2_VERSION}", "sha256": digest})


def check_provenance_note(name: str, checksum: str) -> None:
    """The set's provenance note, once written, must name the same archive or module."""
    note = QUESTIONS_DIR / f"{name}-PROVENANCE.md"
    if note.is_file() and checksum not in note.read_text(encoding="utf-8"):
        sys.exit(f"{note} does not state the checksum {checksum} that this script checks")


def fetch_cobra(cache: Path) -> Corpus:
    folder = cache / "cobra"
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("go") is None:
        sys.exit("the cobra set needs the go command")
    # The module cache lives in the bench cache; go checks the download against the checksum database.
    # -modcacherw: a module cache that rm -r can remove.
    env = os.environ | {"GOFLAGS": "-mod=mod -modcacherw", "GOMODCACHE": str(folder / "gomod")}
    command = ["go", "mod", "download", "-json", f"{COBRA_MODULE}@{COBRA_VERSION}"]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    info = json.loads(done.stdout or "{}")
    if done.returncode != 0 or "Error" in info or info.get("Sum") != COBRA_SUM:
        sys.exit(f"go mod download failed or gave another module: {info or done.stderr}")
    check_provenance_note("cobra", COBRA_SUM)
    module = Path(info["Dir"])
    workspace = folder / f"cobra-{COBRA_VERSION}"
    build_once(workspace, lambda target: copy_files(module, target, lambda p: not p.name.endswith("_test.go")))
    return Corpus("cobra", workspace, ".go", {"module": f"{COBRA_MODULE}@{COBRA_VERSION}", "sum": COBRA_SUM})


FETCHERS: dict[str, Callable[[Path], Corpus]] = {"jinja2": fetch_jinja2, "cobra": fetch_cobra}


# Definitions


def read_lines(path: Path) -> list[str]:
    """A file's lines, split on newlines only, as ast and tree-sitter count them."""
    return path.read_text(encoding="utf-8", errors="replace").split("\n")


def definitions(corpus: Corpus) -> list[Definition]:
    """Every definition in the workspace's code files, in path order."""
    extract = python_definitions if corpus.suffix == ".py" else go_definitions
    found: list[Definition] = []
    for path in sorted(corpus.workspace.rglob(f"*{corpus.suffix}")):
        found.extend(extract(path.relative_to(corpus.workspace).as_posix(), read_lines(path)))
    return found


def python_definitions(path: str, lines: list[str]) -> list[Definition]:
    """Functions, classes and methods, nested ones too, each from its first decorator to its last line."""
    found: list[Definition] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)]) - 1
                end = (child.end_lineno or child.lineno) - 1
                text = "\n".join(lines[start : end + 1])
                found.append(Definition(path, start, end, prefix + child.name, text))
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse("\n".join(lines), filename=path), "")
    return found


GO_DEFINITIONS = {"function_declaration", "method_declaration", "type_declaration"}


def go_definitions(path: str, lines: list[str]) -> list[Definition]:
    """func, method and type declarations, each from the doc comment right above it to its last line."""
    tree = get_parser("go").parse("\n".join(lines).encode("utf-8"))
    found, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(reversed(node.children))
        if node.type in GO_DEFINITIONS:
            start, end = doc_comment_start(node), node.end_point[0]
            text = "\n".join(lines[start : end + 1])
            found.append(Definition(path, start, end, go_symbol(node), text))
    return found


def doc_comment_start(node: Any) -> int:
    """The first line of the comment lines that end right above the node, else the node's own first line."""
    start, previous = node.start_point[0], node.prev_sibling
    while previous is not None and previous.type == "comment" and previous.end_point[0] == start - 1:
        start, previous = previous.start_point[0], previous.prev_sibling
    return int(start)


def go_symbol(node: Any) -> str:
    """Name, Receiver.Name for methods, or the names a type declaration declares."""
    if node.type == "type_declaration":
        names = [spec.child_by_field_name("name") for spec in node.children if spec.type in ("type_spec", "type_alias")]
        return ",".join(name.text.decode() for name in names if name is not None)
    name = node.child_by_field_name("name").text.decode()
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return str(name)
    receiver_type = re.findall(r"[A-Za-z_]\w*", receiver.text.decode())[-1]
    return f"{receiver_type}.{name}"


# Baselines


_IDENTIFIER = re.compile(r"[A-Za-z0-9_]+")
_PART = re.compile(r"[A-Z]{2,}s(?![a-z])|[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def code_tokens(text: str) -> list[str]:
    """Lower-case words: each identifier whole and, when it has several, its _ and camelCase parts."""
    tokens: list[str] = []
    for identifier in _IDENTIFIER.findall(text):
        whole = identifier.lower()
        parts = [part.lower() for part in _PART.findall(identifier)]
        pieces = [whole] if parts == [whole] else [whole, *parts]
        tokens.extend(piece for piece in pieces if len(piece) > 1 and piece not in STOPWORDS)
    return tokens


def baseline_systems(found: list[Definition], embedder: OnnxEmbedder) -> dict[str, Callable[[str], list[Hit]]]:
    texts = [definition.text for definition in found]
    began = time.perf_counter()
    bm25, dense = Bm25Ranker(texts, code_tokens), DenseRanker(texts, embedder)
    print(f"baselines: {len(found)} definitions indexed in {time.perf_counter() - began:.0f} s", file=sys.stderr)

    def hits(indices: list[int]) -> list[Hit]:
        return [found[i].hit for i in indices[:TOP_K]]

    return {
        BM25: lambda text: hits(bm25.rank(text, TOP_K)),
        DENSE: lambda text: hits(dense.rank(text, TOP_K)),
        RRF: lambda text: hits(rrf([bm25.rank(text, FUSION_DEPTH), dense.rank(text, FUSION_DEPTH)])),
    }


def localmind_systems(corpus: Corpus, data: Path, embedder: OnnxEmbedder) -> dict[str, Callable[[str], list[Hit]]]:
    searcher = index_folder(corpus.workspace, data, embedder).open_readers().searcher

    def system(fields: dict[str, Any]) -> Callable[[str], list[Hit]]:
        def search(text: str) -> list[Hit]:
            query = parse_query(query=text, k=TOP_K, **fields)
            hits = searcher.search(query)
            return [(hit.path, hit.range.start.line, hit.range.end.line, hit.symbol or "") for hit in hits]

        return search

    return {name: system(fields) for name, fields in LOCALMIND_ROWS.items()}


# Scoring


def answer_ranks(hits: list[Hit], answers: list[dict[str, Any]]) -> tuple[int | None, int | None]:
    """The 1-based ranks, within the top 10, of the first hit overlapping an answer and of the first in an answer's
    file; the one scorer of every system."""
    symbol_rank = file_rank = None
    for rank, (path, start, end, _) in enumerate(hits[:TOP_K], start=1):
        mine = [a for a in answers if a["path"] == path]
        if mine and file_rank is None:
            file_rank = rank
        if symbol_rank is None and any(start <= a["end_line"] - 1 and a["start_line"] - 1 <= end for a in mine):
            symbol_rank = rank
    return symbol_rank, file_rank


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    count = max(len(rows), 1)
    return {
        "questions": len(rows),
        "mrr@10": sum(1 / r["symbol_rank"] for r in rows if r["symbol_rank"]) / count,
        "success@10": sum(1 for r in rows if r["symbol_rank"]) / count,
        "file_mrr@10": sum(1 / r["file_rank"] for r in rows if r["file_rank"]) / count,
    }


def breakdown(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Overall scores, then per category and per has_identifier."""
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {"by_category": {}, "by_has_identifier": {}}
    for row in rows:
        groups["by_category"].setdefault(row["category"], []).append(row)
        groups["by_has_identifier"].setdefault(str(row["has_identifier"]).lower(), []).append(row)
    scores: dict[str, Any] = {"scores": summarise(rows)}
    for name, group in groups.items():
        scores[name] = {key: summarise(members) for key, members in sorted(group.items())}
    return scores


def run_system(search: Callable[[str], list[Hit]], questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for question in questions:
        began = time.perf_counter()
        hits = search(question["text"])
        symbol_rank, file_rank = answer_ranks(hits, question["answers"])
        rows.append(
            {
                "_id": question["_id"],
                "category": question.get("category", "none"),
                "has_identifier": bool(question.get("has_identifier")),
                "symbol_rank": symbol_rank,
                "file_rank": file_rank,
                "ms": 1000 * (time.perf_counter() - began),
                "top": [f"{path}:{start + 1}-{end + 1} {symbol}".rstrip() for path, start, end, symbol in hits[:TOP_K]],
            }
        )
    return rows


def check_answers(corpus: Corpus, questions: list[dict[str, Any]]) -> list[str]:
    """Problems with the answers (a missing file, lines past the end, a symbol not in its lines), as warnings."""
    problems = []
    for question in questions:
        for answer in question["answers"]:
            path = corpus.workspace / answer["path"]
            lines = read_lines(path) if path.is_file() else []
            where = f"{question['_id']}: {answer['path']}:{answer['start_line']}-{answer['end_line']}"
            if not lines or answer["end_line"] > len(lines) or answer["start_line"] > answer["end_line"]:
                problems.append(f"{where} is not in the workspace")
            elif (answer.get("symbol") or "").split(".")[-1] not in "\n".join(
                lines[answer["start_line"] - 1 : answer["end_line"]]
            ):
                problems.append(f"{where} does not mention {answer['symbol']}")
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return problems


# Report


def print_table(title: str, systems: dict[str, Any]) -> None:
    first = next(iter(systems.values()))
    categories = list(first["by_category"])
    counts = {key: value["questions"] for key, value in first["by_has_identifier"].items()}
    print(f"\n{title}: {first['scores']['questions']} questions, identifier named in {counts}", file=sys.stderr)
    header = f"{'system':<40} {'MRR@10':>7} {'S@10':>5} {'fileMRR':>7} {'MRR id':>7} {'MRR no-id':>9}"
    print(header + "".join(f" {c[:10]:>10}" for c in categories), file=sys.stderr)
    for name, result in systems.items():
        scores, by_id = result["scores"], result["by_has_identifier"]
        ident = f"{by_id['true']['mrr@10']:.3f}" if "true" in by_id else "-"
        plain = f"{by_id['false']['mrr@10']:.3f}" if "false" in by_id else "-"
        line = f"{name:<40} {scores['mrr@10']:>7.3f} {scores['success@10']:>5.2f} {scores['file_mrr@10']:>7.3f}"
        line += f" {ident:>7} {plain:>9}"
        print(line + "".join(f" {result['by_category'][c]['mrr@10']:>10.3f}" for c in categories), file=sys.stderr)
    sizes = "".join(f" {first['by_category'][c]['questions']:>10}" for c in categories)
    print(f"{'(questions per category)':<80}{sizes}", file=sys.stderr)


def evaluate_set(name: str, args: argparse.Namespace, embedder: OnnxEmbedder, data: Path) -> dict[str, Any]:
    corpus = FETCHERS[name](args.cache)
    questions_path = args.questions or QUESTIONS_DIR / f"{name}-questions.jsonl"
    questions = list(read_jsonl(questions_path))[: args.limit]
    warnings = check_answers(corpus, questions)
    found = definitions(corpus)
    systems = baseline_systems(found, embedder) | localmind_systems(corpus, data, embedder)
    rows = {system: run_system(search, questions) for system, search in systems.items()}
    results = {system: breakdown(system_rows) | {"per_question": system_rows} for system, system_rows in rows.items()}
    print_table(name, results)
    return {
        "corpus": corpus.provenance | {"workspace": str(corpus.workspace), "definitions": len(found)},
        "questions_file": str(questions_path),
        "questions": len(questions),
        "warnings": warnings,
        "systems": results,
    }


def pooled(sets: dict[str, Any]) -> dict[str, Any]:
    """Every set's questions together, one score per system."""
    names = list(next(iter(sets.values()))["systems"])
    rows = {n: [row for s in sets.values() for row in s["systems"][n]["per_question"]] for n in names}
    return {name: breakdown(system_rows) for name, system_rows in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=[*FETCHERS, "all"], default="all")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the corpora are fetched")
    parser.add_argument("--questions", type=Path, help="a questions file instead of bench/codesearch/<set>-…")
    keep = "Local Mind's data folder, kept and reused between runs (Local Mind re-indexes only what changed)"
    parser.add_argument("--keep-index", type=Path, help=keep)
    parser.add_argument("--limit", type=int, help="only the first N questions of each set")
    args = parser.parse_args()
    if args.questions and args.set == "all":
        parser.error("--questions needs --set jinja2 or --set cobra")
    args.cache = args.cache.expanduser().resolve()
    embedder = load_embedder(None)
    names = list(FETCHERS) if args.set == "all" else [args.set]
    results: dict[str, Any] = {"machine": machine(), "model": embedder.model_id, "limit": args.limit}
    with tempfile.TemporaryDirectory() as scratch:
        data = args.keep_index.expanduser().resolve() if args.keep_index else Path(scratch)
        results["sets"] = {name: evaluate_set(name, args, embedder, data) for name in names}
    if len(names) > 1:
        results["pooled"] = pooled(results["sets"])
        print_table("all sets pooled", results["pooled"])
    print(json.dumps(results, indent=2))
    print(
        f"wrote {save_results('code_search' + (f'-limit{args.limit}' if args.limit else ''), results)}", file=sys.stderr
    )


if __name__ == "__main__":
    main()
