"""Knowledge cards: what the workspace knows about the word or symbol under the cursor, for the hover.

A card is built from a few indexed lookups and one hybrid search:

- where the subject is defined (symbols by name or qualified name),
- the notes and docs that mention it (their MENTIONS rows) or carry it as a tag,
- the passages most related to it (one search for the subject),
- related symbols and tags (symbols whose chunks use it, defined names mentioned beside it, tags of the
  files that mention it).

Empty rather than noisy. A subject gets no card when it is not a word worth a card (under three
characters, no letter, a number or a stop word). Otherwise it gets one only when the workspace holds it
word for word: a definition, a tag, a note or doc that mentions it (other than the file hovered), or a
search passage whose snippet contains it. Passages that only resemble the subject (dense similarity) never
make a card on their own. For a plain word (neither defined nor a tag), only passages that contain it are
shown, so a word in prose does not bring in loosely related text.

The index is read through its named reads (IndexReads in stores/ports.py), which bind every value, so
nothing that a user or a file supplies becomes SQL.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from localmind.indexing.parsers.markdown import wiki_links_as_labels
from localmind.indexing.terms import STOPWORDS
from localmind.retrieval.query import parse_query
from localmind.retrieval.results import Location, Position, Range, SearchHit
from localmind.retrieval.searcher import Searcher
from localmind.stores.ports import IndexReads
from localmind.stores.records import NoteMention

_MAX_SUBJECT_CHARS = 100
_MAX_SUMMARY_CHARS = 160
# What a hover shows without a scrollbar: VS Code's is at least 750 pixels wide and scrolls past 250 pixels
# high, which is about 85 characters of prose a line and 10 lines of card Markdown with their paragraph gaps.
# Rendering keeps the headline within two lines, each link on one, and the related names on one.
CARD_LINES = 10
_LINE_CHARS = 85
_MIN_EXCERPT_CHARS = 30
_CODE_NAME_EXTRA_CHARS = 5  # A related name in code font takes about its length plus this, with " · ".
_WORD_CUT_CHARS = 15  # A cut excerpt gives up at most this many characters to end after a whole word.
_MENTION_SAMPLE = 200  # MENTIONS rows read to choose the notes shown; a common word has thousands.
_RELATED_CHUNKS = 20  # Chunks that mention the subject, read for related symbols and tags.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Characters that Markdown (CommonMark, GFM tables, HTML) could read as syntax. Each is escaped with a
# backslash, which CommonMark allows before any ASCII punctuation.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&$])")
_LINK_UNSAFE = str.maketrans({" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "`": "%60", '"': "%22"})


@dataclass(frozen=True)
class CardBudget:
    """How much a card may hold. The search depth is the one cost that grows with it."""

    definitions: int = 3
    mentions: int = 4
    passages: int = 3
    related: int = 8
    search_k: int = 6


DEFAULT_BUDGET = CardBudget()


@dataclass(frozen=True)
class CardLink:
    label: str  # "path:line", the line 1-based
    location: Location
    detail: str | None  # A definition's kind, a mention's sentence, a passage's snippet.
    code: bool = False  # The detail is a line of code: shown as it is, not read as Markdown.


@dataclass(frozen=True)
class KnowledgeCard:
    subject: str
    summary: str | None  # The definition's doc (or signature), else the best mention's or passage's sentence.
    definitions: list[CardLink]
    mentioned_in: list[CardLink]
    passages: list[CardLink]
    related: list[str]  # Symbol names, and tags written "#tag".

    def is_empty(self) -> bool:
        """Related names alone are not worth a hover: a card must point somewhere."""
        return not (self.definitions or self.mentioned_in or self.passages)


@dataclass(frozen=True)
class _Definition:
    link: CardLink
    chunk_id: str | None
    summary: str | None


@dataclass(frozen=True)
class _Mention:
    link: CardLink
    chunk_id: str
    file_id: str


# Building --------------------------------------------------------------------------------------------


def card_subject(word: str) -> str | None:
    """The subject a card is built for, or None for a word not worth one (short, numeric, a stop word)."""
    subject = word.strip().lstrip("#").strip()
    if not 3 <= len(subject) <= _MAX_SUBJECT_CHARS or subject.lower() in STOPWORDS:
        return None
    if subject[0].isdigit() or not any(character.isalpha() for character in subject):
        return None  # A number (0x1F, 8080, 1e9) or punctuation.
    return subject.encode("utf-8", "replace").decode("utf-8")  # Lone surrogates cannot reach SQLite.


def build_card(
    searcher: Searcher, subject: str, *, from_uri: str | None = None, budget: CardBudget = DEFAULT_BUDGET
) -> KnowledgeCard | None:
    """The card for a word or symbol, or None when the workspace holds nothing about it word for word.

    from_uri is the file being hovered: its own passages and mentions are left out (the reader is looking
    at them), but its definitions are kept, since they are places to jump to.
    """
    name = card_subject(subject)
    if name is None:
        return None
    reads = searcher.reads
    variants = _case_variants(name)
    hovered = _uri_key(from_uri) if from_uri else None
    definitions = _definitions(reads, name, budget.definitions)
    hits = searcher.search(parse_query(query=name, k=min(max(budget.search_k, 1), 200)))
    tagged = reads.tagged_files(variants, budget.mentions)
    mentions = _note_mentions(reads, name, variants, hovered, _ranked_files(hits), budget.mentions)
    mentioned_in = _with_tagged_files(mentions, tagged, hovered, budget.mentions)
    is_concept = bool(definitions or tagged)
    excluded = {d.chunk_id for d in definitions if d.chunk_id} | {m.chunk_id for m in mentions}
    passages = _passages(hits, name, excluded, hovered, budget.passages, strong_only=not is_concept)
    if not (definitions or mentioned_in or passages):
        return None
    return KnowledgeCard(
        subject=name,
        summary=_summary(definitions, tagged, mentions, passages),
        definitions=[d.link for d in definitions],
        mentioned_in=mentioned_in,
        passages=passages,
        related=_related(reads, name, variants, definitions, tagged, budget.related),
    )


def _case_variants(name: str) -> list[str]:
    """The spellings a MENTIONS row may hold for the word: as written, lower, capitalised, upper."""
    return list(dict.fromkeys([name, name.lower(), name[:1].upper() + name[1:], name.upper()]))


def _definitions(reads: IndexReads, name: str, limit: int) -> list[_Definition]:
    """Symbols of that name or qualified name (exact), with their doc or signature line."""
    definitions = []
    for row in reads.symbol_definitions(name, limit):
        at = _location(row.root, row.rel_path, row.name_line, row.name_char, len(row.name))
        detail = row.kind if row.qualified_name == row.name else f"{row.kind} {row.qualified_name}"
        line_in_chunk = row.name_line - (row.chunk_start_line or 0)
        signature = _line_of(row.chunk_text, line_in_chunk) if row.chunk_text is not None else ""
        summary = _first_sentence(row.doc) if row.doc else _signature(signature)
        definitions.append(_Definition(_link(at, detail), row.chunk_id or None, summary))
    return definitions


def _note_mentions(
    reads: IndexReads, name: str, variants: list[str], hovered: str | None, ranked: dict[str, int], limit: int
) -> list[_Mention]:
    """One mention per note or doc that names the subject: files found by the search first, then the
    files that mention it most often (within a bounded sample of MENTIONS rows)."""
    first_chunk: dict[str, NoteMention] = {}
    counts: Counter[str] = Counter()
    for row in reads.mentions_in_notes(variants, _MENTION_SAMPLE):
        counts[row.file_id] += 1
        first_chunk.setdefault(row.file_id, row)
    keys = {f: _file_key(row.root, row.rel_path) for f, row in first_chunk.items()}
    files = [f for f in first_chunk if hovered is None or keys[f] != hovered]
    files.sort(key=lambda f: (ranked.get(keys[f], len(ranked)), -counts[f]))
    chosen = {first_chunk[f].chunk_id: first_chunk[f] for f in files[:limit]}
    texts = reads.located_chunk_texts(list(chosen))
    mentions = []
    for chunk_id, row in chosen.items():
        found = texts[chunk_id]
        at, sentence = _occurrence(found.text, found.start_line, found.start_char, name)
        link = _link(_location(row.root, row.rel_path, at[0], at[1], len(name)), sentence)
        mentions.append(_Mention(link, chunk_id, row.file_id))
    return mentions


def _with_tagged_files(
    mentions: list[_Mention], tagged: list[tuple[str, str, str]], hovered: str | None, limit: int
) -> list[CardLink]:
    """The mentions, then the tagged files that no mention already lists (linked at their first line)."""
    links = [m.link for m in mentions]
    listed = {(link.location.root, link.location.path) for link in links}
    for root, rel_path, tag in tagged:
        if len(links) < limit and (root, rel_path) not in listed and _file_key(root, rel_path) != hovered:
            links.append(_link(_location(root, rel_path, 0, 0, 0), f"tagged #{tag}"))
            listed.add((root, rel_path))
    return links


def _passages(
    hits: list[SearchHit], name: str, excluded: set[str], hovered: str | None, limit: int, *, strong_only: bool
) -> list[CardLink]:
    """The best search hits that add something: not a definition or mention already shown, not in the
    hovered file, one per line; for a plain word, only snippets that contain it."""
    word = _word_pattern(name)
    passages: list[CardLink] = []
    seen: set[tuple[str, int]] = set()
    for hit in hits:
        place = (hit.uri, hit.snippet_line)
        if hit.chunk_id in excluded or place in seen or (hovered and _uri_key(hit.uri) == hovered):
            continue
        if strong_only and not word.search(hit.snippet):
            continue
        seen.add(place)
        start = Position(hit.snippet_line, 0)
        at = Location(hit.uri, hit.path, hit.root, Range(start, max(start, hit.range.end, key=_position_key)))
        label = f"{hit.path}:{hit.snippet_line + 1}"
        passages.append(CardLink(label, at, _one_line(hit.snippet), code=hit.kind == "code"))
        if len(passages) == limit:
            break
    return passages


def _summary(
    definitions: list[_Definition],
    tagged: list[tuple[str, str, str]],
    mentions: list[_Mention],
    passages: list[CardLink],
) -> str | None:
    """The definition's doc or signature; else the sentence of the best mention or passage, after the
    tag's reach when the subject is a tag."""
    if definitions:
        return definitions[0].summary
    sentence = next((link.detail for link in [*(m.link for m in mentions), *passages] if link.detail), None)
    if tagged:
        reach = f"tag on {len(tagged)} file{'s' if len(tagged) > 1 else ''}"
        return f"{reach} · {sentence}" if sentence else reach
    return _first_sentence(sentence) if sentence else None


