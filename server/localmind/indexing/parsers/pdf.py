"""PDF documents: the text of each page, one "page" block per page."""

from __future__ import annotations

import io

from pypdf import PdfReader

from localmind.indexing.documents import Block, ParsedDocument

PAGE_SEPARATOR = "\n\n"


def _metadata_title(reader: PdfReader) -> str | None:
    title = reader.metadata.title if reader.metadata is not None else None
    return title.strip() if isinstance(title, str) and title.strip() else None


def _read_pages(rel_path: str, data: bytes) -> tuple[list[str], str | None]:
    """The text of every page and the title from the metadata; ValueError when the file cannot be read."""
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
        pages = [] if encrypted else [page.extract_text() or "" for page in reader.pages]
        title = None if encrypted else _metadata_title(reader)
    except Exception as error:  # pypdf raises many kinds of error on a damaged file; all mean "unreadable".
        raise ValueError(f"{rel_path}: not a readable PDF ({type(error).__name__}: {error})") from error
    if encrypted:
        raise ValueError(f"{rel_path}: the PDF is encrypted")
    return pages, title


def parse_pdf(rel_path: str, data: bytes) -> ParsedDocument:
    """Page texts joined with blank lines; a page without text (a scan) gets no block."""
    pages, title = _read_pages(rel_path, data)
    blocks: list[Block] = []
    offset = 0
    for number, page_text in enumerate(pages, start=1):
        if page_text.strip():
            blocks.append(Block(offset, offset + len(page_text), "page", page=number))
        offset += len(page_text) + len(PAGE_SEPARATOR)
    return ParsedDocument(text=PAGE_SEPARATOR.join(pages), kind="docs", language="pdf", title=title, blocks=blocks)
