"""The documents a conversation answers from: the ones attached to this chat and the chosen
assistant's knowledge, kept in the store so a reopened chat (or any chat with that assistant)
has them again.

Storing and restoring go through the store off the GUI thread's hot path: a restored
document is re-chunked and re-indexed on a worker (a 300-page PDF's text takes a fraction of
a second), and a turn asked meanwhile waits for it (`ready`) rather than answering without.
Saving never stops a conversation: a failure is said once, and the file stays attached for
this session.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from app.bus.worker import Worker
from app.knowledge.context import AttachedFile
from app.knowledge.extract import Document
from app.pipeline.chat_log import ChatLog
from app.storage.assistants import Assistant, AssistantError, Assistants

log = logging.getLogger(__name__)


class ChatFiles:
    def __init__(
        self,
        log_: ChatLog,
        worker: Callable[[], Worker],
        warn: Callable[[str], None],
        restored: Callable[[list[AttachedFile]], None],
    ) -> None:
        self.chat = log_
        self.files: list[AttachedFile] = []  # attached to this chat
        self.knowledge: list[AttachedFile] = []  # the assistant's
        self._worker = worker
        self._warn = warn
        self._restored = restored  # told the chat's files once they are back (for chips)
        self._loads: set[asyncio.Future[Any]] = set()
        self._warned = False

    @property
    def all(self) -> list[AttachedFile]:
        """What the model is given: the assistant's knowledge, then the chat's own files (one
        of the same name replaces the assistant's)."""
        own = {f.name for f in self.files}
        return [f for f in self.knowledge if f.name not in own] + self.files

    async def ready(self) -> None:
        """Wait for documents still being restored."""
        if self._loads:
            await asyncio.gather(*list(self._loads), return_exceptions=True)

    # --- this chat's files -------------------------------------------------------------------

    def attach(self, file: AttachedFile) -> None:
        self.files = [f for f in self.files if f.name != file.name] + [file]
        if self.chat.chat_id is not None:
            self._store(self.chat.chat_id, [file])

    def detach(self, name: str) -> None:
        self.files = [f for f in self.files if f.name != name]
        store, chat_id = self.chat.store, self.chat.chat_id
        if store is not None and chat_id is not None:
            try:
                store.remove_chat_file(chat_id, name)
            except (sqlite3.Error, OSError) as exc:
                self._failed(exc)

    def chat_started(self) -> None:
        """The chat was just created in the store (its first message): keep its files."""
        if self.chat.chat_id is not None and self.files:
            self._store(self.chat.chat_id, self.files)

    def clear(self) -> None:
        self.files = []

    def restore(self, chat_id: int) -> None:
        """Bring back the files stored with `chat_id` (the chat just opened)."""
        self.files = []
        store = self.chat.store
        if store is None:
            return
        try:
            entries = store.chat_files(chat_id)
        except sqlite3.Error as exc:
            self._failed(exc)
            return
        if not entries:
            return

        def load() -> tuple[list[AttachedFile], list[str]]:
            files, missing = [], []
            for entry in entries:
                doc = store.document(entry)
                if doc is None:
                    missing.append(entry.name)
                else:
                    files.append(AttachedFile.prepare(doc))
            return files, missing

        async def back() -> None:
            files, missing = await self._worker().run(load)
            if self.chat.chat_id != chat_id:
                return  # another chat was opened meanwhile
            names = {f.name for f in self.files}  # attached while these were loading
            self.files = [f for f in files if f.name not in names] + self.files
            self._restored(files)
            if missing:
                self._warn(
                    f"The text of {', '.join(missing)} could not be read back from the history "
                    "folder, so this chat answers without it; attach the file again."
                )

        self._start(back())

    # --- the assistant's knowledge -----------------------------------------------------------

    def use_assistant(self, assistant: Assistant | None) -> None:
        self.knowledge = []
        store = self.chat.store
        if assistant is None or not assistant.knowledge or store is None:
            return

        def load() -> list[AttachedFile]:
            docs: list[Document] = Assistants(store).knowledge(assistant)
            return [AttachedFile.prepare(d) for d in docs]

        async def back() -> None:
            try:
                files = await self._worker().run(load)
            except AssistantError as exc:
                self._warn(str(exc))
                return
            if self.chat.assistant == (assistant.id, assistant.revision):
                self.knowledge = files

        self._start(back())

    # --- internals ---------------------------------------------------------------------------

    def _start(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._loads.add(task)
        task.add_done_callback(self._loads.discard)

    def _store(self, chat_id: int, files: list[AttachedFile]) -> None:
        store = self.chat.store
        if store is None:
            return
        try:
            for file in files:
                store.add_chat_file(chat_id, file.doc)
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        log.warning("could not keep the chat's files: %s", exc)
        if not self._warned:
            self._warned = True
            self._warn(
                f"The attached files could not be saved with this chat ({exc}). They are used "
                "for now, but reopening the chat later will not bring them back."
            )