def _related(
    reads: IndexReads,
    name: str,
    variants: list[str],
    definitions: list[_Definition],
    tagged: list[tuple[str, str, str]],
    limit: int,
) -> list[str]:
    """Symbols whose chunks mention the subject, then defined names mentioned beside it (in its
    definition's chunk or the chunks that mention it), then the tags of the files that mention it."""
    rows = reads.mentioning_chunks(variants, _RELATED_CHUNKS)
    mentioning = [chunk for chunk, _ in rows]
    files = list(dict.fromkeys(file for _, file in rows))
    around = mentioning + [d.chunk_id for d in definitions if d.chunk_id]
    users = reads.symbols_defined_in(mentioning)
    beside = [name for name, _ in reads.defined_names_mentioned_in(around, limit + len(variants))]
    tags = reads.tag_counts(files, limit + len(tagged))
    own = {variant.lower() for variant in variants}
    names = [*users, *beside] + [f"#{tag}" for tag, _ in tags]
    related = [n for n in dict.fromkeys(names) if n.lstrip("#").lower() not in own]
    return related[:limit]


# Text helpers ----------------------------------------------------------------------------------------


def _word_pattern(name: str) -> re.Pattern[str]:
    """The name as a whole word (not inside a longer identifier), in any case."""
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)


def _occurrence(text: str, line: int, character: int, name: str) -> tuple[tuple[int, int], str | None]:
    """Where the name first stands in a chunk (file line and character) and the sentence around it."""
    found = _word_pattern(name).search(text)
    if found is None:
        return (line, character), None
    before = text[: found.start()]
    line_index = before.count("\n")
    column = found.start() - (before.rfind("\n") + 1)
    at = (line + line_index, column + (character if line_index == 0 else 0))
    return at, _sentence_around(_line_of(text, line_index), column, column + len(name))


