"""The window's chat-list part: the conversation list (Chats, search, New chat, opening a saved
chat), who answers (the assistant box) and what the user thinks of a reply (rate, correct).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import QComboBox, QInputDialog, QPushButton

from app.pipeline.assistant_choice import EngineChoice, engine_choice
from app.session import Session
from app.storage.assistants import Assistant, AssistantError, Assistants
from app.storage.database import storage_advice
from app.ui.assistant_dialog import AssistantDialog
from app.ui.attachments import THUMB, pixmap_from_png, qimage_to_png
from app.ui.chat_guard import ChatGuard
from app.ui.chat_view import Bubble, ChatView
from app.ui.conversation import UNHEARD
from app.ui.file_chips import FileChips
from app.ui.sidebar import Sidebar

log = logging.getLogger(__name__)


class ChatListPart:
    """Mixed into MainWindow (a QMainWindow): `_build_chat_list()` makes New chat, Chats, the
    conversation list and the assistant box; the rest open, start and rate chats."""

    _EDIT = "Edit assistants…"

    # Made by the window's other parts:
    session: Session
    chat: ChatView
    guard: ChatGuard
    file_chips: FileChips
    _pending_bubbles: list[Bubble]
    stop: Callable[[], None]

    def _build_chat_list(self) -> None:
        self.new_chat_button = QPushButton("New chat")
        self.new_chat_button.setObjectName("newChatButton")
        self.new_chat_button.clicked.connect(self.new_chat)
        self.sidebar: Sidebar | None = None
        self.chats_button = QPushButton("Chats")
        self.chats_button.setObjectName("chatsButton")
        self.chats_button.setCheckable(True)
        self.chats_button.setToolTip("Show or hide your conversations (Ctrl+K searches them)")
        self._sidebar_auto = True  # shown or hidden by the window's width until the user says
        store = self.session.store
        if store is not None:
            self.sidebar = Sidebar(store)
            self.sidebar.open_requested.connect(self.open_chat)
            self.sidebar.deleted.connect(self._on_chat_deleted)
            self.chats_button.setChecked(True)
            self.chats_button.toggled.connect(self._toggle_sidebar)
            QShortcut(QKeySequence("Ctrl+K"), self, activated=self._search_chats)  # type: ignore[call-overload]
        else:
            self.chats_button.setEnabled(False)
            self.chats_button.setToolTip("The conversation history could not be opened")
        QShortcut(QKeySequence("Ctrl+N"), self, activated=self.new_chat)  # type: ignore[call-overload]
        self.assistant_box = QComboBox()
        self.assistant_box.setObjectName("assistantBox")
        self.assistant_box.setToolTip("Who answers: a new chat starts with the one you choose")
        self._overrides: dict[str, dict[str, Any]] = {}  # an assistant's own voice / model
        if store is not None:
            self.assistants = Assistants(store)
            self._fill_assistants()
            self.assistant_box.activated.connect(self._assistant_chosen)

    # --- the conversation list ---------------------------------------------------------------

    def new_chat(self) -> None:
        self.stop()
        self.session.turns.reset()
        self.chat.clear()
        self.file_chips.clear()
        self._pending_bubbles.clear()
        self.guard.show(None)
        if self.sidebar is not None:
            self.sidebar.set_current(None)

    def open_chat(self, chat_id: int) -> bool:
        """Show a saved chat and go on with it: its bubbles, its images, its context."""
        store = self.session.store
        if store is None or store.chat(chat_id) is None:
            return False
        self.stop()
        messages = self.session.turns.open_chat(chat_id)
        self.chat.clear()
        self.file_chips.clear()  # the chat's own files come back with FilesRestored
        self._pending_bubbles.clear()
        for m in messages:
            text = m.text + ("\n\n*— interrupted*" if m.interrupted else "")
            bubble = self.chat.add(m.role, text)
            if m.meta.get("unheard"):
                bubble.add_note(UNHEARD).setObjectName("unheard")
            if m.role == "assistant" and m.meta.get("reasoning"):
                bubble.add_reasoning(m.meta["reasoning"])
            if m.role == "assistant":
                rated = store.rating(m.id)
                bubble.enable_feedback(m.id, rated[0] if rated else 0, self._rate, self._correct)
            thumbs = [store.image_bytes(img) for img in m.images]
            if any(thumbs):
                bubble.add_images([self._thumbnail(t) for t in thumbs if t])
        if self.sidebar is not None:
            self.sidebar.set_current(chat_id)
        self.guard.show(chat_id)
        self._apply_engines(self.session.turns.assistant)
        self._fill_assistants()
        return True

    @staticmethod
    def _thumbnail(data: bytes) -> bytes:
        """A stored image fitted into the bubble's thumbnail box (PNG bytes)."""
        side = THUMB * 2
        small = pixmap_from_png(data).scaled(
            side,
            side,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        return qimage_to_png(small.toImage())

    def _on_chat_deleted(self, chat_id: int) -> None:
        if self.session.turns.chat.chat_id == chat_id:
            self.new_chat()

    def _search_chats(self) -> None:
        if self.sidebar is not None:
            self._sidebar_auto = False
            self.chats_button.setChecked(True)
            self.sidebar.focus_search()

    def _toggle_sidebar(self, shown: bool) -> None:
        if self.sidebar is not None:
            self._sidebar_auto = False
            self.sidebar.setVisible(shown)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        # Narrow, the chat gets the whole width; the Chats button still opens the list.
        if self.sidebar is not None and self._sidebar_auto:
            wide = event.size().width() >= 640
            self.sidebar.setVisible(wide)
            self.chats_button.blockSignals(True)
            self.chats_button.setChecked(wide)
            self.chats_button.blockSignals(False)
        super().resizeEvent(event)  # type: ignore[misc]

    # --- assistants --------------------------------------------------------------------------

    def _fill_assistants(self) -> None:
        self.assistant_box.blockSignals(True)
        self.assistant_box.clear()
        try:
            self.assistants.builtin(self.session.settings.system_prompt)
            names = [a.name for a in self.assistants.list()]
        except (AssistantError, OSError) as exc:
            log.warning("assistants: %s", exc)
            names = ["Parley"]
        self.assistant_box.addItems(names)
        self.assistant_box.insertSeparator(len(names))
        self.assistant_box.addItem(self._EDIT)
        current = self.session.turns.assistant
        name = current.name if current is not None and not current.builtin else names[0]
        self.assistant_box.setCurrentIndex(max(0, self.assistant_box.findText(name)))
        self.assistant_box.blockSignals(False)

    def _assistant_chosen(self, index: int) -> None:
        text = self.assistant_box.itemText(index)
        if text == self._EDIT:
            self.edit_assistants()
            return
        self.choose_assistant(text)

    def choose_assistant(self, name: str) -> Assistant | None:
        """A new chat, answered by `name` (with its own voice and model, where they exist)."""
        try:
            chosen = self.assistants.get(name)
        except AssistantError as exc:
            self.chat.add("error", str(exc))
            return None
        wanted = None if chosen.builtin else chosen
        if self.session.turns.chat.chat_id is not None or self.chat.bubbles:
            self.new_chat()
        self.session.turns.use_assistant(wanted)
        self._apply_engines(wanted)
        self._fill_assistants()
        return chosen

    def _apply_engines(self, assistant: Assistant | None) -> None:
        """Load the assistant's own voice and model, or go back to the user's."""
        choice = engine_choice(assistant) if assistant is not None else EngineChoice()
        for notice in choice.notices:
            self.chat.add("notice", notice)
        for name, changes in (("tts", choice.tts), ("llm", choice.llm)):
            if changes == self._overrides.get(name, {}):
                continue
            self._overrides[name] = changes
            future = self.session.engines.reload(name, persist=False, **changes)  # type: ignore[arg-type]
            future.add_done_callback(lambda f: f.exception())  # a failure is said by its status

    def edit_assistants(self) -> None:
        from app.pipeline.file_reader import read_attached

        worker = self.session.engines.worker("vision")
        dialog = AssistantDialog(self.assistants, self, lambda p: worker.submit(read_attached, p))  # type: ignore[arg-type]
        dialog.exec()
        # Parley's instructions are the custom instructions in Settings.
        parley = self.assistants.list()[0]
        settings = self.session.settings
        if parley.builtin and parley.instructions != settings.system_prompt:
            settings.system_prompt = parley.instructions
            if self.session.turns.assistant is None:
                self.session.turns.history.system_prompt = parley.instructions
            try:
                settings.save()
            except OSError as exc:
                self.chat.add("error", f"Could not save the settings: {exc.strerror or exc}.")
        self._fill_assistants()

    # --- feedback on a reply -----------------------------------------------------------------

    def _rate(self, bubble: Bubble, rating: int) -> None:
        store = self.session.store
        if store is None or not bubble.message_id:
            return
        current = store.rating(bubble.message_id)
        if current is not None and current[0] == rating:
            rating = 0  # pressed again: no rating
        try:
            store.rate(bubble.message_id, rating)
        except KeyError:  # its chat was deleted meanwhile
            self.chat.add("error", "Could not save your rating: that reply is no longer saved.")
            return
        except sqlite3.Error as exc:
            self.chat.add("error", f"Could not save your rating ({exc}): {storage_advice(exc)}.")
            return
        bubble.show_rating(rating)

    def _correct(self, bubble: Bubble) -> None:
        store = self.session.store
        if store is None or not bubble.message_id:
            return
        current = store.rating(bubble.message_id)
        text, ok = QInputDialog.getMultiLineText(
            self,  # type: ignore[arg-type]
            "Correct the reply",
            "What should Parley have said? (kept with your ratings, for fine-tuning)",
            (current[1] if current and current[1] else "") or bubble.text,
        )
        if not ok or not text.strip():
            return
        try:
            store.rate(bubble.message_id, -1, text)
        except KeyError:  # its chat was deleted meanwhile
            self.chat.add("error", "Could not save your correction: that reply is no longer saved.")
            return
        except sqlite3.Error as exc:
            self.chat.add(
                "error", f"Could not save your correction ({exc}): {storage_advice(exc)}."
            )
            return
        bubble.show_rating(-1)
