"""What a search hit stands for: a unit.

A unit is the innermost definition of a code chunk (every part of a large definition is one unit), the
innermost section of a prose chunk, or the chunk itself for module-level code. Fusion ranks units (see
fusion.py), so a definition found by meaning in one part and by words in another is one hit, found by both,
and a long section takes one place in the results, not several. Measured (docs/BENCHMARKS.md): fusing
sections rather than prose chunks raised Jinja2's code-search MRR@10 by 0.015 and lowered SciFact's nDCG@10
(where a section is a whole abstract) by 0.004.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from localmind.stores.records import UnitRow


@dataclass(frozen=True)
class Unit:
    key: Hashable
    is_code: bool


def unit_of_row(row: UnitRow) -> Unit:
    chunk_id, file_id, kind, symbol, heading_path = row
    if kind == "code":
        return Unit(("definition", file_id, symbol) if symbol else ("chunk", chunk_id), True)
    return Unit(("section", file_id, *json.loads(heading_path)), False)


def units_of(rows: Iterable[UnitRow]) -> dict[str, Unit]:
    return {row[0]: unit_of_row(row) for row in rows}