def _sentence_around(line: str, start: int, end: int) -> str:
    """The sentence of a line holding [start, end), without Markdown's leading list or heading marks."""
    ends = [m.end() for m in _SENTENCE_END.finditer(line)]
    begin = max((e for e in ends if e <= start), default=0)
    finish = min((e for e in ends if e >= end), default=len(line))
    return _clip(line[begin:finish].strip().lstrip("#>*-+ ").strip(), _MAX_SUMMARY_CHARS)


def _first_sentence(text: str) -> str:
    return _clip(_SENTENCE_END.split(_one_line(text), maxsplit=1)[0], _MAX_SUMMARY_CHARS)


def _signature(line: str) -> str | None:
    """A definition's first line without its block opener, e.g. `def f(x: int) -> str`."""
    signature = line.strip().rstrip("{:").strip()
    return _clip(signature, _MAX_SUMMARY_CHARS) if signature else None


def _line_of(text: str, index: int) -> str:
    lines = text.split("\n")
    return lines[index] if 0 <= index < len(lines) else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Locations -------------------------------------------------------------------------------------------


def _location(root: str, rel_path: str, line: int, character: int, length: int) -> Location:
    start = Position(line, character)
    return Location(_file_uri(root, rel_path), rel_path, root, Range(start, Position(line, character + length)))


