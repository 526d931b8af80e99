"""Record: each exchange into the history the model sees and the store the user sees.

The question goes in when the model is about to answer it; the reply when the turn ends, as far
as it was heard (what was cut off by a barge-in was never said, as far as the model is
concerned), with what it was made from (ChatLog.reply_meta) and its hidden reasoning. A turn
that fails takes its question back out: an unanswered question is no exchange. Each message
stored is announced (ChatSaved), so the window can list the chat. Which chat is being had, and
which assistant answers it, are kept here too.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from app.bus import EventBus
from app.bus.events import ChatSaved
from app.config import Settings
from app.pipeline.chat_files import ChatFiles
from app.pipeline.chat_log import ChatLog, history_messages
from app.pipeline.history import History
from app.pipeline.turn import Turn
from app.storage.assistants import Assistant, AssistantError, Assistants
from app.storage.chats import Role, StoredMessage


class Record:
    def __init__(
        self,
        bus: EventBus,
        history: History,
        chat: ChatLog,
        documents: ChatFiles,
        settings: Settings,
    ) -> None:
        self.bus = bus
        self.history = history
        self.chat = chat
        self.documents = documents
        self.settings = settings
        self.assistant: Assistant | None = None  # None: the built-in Parley

    def use_assistant(self, assistant: Assistant | None) -> None:
        """Who answers the chats started from now on (None: the built-in Parley, with the
        instructions in Settings)."""
        self.assistant = assistant
        self.history.system_prompt = (
            self.settings.system_prompt if assistant is None else assistant.instructions
        )
        self.chat.assistant = None if assistant is None else (assistant.id, assistant.revision)
        self.documents.use_assistant(assistant)

    def new_chat(self) -> None:
        """A new chat begins with the next message; the old one stays in the store."""
        self.history.clear()
        self.documents.clear()
        self.chat.forget()
        # A new chat gets the chosen assistant as it is now (an old chat may have been
        # answered by an older revision, or by one since removed).
        current = self.assistant
        if current is not None and self.chat.store is not None:
            try:
                latest = Assistants(self.chat.store).get_by_id(current.id)
            except AssistantError:
                latest = None
            self.use_assistant(None if latest is None or latest.builtin else latest)

    def stored(self, chat_id: int) -> list[StoredMessage] | None:
        """A stored chat's messages (None: no such chat, or no store)."""
        store = self.chat.store
        if store is None or store.chat(chat_id) is None:
            return None
        return store.messages(chat_id)

    def go_on_with(self, chat_id: int, stored: list[StoredMessage]) -> None:
        """The stored chat's questions and answers become the history, as the model saw them."""
        store = self.chat.store
        assert store is not None  # (see stored)
        self.history.clear()
        # The revision that answered it goes on answering it, however it was edited since.
        recorded = store.chat_assistant(chat_id)
        self.use_assistant(Assistants(store).revision(*recorded) if recorded else None)
        kept = history_messages(stored)
        self.history.messages.extend(m for _, m in kept)
        self.chat.chat_id = chat_id
        self.chat.ids = [i for i, _ in kept]
        self.documents.restore(chat_id)

    def question(self, turn: Turn, shown: str, history_text: str) -> None:
        """The user's message: `shown` as they wrote it, `history_text` as the model reads it."""
        self.history.add_user(history_text)
        turn.in_history = True
        self.chat.ids.append(self._save(turn, "user", shown, history_text, images=turn.images))

    def reply(self, turn: Turn, spoken: str, interrupted: bool) -> None:
        """The reply as far as it was heard (`spoken`), if its question is in the history."""
        if not turn.in_history:
            return
        # What the user heard is what the assistant said, as far as the model is concerned.
        self.history.add_assistant(spoken.strip() or "…")
        meta = self.chat.reply_meta(turn.trace.record)
        notes = turn.notes()
        if notes and meta is not None:
            meta["reasoning"] = notes  # kept apart: never in the text, the history or data
        if turn.unheard:
            meta = {**(meta or {}), "unheard": True}
        reply_id = self._save(
            turn, "assistant", spoken.strip() or "…", interrupted=interrupted, meta=meta
        )
        self.chat.ids.append(reply_id)

    def unanswered(self, turn: Turn) -> None:
        """The turn failed: its question leaves the history (the store keeps it, unanswered,
        and leaves it out when the chat is opened again)."""
        if not turn.in_history:
            return
        turn.in_history = False
        if self.history.messages and self.history.messages[-1]["role"] == "user":
            self.history.messages.pop()
            if self.chat.ids:
                self.chat.ids.pop()

    def _save(
        self, turn: Turn, role: Role, text: str, context: str | None = None, **kw: Any
    ) -> int | None:
        new = self.chat.chat_id is None
        if new and self.assistant is None and self.chat.store is not None:
            try:  # the built-in Parley's revision for the instructions it answers with
                parley = Assistants(self.chat.store).builtin(self.history.system_prompt)
                self.chat.assistant = (parley.id, parley.revision)
            except sqlite3.Error:
                self.chat.assistant = None
        message_id = self.chat.save(role, text, context, **kw)
        if new and self.chat.chat_id is not None:
            self.documents.chat_started()
        if message_id is not None and self.chat.chat_id is not None:
            title = self.chat.title() if new or role == "user" else ""
            self.bus.publish(
                ChatSaved(
                    turn_id=turn.id,
                    chat_id=self.chat.chat_id,
                    message_id=message_id,
                    role=role,
                    title=title,
                )
            )
        return message_id
