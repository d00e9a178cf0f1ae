"""Definition-aligned code chunks in every supported language, split parts of large definitions, and prose."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from localmind.indexing.chunker import Chunk, chunk_document
from localmind.indexing.parsers import parse_file

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "chunks"

# For each sample file: every definition's qualified name and the first line of its chunk (its doc comment,
# decorator or signature), in document order.
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "s.py": [
        ("load", "@cache"),
        ("Store", "class Store:"),
        ("Store.__enter__", "def __enter__(self):"),
        ("Store.build", "@staticmethod"),
        ("Store.Meta", "class Meta:"),
        ("Store.Meta.describe", "def describe(self):"),
    ],
    "s.js": [
        ("read", "// Reads a file."),
        ("Cache", "class Cache {"),
        ("Cache.constructor", "constructor() {"),
        ("Cache.get", "get(key) {"),
    ],
    "s.ts": [
        ("Shelf", "export interface Shelf {"),
        ("Library", "export class Library {"),
        ("Library.find", "/** Finds a book. */"),
        ("open", "export function open(): Library {"),
    ],
    "s.tsx": [("Library.find", "/** Finds a book. */"), ("open", "export function open(): Library {")],
    "s.go": [
        ("Store", "// Store holds items."),
        ("Store.Get", "// Get returns an item."),
        ("New", "func New() *Store {"),
    ],
    "s.rs": [("Store", "/// Holds items."), ("Store.get", "/// Returns an item."), ("main", "fn main() {")],
    "Store.java": [
        ("Store", "public class Store {"),
        ("Store.get", "/** Returns an item. */"),
        ("Store.Entry", "static class Entry {"),
        ("Store.Entry.value", "int value() {"),
    ],
    "s.c": [("point", "struct point {"), ("add", "/* Adds two numbers. */")],
    "s.cpp": [
        ("Stack", "class Stack {"),
        ("Stack.push", "void push(int value) {"),
        ("top", "int top(const Stack& s) {"),
    ],
    "s.lua": [("M.greet", "-- Greets someone."), ("helper", "local function helper()")],
    "s.sh": [("build", "# Builds the thing.")],
}


def word_spans(text: str) -> list[tuple[int, int]]:
    """A stand-in tokenizer: one token per run of non-blank characters."""
    return [match.span() for match in re.finditer(r"\S+", text)]


def chunks_of(name: str, text: str | None = None, size: int = 200) -> list[Chunk]:
    source = (SAMPLES / name).read_text(encoding="utf-8") if text is None else text
    return chunk_document(parse_file(name, source), word_spans, size, 16)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_definition_is_a_chunk_that_starts_on_its_first_line(name: str) -> None:
    chunks = chunks_of(name)
    first_lines: dict[str, str] = {}
    for chunk in chunks:
        if chunk.symbol:
            first_lines.setdefault(chunk.symbol, chunk.text.splitlines()[0].strip())
    for symbol, first_line in EXPECTED[name]:
        assert first_lines.get(symbol) == first_line, (symbol, first_lines)
    expected = [symbol for symbol, _ in EXPECTED[name]]
    assert list(dict.fromkeys(c.symbol for c in chunks if c.symbol in expected)) == expected


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_chunks_start_at_line_starts_and_keep_the_exact_source(name: str) -> None:
    source = (SAMPLES / name).read_text(encoding="utf-8")
    for chunk in chunks_of(name):
        assert chunk.range.start_char == 0
        assert chunk.text == source[chunk.start : chunk.end]
        assert chunk.start == 0 or source[chunk.start - 1] == "\n"


def test_a_method_chunk_ends_with_its_method_and_holds_no_other_definition() -> None:
    chunks = {c.symbol: c for c in chunks_of("s.py")}
    enter = chunks["Store.__enter__"]
    assert enter.text.strip() == "def __enter__(self):\n        return self"
    header = chunks["Store"]
    assert header.text.strip() == 'class Store:\n    """A store."""\n\n    limit = 3'
    assert "def inner" in chunks["Store.Meta.describe"].text  # A function inside a method is its body.
    assert "Store.Meta.describe.inner" not in chunks


def _big_class(methods: int, statements: int) -> str:
    lines = ["class Big:", '    """A class larger than the budget."""', ""]
    for index in range(methods):
        lines += [f"    def small_{index}(self):", f"        return {index}", ""]
    lines += ["    def large(self, value):", '        """Sums a lot."""']
    lines += [f"        total_{i} = value + {i} * weight_{i}" for i in range(statements)]
    lines += ["        return total_0", ""]
    return "\n".join(lines)


def test_a_definition_over_the_budget_is_split_at_line_starts_with_its_signature_as_context() -> None:
    source = _big_class(methods=20, statements=120)
    chunks = chunks_of("big.py", source, size=100)
    large = [c for c in chunks if c.symbol == "Big.large"]
    assert len(large) >= 6
    assert large[0].text.lstrip().startswith("def large(self, value):") and large[0].context is None
    assert all(c.context == "def large(self, value):" for c in large[1:])
    assert all(c.token_count <= 100 and c.range.start_char == 0 for c in large)
    assert all(source[c.end] == "\n" for c in large)  # Each part ends at the end of a line.
    assert "".join(source[c.start : c.end] + "\n" for c in large) == source[large[0].start : large[-1].end] + "\n"
    small = [c.symbol for c in chunks if c.symbol and c.symbol.startswith("Big.small_")]
    assert small == [f"Big.small_{i}" for i in range(20)]  # Small methods are never packed together.


def test_a_large_statement_is_not_cut_inside_when_a_statement_start_is_near() -> None:
    body = "\n".join(f"        x_{i} = call(\n            a_{i},\n            b_{i},\n        )" for i in range(40))
    source = f"def build():\n{body}\n        return x_0\n"
    parts = [c for c in chunks_of("calls.py", source, size=60) if c.symbol == "build"]
    assert len(parts) > 2
    assert all(c.text.lstrip().startswith(("x_", "def build")) for c in parts)


def test_one_line_longer_than_the_budget_is_still_cut() -> None:
    source = "def long():\n    return [" + ", ".join(str(i) for i in range(400)) + "]\n"
    parts = [c for c in chunks_of("long.py", source, size=50) if c.symbol == "long"]
    assert len(parts) >= 8 and all(c.token_count <= 50 for c in parts)


def test_front_matter_is_metadata_never_a_chunk() -> None:
    front_matter = "---\ntitle: Late fee policy\ntags: [billing, policy]\n---\n"
    text = front_matter + "\nWe charge a fee after 30 days.\n\n# Details\n\nMore.\n"
    document = parse_file("notes/late-fees.md", text)
    chunks = chunk_document(document, word_spans, 200, 16)
    assert document.title == "Late fee policy" and document.tags == ["billing", "policy"]
    assert [c.text.splitlines()[0] for c in chunks] == ["We charge a fee after 30 days."]
    assert chunks[0].range.start_line == 5
    assert chunk_document(parse_file("only.md", "---\ntitle: Only\n---\n"), word_spans, 200, 16) == []


def test_prose_sections_still_pack_together() -> None:
    text = "# A\n\nOne.\n\n# B\n\nTwo.\n"
    chunks = chunk_document(parse_file("n.md", text), word_spans, 200, 16)
    assert len(chunks) == 1 and chunks[0].text == text.strip()
