"""The conversation being had, as the store keeps it: which chat this is, its messages saved
as they happen, and the history rebuilt when an old chat is opened.

Saving never stops a turn: if the disk is full or the database fails, the user is told once
and the conversation goes on unsaved.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

from app.llm.base import Message
from app.storage.chats import ChatStore, MessageDetails, Role, StoredMessage
from app.storage.database import storage_advice

log = logging.getLogger(__name__)


class ChatLog:
    def __init__(self, store: ChatStore | None, warn: Callable[[str], None]) -> None:
        self.store = store
        self.chat_id: int | None = None
        # The stored ids of the history's messages, in step with it (None: not stored).
        self.ids: list[int | None] = []
        # Who answers a chat started from now on: (assistant id, revision); None: built-in.
        self.assistant: tuple[int, int] | None = None
        self._warn = warn
        self._warned = False

    def save(
        self,
        role: Role,
        text: str,
        context: str | None = None,
        interrupted: bool = False,
        images: Iterable[Any] = (),
        meta: dict[str, Any] | None = None,
    ) -> int | None:
        """Store one message in the current chat (started by the first one); its id, or None
        when nothing could be stored."""
        if self.store is None:
            return None
        try:
            if self.chat_id is None:
                self.chat_id = self.store.new_chat(assistant=self.assistant)
            details = MessageDetails(context, interrupted, meta)
            return self.store.add_message(self.chat_id, role, text, details, images)
        except (sqlite3.Error, OSError) as exc:
            log.warning("could not save the conversation: %s", exc)
            if not self._warned:
                self._warned = True
                self._warn(
                    f"This conversation could not be saved ({exc}). It goes on, but will not "
                    f"be in your history; {storage_advice(exc)}, and it will be saved again."
                )
            return None

    def forget(self) -> None:
        """A new chat begins with the next message."""
        self.chat_id = None
        self.ids = []

    def reply_meta(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """What a reply was made from, by reference: the system prompt (stored once) and the
        ids of the messages the model was given (the newest ones of the history, which ends
        with the question; `cut`: that question as shortened to fit)."""
        if self.store is None or "kept" not in record:
            return None
        try:
            system = self.store.keep_system_prompt(record["system"])
        except (sqlite3.Error, OSError):
            return None
        kept = int(record["kept"])
        meta: dict[str, Any] = {"system": system, "context": self.ids[-kept:] if kept else []}
        for key in ("cut", "last"):
            if key in record:
                meta[key] = record[key]
        return meta

    def title(self) -> str:
        if self.store is None or self.chat_id is None:
            return ""
        chat = self.store.chat(self.chat_id)
        return chat.title if chat else ""


def history_messages(stored: list[StoredMessage]) -> list[tuple[int, Message]]:
    """The LLM history of a stored chat (with each message's id): each question with its
    answer, as the model saw them. A question left unanswered (the model failed, or the app
    was closed before the reply) is left out, as the live history leaves it out."""
    out: list[tuple[int, Message]] = []
    for i, m in enumerate(stored):
        if m.role == "user":
            answered = i + 1 < len(stored) and stored[i + 1].role == "assistant"
            if answered:
                out.append((m.id, {"role": "user", "content": m.model_text}))
        elif out and out[-1][1]["role"] == "user":
            out.append((m.id, {"role": "assistant", "content": m.model_text.strip() or "…"}))
    return out
