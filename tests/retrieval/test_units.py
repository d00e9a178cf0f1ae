"""Units of search hits: definitions for code, sections for prose."""

from __future__ import annotations

import json

from localmind.retrieval.units import Unit, unit_of_row, units_of


def test_code_units_are_definitions_prose_units_are_sections() -> None:
    assert unit_of_row(("c1", "f", "code", "Config.load", "[]")) == Unit(("definition", "f", "Config.load"), True)
    assert unit_of_row(("c4", "f", "code", "Config.load", "[]")) == unit_of_row(
        ("c1", "f", "code", "Config.load", "[]")
    )
    assert unit_of_row(("c5", "h", "code", "Config.load", "[]")).key != ("definition", "f", "Config.load")
    assert unit_of_row(("c2", "f", "code", None, "[]")) == Unit(("chunk", "c2"), True)
    heading = json.dumps(["Guide", "Install"])
    assert unit_of_row(("c3", "g", "docs", None, heading)) == Unit(("section", "g", "Guide", "Install"), False)
    assert unit_of_row(("c6", "g", "notes", None, heading)) == unit_of_row(("c3", "g", "docs", None, heading))
    assert units_of([("c1", "f", "code", "Config.load", "[]")])["c1"].is_code