def _link(at: Location, detail: str | None) -> CardLink:
    return CardLink(f"{at.path}:{at.range.start.line + 1}", at, detail)


def _file_uri(root: str, rel_path: str) -> str:
    return (Path(root) / rel_path).as_uri()


def _file_key(root: str, rel_path: str) -> str:
    return _uri_key(_file_uri(root, rel_path))


def _uri_key(uri: str) -> str:
    """A URI compared by what it names: clients and Path.as_uri percent-encode differently."""
    return unquote(uri.split("#", 1)[0]).rstrip("/").casefold()


def _ranked_files(hits: list[SearchHit]) -> dict[str, int]:
    """Each hit file's best rank, keyed like _file_key."""
    ranked: dict[str, int] = {}
    for rank, hit in enumerate(hits):
        ranked.setdefault(_uri_key(hit.uri), rank)
    return ranked


def _position_key(position: Position) -> tuple[int, int]:
    return position.line, position.character


# Rendering -------------------------------------------------------------------------------------------


@dataclass
class _Section:
    title: str
    items: list[str]
    shown: int

    def lines(self) -> list[str]:
        hidden = len(self.items) - self.shown
        title = f"**{self.title}**" + (f" · +{hidden} more" if hidden else "")
        return ["", title, *self.items[: self.shown]]


def render_markdown(card: KnowledgeCard, max_lines: int = CARD_LINES) -> str:
    """The card as Markdown of at most max_lines lines: the headline, then each section, trimmed from the
    longest down (a trimmed section says "+N more"), then the related names, dropped first when even one
    item per section does not fit."""
    sections = [
        _Section(title, items, len(items))
        for title, items in (
            ("Also defined in", [_item(link, card.summary) for link in card.definitions[1:]]),
            ("Mentioned in", [_item(link, card.summary) for link in card.mentioned_in]),
            ("Passages", [_item(link, card.summary) for link in card.passages]),
        )
        if items
    ]
    names = _names_fitting(card.related, _LINE_CHARS - len("Related "))
    related = ["", "**Related** " + " · ".join(_code(name) for name in names)] if names else []
    budget = max(1, max_lines)
    _trim(sections, related, budget)
    lines = [_headline(card)] + [line for section in sections for line in section.lines()] + related
    return "\n".join(lines[:budget])


# What the card's Markdown is made of, undone for plain text, read left to right in one pass so that an
# escaped character is never taken for the start of a link or a code span: an escape, a link (its label in
# group 2), a code span (group 3) or a bold mark.
_MARKUP = re.compile(r"\\(.)|\[((?:[^\]\\\n]|\\.)*)\]\([^)\n]*\)|`([^`\n]*)`|\*\*")
_ITALIC_LINE = re.compile(r"^_(.*)_$", re.MULTILINE)
_ESCAPED = re.compile(r"\\(.)")


def markdown_to_plaintext(markdown: str) -> str:
    """A card (and its notes) as plain text, for clients that do not render Markdown: a link becomes its
    label, emphasis and code marks go, escaped characters are themselves again. It undoes only what
    `render_markdown` and the notes write, so it is exact for them."""
    text = _ITALIC_LINE.sub(lambda match: match.group(1), markdown)
    return _MARKUP.sub(_plain_text_of, text)


def _plain_text_of(markup: re.Match[str]) -> str:
    escaped, label, code = markup.group(1, 2, 3)
    if escaped is not None:
        return escaped
    if label is not None:
        return _ESCAPED.sub(lambda match: match.group(1), label)
    return code if code is not None else ""  # A bold mark goes.


def _trim(sections: list[_Section], related: list[str], budget: int) -> None:
    def size() -> int:
        return 1 + sum(len(section.lines()) for section in sections) + len(related)

    while size() > budget and any(section.shown > 1 for section in sections):
        longest = max(reversed(sections), key=lambda section: section.shown)
        longest.shown -= 1
    if size() > budget:
        related.clear()
    while size() > budget and sections:
        sections.pop()


