"""Definition-aligned blocks for source code: every definition its own block, nested ones too.

A leaf definition (a function, a method, a class without members found) is one block from its doc comment or
first decorator to its last line. A container (a class, an impl, a module) contributes the text around its
members — signature, docstring, class-level attributes — as blocks of its own symbol, and each member is a
block in turn. Text outside every definition (imports, constants, top-level statements) becomes "code" blocks
without a symbol. Functions written inside a function body stay part of that body: they are its implementation,
not a unit of their own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from localmind.indexing.documents import Block, SymbolDef

from .blocks import absorb_blank_blocks, whole_lines

_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class FoundDefinition:
    """A definition, where its block starts (its doc comment included), and its signature line."""

    symbol: SymbolDef
    block_start: int
    signature: str


@dataclass
class _Node:
    definition: FoundDefinition
    start: int
    end: int
    children: list[_Node] = field(default_factory=list)


def signature_line(text: str, symbol: SymbolDef) -> str:
    """The line that holds the definition's name, without its indentation: `def parse(self, source):`."""
    line_start = text.rfind("\n", 0, symbol.name_start) + 1
    line_end = text.find("\n", symbol.name_end)
    return text[line_start : len(text) if line_end < 0 else line_end].strip()


def definition_blocks(text: str, found: Sequence[FoundDefinition]) -> list[Block]:
    """Blocks covering the whole text, each piece owned by the innermost definition holding it."""
    roots = _tree(text, found)
    return absorb_blank_blocks(text, _cover(0, len(text), None, roots), _wordless)


def _wordless(text: str) -> bool:
    """Blanks and punctuation only, such as the `};` that closes a class: it joins the block before it."""
    return _WORD.search(text) is None


def _tree(text: str, found: Sequence[FoundDefinition]) -> list[_Node]:
    """Definitions nested by extent (widened to whole lines); one that ends past its container is dropped.
    (Found in document order, a definition starts past its earlier siblings' ends: they are off the stack.)"""
    ordered = sorted(found, key=lambda d: (d.block_start, -d.symbol.end))
    roots: list[_Node] = []
    stack: list[_Node] = []
    for definition in ordered:
        start, end = whole_lines(text, definition.block_start, definition.symbol.end)
        while stack and start >= stack[-1].end:
            stack.pop()
        if stack and end > stack[-1].end:
            continue
        siblings = stack[-1].children if stack else roots
        node = _Node(definition, start, end)
        siblings.append(node)
        stack.append(node)
    return roots


def _cover(start: int, end: int, owner: _Node | None, children: list[_Node]) -> list[Block]:
    """The blocks of [start, end): the children's own blocks, and the owner's blocks in the gaps between them."""
    blocks: list[Block] = []
    cursor = start
    for child in children:
        if child.start > cursor:
            blocks.append(_gap(cursor, child.start, owner, first=not blocks and owner is None))
        if child.children:
            blocks.extend(_cover(child.start, child.end, child, child.children))
        else:
            blocks.append(_definition(child.start, child.end, child))
        cursor = child.end
    if cursor < end:
        blocks.append(_gap(cursor, end, owner, first=not blocks and owner is None))
    return blocks


def _definition(start: int, end: int, node: _Node) -> Block:
    definition = node.definition
    return Block(start, end, "definition", symbol=definition.symbol.qualified_name, signature=definition.signature)


def _gap(start: int, end: int, owner: _Node | None, first: bool) -> Block:
    if owner is None:
        return Block(start, end, "preamble" if first else "code")
    return _definition(start, end, owner)
