"""Conversation history, bounded in turns per conversation and in conversations kept."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str


class Conversations:
    def __init__(self, max_conversations: int = 64, max_turns: int = 8) -> None:
        self._max_conversations = max_conversations
        self._max_turns = max_turns
        self._history: OrderedDict[str, list[Turn]] = OrderedDict()
        self._lock = threading.Lock()

    def history(self, conversation_id: str | None) -> tuple[str, list[Turn]]:
        """The conversation's id (a new one when unknown or missing) and its turns, oldest first."""
        with self._lock:
            if conversation_id and conversation_id in self._history:
                self._history.move_to_end(conversation_id)
                return conversation_id, list(self._history[conversation_id])
            return conversation_id or uuid.uuid4().hex, []

    def record(self, conversation_id: str, turn: Turn) -> None:
        with self._lock:
            turns = self._history.setdefault(conversation_id, [])
            turns.append(turn)
            del turns[: -self._max_turns]
            self._history.move_to_end(conversation_id)
            while len(self._history) > self._max_conversations:
                self._history.popitem(last=False)
