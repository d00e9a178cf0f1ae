"""What the two Neovim tests share: reading Neovim's LSP log and removing Markdown escapes from cards."""

from __future__ import annotations

import re
from pathlib import Path

MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def unescape_markdown(text: str) -> str:
    """The text a reader sees: CommonMark's backslash escapes before ASCII punctuation removed (parse\\_config)."""
    return MARKDOWN_ESCAPE.sub(r"\1", text)


def readable_log(path: Path) -> str:
    """Neovim's lsp.log, with the escaped line breaks of the server's stderr turned back into lines."""
    if not path.exists():
        return ""
    text = path.read_text(errors="replace").replace("\\n", "\n").replace("\\t", "\t")
    return text[-20000:]
