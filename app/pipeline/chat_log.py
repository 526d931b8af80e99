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
from app.storage.chats import ChatStore, Role, StoredMessage

log = logging.getLogger(__name__)


class ChatLog:
    def __init__(self, store: ChatStore | None, warn: Callable[[str], None]) -> None:
        self.store = store
        self.chat_id: int | None = None
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
                self.chat_id = self.store.new_chat()
            return self.store.add_message(
                self.chat_id, role, text, context, interrupted, images, meta
            )
        except (sqlite3.Error, OSError) as exc:
            log.warning("could not save the conversation: %s", exc)
            if not self._warned:
                self._warned = True
                self._warn(
                    f"This conversation could not be saved ({exc}). It goes on, but will not "
                    "be in your history; free some disk space and it will be saved again."
                )
            return None

    def title(self) -> str:
        if self.store is None or self.chat_id is None:
            return ""
        chat = self.store.chat(self.chat_id)
        return chat.title if chat else ""


def history_messages(stored: list[StoredMessage]) -> list[Message]:
    """The LLM history of a stored chat: each question with its answer, as the model saw
    them. A question left unanswered (the model failed, or the app was closed before the
    reply) is left out, as the live history leaves it out."""
    out: list[Message] = []
    for i, m in enumerate(stored):
        if m.role == "user":
            answered = i + 1 < len(stored) and stored[i + 1].role == "assistant"
            if answered:
                out.append({"role": "user", "content": m.model_text})
        elif out and out[-1]["role"] == "user":
            out.append({"role": "assistant", "content": m.model_text.strip() or "…"})
    return out