def _headline(card: KnowledgeCard) -> str:
    """`**name** — function in [src/x.py:12](…) · Its doc's first sentence.`, within two lines."""
    parts = [f"**{escape_markdown(card.subject)}**"]
    shown = len(card.subject) + 3
    if card.definitions:
        first = card.definitions[0]
        kind = f"{escape_markdown(first.detail)} in " if first.detail else ""
        parts.append(f"— {kind}{_markdown_link(first)}")
        shown += len(first.detail or "") + len(first.label) + 8
    if card.summary:
        room = max(_MIN_EXCERPT_CHARS, 2 * _LINE_CHARS - shown)
        parts.append(("· " if card.definitions else "— ") + excerpt_markdown(card.summary, room))
    return " ".join(parts)


def _item(link: CardLink, summary: str | None) -> str:
    """`- [path:line](…) — detail`, on one line, without the detail when the headline already says it."""
    if not link.detail or (summary and _one_line(link.detail) == _one_line(summary)):
        return f"- {_markdown_link(link)}"
    room = max(_MIN_EXCERPT_CHARS, _LINE_CHARS - len(link.label) - 3)
    detail = escape_markdown(_clip(_one_line(link.detail), room)) if link.code else excerpt_markdown(link.detail, room)
    return f"- {_markdown_link(link)} — {detail}"


def _names_fitting(names: list[str], room: int) -> list[str]:
    """The first names that fit on one line of room characters, written as code and separated by " · "."""
    fitting = []
    for name in names:
        room -= len(name) + _CODE_NAME_EXTRA_CHARS
        if room < 0:
            break
        fitting.append(name)
    return fitting


# The Markdown an excerpt of a note may hold, rendered to what it says (see excerpt_markdown).
_EXCERPT_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_EXCERPT_CODE = re.compile(r"`([^`\n]+)`")
_EXCERPT_EMPHASIS = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|(?<![\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])")


def excerpt_markdown(text: str, limit: int | None = None) -> str:
    """An excerpt of a file as Markdown that shows what the text says, not its syntax: a link or wiki link
    becomes its label (never a link: a card links only to the workspace's own places), emphasis marks go,
    inline code stays inline code, and everything else is escaped. With a limit, what is shown is cut to
    that many characters, ending in "…" (a cut code span stays code)."""
    text = wiki_links_as_labels(_one_line(text))
    text = _EXCERPT_LINK.sub(lambda m: m.group(1), text)
    parts = _EXCERPT_CODE.split(text)  # Odd places hold inline code.
    shown = [part if index % 2 else _without_emphasis(part) for index, part in enumerate(parts)]
    if limit is not None:
        shown = _clipped_parts(shown, limit)
    return "".join(_code(part) if index % 2 else _escaped(part) for index, part in enumerate(shown))


def _without_emphasis(text: str) -> str:
    return _EXCERPT_EMPHASIS.sub(lambda m: m.group(1) or m.group(2), text)


def _clipped_parts(parts: list[str], limit: int) -> list[str]:
    """Prose and code parts (alternating, prose first) cut to limit characters in all, ending in "…" as
    prose, so that the ellipsis never becomes code. Prose is cut after a whole word when one ends near."""
    kept: list[str] = []
    room = limit
    for index, part in enumerate(parts):
        if len(part) <= room:
            kept.append(part)
            room -= len(part)
            continue
        cut = part[: max(room - 1, 0)]
        if index % 2:
            kept += [cut, "…"]
        else:
            kept.append(_prose_cut(cut, first=not kept) + "…")
        break
    return kept


def _prose_cut(text: str, first: bool) -> str:
    """Prose cut short, without its last, unfinished word when a word ends within the last _WORD_CUT_CHARS
    (the first part of an excerpt keeps a word at least), and without spaces or commas at its end."""
    space = text.rfind(" ")
    word_ends = space > 0 or (space == 0 and not first)
    if word_ends and len(text) - space <= _WORD_CUT_CHARS:
        text = text[:space]
    return text.rstrip(" ,;:")


def _escaped(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def _markdown_link(link: CardLink) -> str:
    target = f"{link.location.uri}#L{link.location.range.start.line + 1}".translate(_LINK_UNSAFE)
    return f"[{escape_markdown(link.label)}]({target})"


def _code(name: str) -> str:
    """A name as inline code, or escaped text when it holds a backtick (which would end the span)."""
    return escape_markdown(name) if "`" in name or not name.strip() else f"`{name}`"


def escape_markdown(text: str) -> str:
    """Text that renders as itself: Markdown and HTML syntax escaped, line breaks made spaces."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(text))
