"""Source code through tree-sitter: definitions with their docs, imports, statement starts, and one block per
definition (see code_blocks)."""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node, Point, Tree
from tree_sitter_language_pack import get_parser

from localmind.indexing.documents import Link, ParsedDocument, SymbolDef

from .code_blocks import FoundDefinition, definition_blocks, signature_line
from .code_languages import LANGUAGES, CodeLanguage, Definition
from .offsets import ByteToChar, encode
from .text import paragraph_blocks

# How long tree-sitter may take to parse a file (see _Deadline): far more than any real source file needs.
_SECONDS_PER_FILE = 2.0
_SECONDS_PER_MEGABYTE = 1.0
_READ_CHUNK = 1 << 16
# Functions defined directly in these become methods.
_CLASS_LIKE = frozenset({"class", "struct", "interface", "trait", "impl", "enum"})
_LINE_COMMENT_MARKER = re.compile(r"^[ \t]*(?://[/!]?|--+|#+)[ \t]?")
_BLOCK_COMMENT_LINE_MARKER = re.compile(r"^[ \t]*\*+[ \t]?")
_LUA_BLOCK_COMMENT = re.compile(r"--\[(=*)\[(.*)\]\1\]\s*$", re.DOTALL)
_STRING_PREFIX = re.compile(r"^[rRuUbBfF]*")
# Node types, across the grammars, whose line-starting children are statements (or members, or cases): a large
# definition is best split just before one of those. Node types ending in _statement, _clause, _definition or
# _declaration count too.
_STATEMENT_PARENTS = frozenset(
    {
        "block",
        "statement_block",
        "statement_list",
        "compound_statement",
        "class_body",
        "interface_body",
        "enum_body",
        "declaration_list",
        "field_declaration_list",
        "match_block",
        "switch_block",
        "switch_block_statement_group",
        "switch_body",
        "switch_case",
        "switch_default",
        "expression_case",
        "type_case",
        "default_case",
        "communication_case",
        "case_statement",
        "do_group",
        "source_file",
        "module",
        "program",
        "chunk",
        "translation_unit",
    }
)
_STATEMENT_PARENT_SUFFIXES = ("_statement", "_clause", "_definition", "_declaration")
_QUOTES = ('"""', "'''", '"', "'")


def _comment_text(raw: str) -> str:
    """A comment without its markers: "//", "///", "#", "--", "/* ... */" with leading "*"s, "--[[ ... ]]"."""
    raw = raw.strip()
    lua_block = _LUA_BLOCK_COMMENT.match(raw)
    if lua_block is not None:
        return lua_block.group(2)
    if raw.startswith("/*"):
        inner = raw[2:].removesuffix("*/").lstrip("*!")
        return "\n".join(_BLOCK_COMMENT_LINE_MARKER.sub("", line) for line in inner.splitlines())
    return _LINE_COMMENT_MARKER.sub("", raw)


def _string_literal_value(literal: str) -> str:
    """The contents of a Python string literal, without prefix letters and quotes (escapes left as written)."""
    body = _STRING_PREFIX.sub("", literal)
    for quote in _QUOTES:
        if len(body) >= 2 * len(quote) and body.startswith(quote) and body.endswith(quote):
            return body[len(quote) : -len(quote)]
    return body


def _cleaned(doc: str) -> str | None:
    """Indentation made uniform as for a docstring, blank edges removed; None when nothing is left."""
    return inspect.cleandoc(doc).strip() or None


@dataclass(frozen=True)
class _Context:
    """Where a definition stands: the names around it and the kind of its container."""

    scope: tuple[str, ...] = ()
    container: str | None = None


class _Walker:
    """Finds definitions in the tree: in the root, in containers' members, and through transparent nodes."""

    def __init__(self, language: CodeLanguage, text: str) -> None:
        self._language = language
        self.text = text
        self.char = ByteToChar(text)
        self.found: list[FoundDefinition] = []

    def text_of(self, node: Node) -> str:
        return self.text[self.char(node.start_byte) : self.char(node.end_byte)]

    def walk(self, root: Node) -> None:
        """Visits the nodes that can hold definitions in document order, with an explicit stack.

        Recursion would not do: a file with many syntax errors can nest ERROR nodes hundreds deep.
        """
        stack = [(child, _Context()) for child in reversed(root.named_children)]
        while stack:
            node, context = stack.pop()
            rule = self._language.definitions.get(node.type)
            if rule is not None:
                inside = self._define(node, rule, context)
            else:
                inside = (node, context) if node.type in self._language.transparent else None
            if inside is not None:
                stack.extend((child, inside[1]) for child in reversed(inside[0].named_children))

    def _define(self, node: Node, rule: Definition, context: _Context) -> tuple[Node, _Context] | None:
        """Records the definition; returns its members node (if any) and the context to search it in."""
        name = rule.name_of(node)
        members = node.child_by_field_name(rule.members) if rule.members else None
        if name is None:
            return (members, context) if members is not None else None
        kind = name.kind or rule.kind
        if kind == "function" and context.container in _CLASS_LIKE:
            kind = "method"
        identifier = self.text_of(name.node)
        path = (*context.scope, *name.scope, identifier)
        first, outer = self._extent(node)
        comment_start, comment_doc = self._leading_comment(first)
        start = self.char(first.start_byte)
        symbol = SymbolDef(
            name=identifier,
            qualified_name=".".join(path),
            kind=kind,
            start=start,
            end=self.char(outer.end_byte),
            name_start=self.char(name.node.start_byte),
            name_end=self.char(name.node.end_byte),
            doc=self._docstring(node) or comment_doc,
        )
        block_start = start if comment_start is None else comment_start
        self.found.append(FoundDefinition(symbol, block_start, signature_line(self.text, symbol)))
        if members is None:
            return None
        return members, _Context(path, kind)

    def _extent(self, node: Node) -> tuple[Node, Node]:
        """The first and the outermost node of a definition: wrappers (decorators, export) and attributes included."""
        outer = node
        while (parent := outer.parent) is not None and parent.type in self._language.wrappers:
            if sum(1 for sibling in parent.named_children if sibling.type == outer.type) > 1:
                break
            outer = parent
        first = outer
        while (previous := first.prev_named_sibling) is not None and previous.type in self._language.attributes:
            first = previous
        return first, outer

    def _adjacent(self, above: Node, below: Node) -> bool:
        """Nothing but blanks and at most one line break between two nodes."""
        gap = self.text[self.char(above.end_byte) : self.char(below.start_byte)]
        return not gap.strip() and gap.count("\n") <= 1

    def _starts_line(self, node: Node) -> bool:
        start = self.char(node.start_byte)
        return not self.text[self.text.rfind("\n", 0, start) + 1 : start].strip()

    def _leading_comment(self, first: Node) -> tuple[int | None, str | None]:
        """Where the comment block right above a definition starts, and its text without comment markers."""
        comments: list[Node] = []
        below = first
        while (above := below.prev_named_sibling) is not None and above.type in self._language.comments:
            if not self._adjacent(above, below) or not self._starts_line(above):
                break
            comments.append(above)
            below = above
        if not comments:
            return None, None
        comments.reverse()
        doc = _cleaned("\n".join(_comment_text(self.text_of(comment)) for comment in comments))
        return self.char(comments[0].start_byte), doc

    def _docstring(self, node: Node) -> str | None:
        holder = self._language.docstring_of(node) if self._language.docstring_of is not None else None
        if holder is None:
            return None
        return _cleaned(_string_literal_value(self.text_of(holder)))


