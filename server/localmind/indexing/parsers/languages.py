"""Which language a file is written in, judged by its name alone."""

from __future__ import annotations

from pathlib import PurePosixPath

_BY_SUFFIX = {
    ".py": "python",
    ".pyi": "python",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".lua": "lua",
    ".sh": "bash",
    ".bash": "bash",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".rst": "rst",
    ".rest": "rst",
    ".pdf": "pdf",
}

# Sphinx copies reStructuredText sources into its output as "name.rst.txt".
_RST_TEXT_SUFFIX = ".rst.txt"


def path_of(rel_path: str) -> PurePosixPath:
    """The path with Windows separators turned into slashes, so that folders are recognised on every system."""
    return PurePosixPath(rel_path.replace("\\", "/"))


def language_for(rel_path: str) -> str:
    """The language name: python, typescript, markdown, rst, pdf, ...; text for every name not recognised."""
    name = path_of(rel_path).name.lower()
    if name.endswith(_RST_TEXT_SUFFIX):
        return "rst"
    return _BY_SUFFIX.get(PurePosixPath(name).suffix, "text")


def is_pdf(rel_path: str) -> bool:
    return language_for(rel_path) == "pdf"
