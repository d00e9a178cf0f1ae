"""Check that every answer in a code-search question file names a Python definition at exactly the given lines.

Usage: python check_python_answers.py QUESTIONS.jsonl SDIST_ROOT

Each answer's ``symbol`` is a qualified name ("func", "Class", "Class.method", "Outer.Inner.method"). Its span
runs from the first decorator (or the ``def``/``class`` line) to the last line of the body, 1-based and inclusive.
A name defined more than once (e.g. ``typing.overload`` stubs) matches if any of its definitions has that span.
Exits 1 on any mismatch, missing file, missing symbol or malformed line; otherwise prints a summary and exits 0.
"""

from __future__ import annotations

import ast
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

DefNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
Spans = dict[str, list[tuple[int, int]]]
Record = dict[str, Any]


def definition_span(node: DefNode) -> tuple[int, int]:
    """Return the 1-based inclusive line span of a definition, decorators included."""
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    end = node.end_lineno if node.end_lineno is not None else node.lineno
    return start, end


def collect_spans(body: list[ast.stmt], prefix: str, spans: Spans) -> None:
    """Record the spans of the definitions in a body, recursing into classes only."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{node.name}"
            spans.setdefault(name, []).append(definition_span(node))
            if isinstance(node, ast.ClassDef):
                collect_spans(node.body, f"{name}.", spans)


def spans_for_file(path: Path, cache: dict[Path, Spans]) -> Spans:
    """Parse a source file once and return its qualified-name spans."""
    if path not in cache:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        spans: Spans = {}
        collect_spans(tree.body, "", spans)
        cache[path] = spans
    return cache[path]


def check_answer(qid: str, answer: Record, root: Path, cache: dict[Path, Spans]) -> str | None:
    """Return an error message for one answer, or None when it matches."""
    path = root / answer["path"]
    if not path.is_file():
        return f"{qid}: file not found: {answer['path']}"
    symbol, start, end = answer["symbol"], answer["start_line"], answer["end_line"]
    found = spans_for_file(path, cache).get(symbol)
    if not found:
        return f"{qid}: symbol {symbol!r} not defined in {answer['path']}"
    if (start, end) not in found:
        return f"{qid}: {answer['path']}:{symbol} is at {found}, answer says ({start}, {end})"
    return None


def check_question(question: Record, root: Path, cache: dict[Path, Spans]) -> list[str]:
    """Check every answer of one question and the fields it must carry."""
    qid = question.get("_id", "?")
    errors = [f"{qid}: missing field {k!r}" for k in ("text", "category", "has_identifier") if k not in question]
    answers = question.get("answers") or []
    if not answers:
        errors.append(f"{qid}: no answers")
    for answer in answers:
        error = check_answer(qid, answer, root, cache)
        if error:
            errors.append(error)
    if question.get("category") == "cross-file" and len({a["path"] for a in answers}) < 2:
        errors.append(f"{qid}: cross-file question with answers in fewer than two files")
    return errors


def load_questions(path: Path) -> list[Record]:
    """Read one JSON object per non-empty line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def summarise(questions: list[Record]) -> str:
    """Describe the question set: counts per category, identifiers and files."""
    categories = Counter(q.get("category") for q in questions)
    identifiers = sum(1 for q in questions if q.get("has_identifier"))
    files = {a["path"] for q in questions for a in q.get("answers", [])}
    answers = sum(len(q.get("answers", [])) for q in questions)
    per_category = ", ".join(f"{name}={count}" for name, count in sorted(categories.items()))
    return (
        f"{len(questions)} questions ({per_category}); {identifiers} with identifiers; "
        f"{answers} answers in {len(files)} files"
    )


def main(argv: list[str]) -> int:
    """Check a question file against an sdist root; return the exit status."""
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    questions, root = load_questions(Path(argv[1])), Path(argv[2])
    cache: dict[Path, Spans] = {}
    errors = [error for question in questions for error in check_question(question, root, cache)]
    duplicates = [qid for qid, n in Counter(q.get("_id") for q in questions).items() if n > 1]
    errors += [f"duplicate _id {qid}" for qid in duplicates]
    for error in errors:
        print(f"MISMATCH {error}")
    print(summarise(questions))
    print(f"{len(errors)} mismatches" if errors else "all answers match")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
