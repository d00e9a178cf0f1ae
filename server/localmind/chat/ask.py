"""Asking the workspace a question: retrieval → numbered sources → an answer streamed in pieces."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from localmind.chat.conversations import Conversations, Turn
from localmind.chat.extractive import extractive_answer
from localmind.chat.sources import Source, number_sources
from localmind.retrieval import Searcher, parse_query

# The sources' texts together stay within this many characters (about 1,500 tokens).
SOURCE_BUDGET_CHARS = 6_000
MAX_QUESTION_CHARS = 4_000


@dataclass(frozen=True)
class AskRequest:
    question: str
    conversation_id: str | None = None
    path: str | None = None
    root: str | None = None
    k: int = 6


@dataclass(frozen=True)
class Answer:
    answer: str
    extractive: bool
    conversation_id: str
    sources: list[Source]

    def to_json(self) -> dict[str, object]:
        return {
            "answer": self.answer,
            "extractive": self.extractive,
            "conversationId": self.conversation_id,
            "sources": [source.to_json() for source in self.sources],
        }


def ask(
    searcher: Searcher, conversations: Conversations, request: AskRequest, on_delta: Callable[[str], None]
) -> Answer:
    """Answer from the workspace; each piece of the answer is passed to on_delta as it is produced."""
    conversation_id, turns = conversations.history(request.conversation_id)
    query = parse_query(
        query=_retrieval_text(request.question, turns), k=request.k, path=request.path, root=request.root
    )
    hits = searcher.search(query)
    sources = number_sources(hits, _chunk_texts(searcher, [hit.chunk_id for hit in hits]), SOURCE_BUDGET_CHARS)
    pieces = []
    for piece in extractive_answer(sources):
        pieces.append(piece)
        on_delta(piece)
    answer = "".join(pieces)
    conversations.record(conversation_id, Turn(request.question, answer))
    return Answer(answer, True, conversation_id, sources)


def _retrieval_text(question: str, turns: list[Turn]) -> str:
    """A follow-up ("and where is it tested?") is searched together with the previous question."""
    previous = turns[-1].question if turns else ""
    return f"{previous} {question}".strip()[: 2 * MAX_QUESTION_CHARS]


def _chunk_texts(searcher: Searcher, chunk_ids: list[str]) -> dict[str, str]:
    rows = searcher.store.query(
        "SELECT id, text FROM chunks WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(chunk_ids),)
    )
    return {str(chunk): str(text) for chunk, text in rows}
