"""Check that every answer in a Go code-search question file names a real declaration at exactly its lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tree_sitter import Node
from tree_sitter_language_pack import get_parser

CATEGORIES = {"behaviour", "concept", "cross-file"}
Decls = dict[str, list[tuple[int, int]]]
Record = dict[str, Any]


def text_of(node: Node | None) -> str:
    """Return a node's source text, or an empty string for a missing node."""
    return node.text.decode() if node is not None and node.text is not None else ""


def lines_of(node: Node) -> tuple[int, int]:
    """Return the 1-based inclusive line range of a node."""
    return node.start_point[0] + 1, node.end_point[0] + 1


def receiver_type(node: Node) -> str:
    """Return the receiver's type name of a method, without pointer or type arguments."""
    receiver = node.child_by_field_name("receiver")
    for param in receiver.named_children if receiver else []:
        kind = param.child_by_field_name("type")
        while kind is not None and kind.type in ("pointer_type", "generic_type", "parenthesized_type"):
            kind = kind.child_by_field_name("type") or (kind.named_children[0] if kind.named_children else None)
        if kind is not None:
            return text_of(kind)
    return ""


def type_specs(node: Node) -> list[tuple[str, tuple[int, int]]]:
    """Return the names and ranges of the specs in a type declaration (whole declaration when single)."""
    specs = [c for c in node.named_children if c.type in ("type_spec", "type_alias")]
    whole = len(specs) == 1
    return [(text_of(s.child_by_field_name("name")), lines_of(node if whole else s)) for s in specs]


def declarations(source: bytes) -> Decls:
    """Map each qualified symbol in a Go file to the line ranges where it is declared."""
    found: Decls = {}
    root = get_parser("go").parse(source).root_node
    for node in root.named_children:
        if node.type == "function_declaration":
            found.setdefault(text_of(node.child_by_field_name("name")), []).append(lines_of(node))
        elif node.type == "method_declaration":
            name = f"{receiver_type(node)}.{text_of(node.child_by_field_name('name'))}"
            found.setdefault(name, []).append(lines_of(node))
        elif node.type == "type_declaration":
            for name, span in type_specs(node):
                found.setdefault(name, []).append(span)
    return found


def check_answer(answer: Record, root: Path, cache: dict[str, Decls]) -> str | None:
    """Return an error message for one answer, or None when it matches."""
    path = answer["path"]
    if not path.endswith(".go") or path.endswith("_test.go"):
        return f"{path}: not a non-test Go file"
    if path not in cache:
        cache[path] = declarations((root / path).read_bytes())
    spans = cache[path].get(answer["symbol"])
    want = (answer["start_line"], answer["end_line"])
    if not spans:
        return f"{path}: no declaration named {answer['symbol']}"
    if want not in spans:
        return f"{path}: {answer['symbol']} is at {spans}, not {want}"
    return None


def check_question(question: Record, root: Path, cache: dict[str, Decls]) -> list[str]:
    """Return the problems found in one question."""
    qid = question.get("_id", "?")
    problems = []
    if question.get("category") not in CATEGORIES:
        problems.append(f"{qid}: bad category {question.get('category')!r}")
    if not isinstance(question.get("has_identifier"), bool) or not question.get("text"):
        problems.append(f"{qid}: missing text or has_identifier")
    answers = question.get("answers") or []
    if not answers:
        problems.append(f"{qid}: no answers")
    if question.get("category") == "cross-file" and len({a["path"] for a in answers}) < 2:
        problems.append(f"{qid}: cross-file question needs answers in two files")
    for answer in answers:
        error = check_answer(answer, root, cache)
        if error:
            problems.append(f"{qid}: {error}")
    return problems


def main(argv: list[str]) -> int:
    """Check a questions file against a module root; print a summary and return the exit status."""
    if len(argv) != 3:
        print(f"usage: {argv[0]} QUESTIONS.jsonl MODULE_ROOT", file=sys.stderr)
        return 2
    root = Path(argv[2])
    cache: dict[str, Decls] = {}
    questions = [json.loads(line) for line in Path(argv[1]).read_text().splitlines() if line.strip()]
    problems = [p for q in questions for p in check_question(q, root, cache)]
    for problem in problems:
        print("MISMATCH", problem)
    answers = sum(len(q.get("answers") or []) for q in questions)
    print(f"{len(questions)} questions, {answers} answers, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
