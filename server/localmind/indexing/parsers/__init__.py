"""Parsers that turn a file into a ParsedDocument: Markdown, source code, reStructuredText, plain text and PDF.

parse_file picks the parser by the file's extension; PDFs arrive as bytes and go to parse_pdf.
"""

from __future__ import annotations

from localmind.indexing.documents import ParsedDocument

from .code import is_code_language, parse_code
from .languages import is_pdf, language_for
from .markdown import parse_markdown
from .pdf import parse_pdf
from .rst import parse_rst
from .text import parse_text

__all__ = ["is_pdf", "language_for", "parse_file", "parse_pdf"]


def parse_file(rel_path: str, text: str) -> ParsedDocument:
    """Markdown, source code, reStructuredText, or plain text for every other extension."""
    language = language_for(rel_path)
    if language == "markdown":
        return parse_markdown(rel_path, text)
    if language == "rst":
        return parse_rst(text)
    if is_code_language(language):
        return parse_code(language, text)
    return parse_text(text)