class _Deadline:
    """A time limit for tree-sitter's parse, whose error recovery can run for minutes on hostile input.

    A long run of "[" in Lua does it, and so do some garbled TSX files of a few hundred characters. The limit
    grows with the size of the file.
    """

    def __init__(self, size: int) -> None:
        self._end = time.monotonic() + _SECONDS_PER_FILE + _SECONDS_PER_MEGABYTE * size / 1_000_000

    def passed(self, *_progress: object) -> bool:
        return time.monotonic() > self._end


def _parse_tree(language: CodeLanguage, source: bytes) -> Tree | None:
    """The syntax tree, or None when tree-sitter did not finish before the deadline."""
    deadline = _Deadline(len(source))

    def read(byte: int, _point: Point) -> bytes:
        return source[byte : byte + _READ_CHUNK]

    try:
        return get_parser(language.grammar).parse(read, progress_callback=deadline.passed)
    except ValueError:
        return None


def _descendants(root: Node) -> Iterator[Node]:
    """Every node under root in document order, walked with a cursor: fast, and never recursive.

    (A tree-sitter query would be simpler, but its run time grows with the square of the tree's depth.)
    """
    cursor = root.walk()
    while True:
        node = cursor.node
        if node is not None:
            yield node
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return


def _is_statement_start(node: Node) -> bool:
    """A named node that begins a line inside a body: a statement, a member, a case or a comment."""
    parent = node.parent
    if parent is None or not node.is_named or node.start_point[0] == parent.start_point[0]:
        return False
    return (
        parent.type in _STATEMENT_PARENTS
        or parent.type.endswith(_STATEMENT_PARENT_SUFFIXES)
        or node.type.endswith("comment")
    )


def _scan_tree(language: CodeLanguage, root: Node, walker: _Walker) -> tuple[list[Link], list[int]]:
    """One walk of the tree: the import links, and the line starts where a statement begins."""
    spans: list[tuple[int, int]] = []
    breaks: set[int] = set()
    for node in _descendants(root):
        find = language.imports.get(node.type)
        if find is not None:
            spans.extend(find(node))
        if _is_statement_start(node):
            start = walker.char(node.start_byte)
            line_start = walker.text.rfind("\n", 0, start) + 1
            if not walker.text[line_start:start].strip():
                breaks.add(line_start)
    return _links(walker, spans), sorted(breaks)


def _links(walker: _Walker, spans: list[tuple[int, int]]) -> list[Link]:
    links: list[Link] = []
    for start_byte, end_byte in sorted(set(spans)):
        start, end = walker.char(start_byte), walker.char(end_byte)
        if walker.text[start:end].strip():
            links.append(Link(walker.text[start:end], "import", start, end))
    return links


def parse_code(language_name: str, text: str) -> ParsedDocument:
    """language_name is a key of LANGUAGES; syntax errors are tolerated (tree-sitter recovers from them).

    When tree-sitter cannot parse the file in time, the document has paragraph blocks and nothing else.
    """
    language = LANGUAGES[language_name]
    tree = _parse_tree(language, encode(text))
    if tree is None:
        return ParsedDocument(text=text, kind="code", language=language_name, blocks=paragraph_blocks(text))
    walker = _Walker(language, text)
    walker.walk(tree.root_node)
    links, breaks = _scan_tree(language, tree.root_node, walker)
    return ParsedDocument(
        text=text,
        kind="code",
        language=language_name,
        blocks=definition_blocks(text, walker.found),
        symbols=[found.symbol for found in walker.found],
        links=links,
        imports=list(dict.fromkeys(link.target for link in links)),
        breaks=breaks,
    )


def is_code_language(language_name: str) -> bool:
    return language_name in LANGUAGES
