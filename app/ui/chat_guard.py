"""The chat the window shows is kept to this window (KeptChat, app/storage/chat_lock.py), so
another Parley can't write to it meanwhile: a `parley ask --continue` is refused, saying the
window has it. A chat another Parley holds (an `ask` answering in it, another window showing
it) is shown to be read: the text box is off and says why, and the chat is written to once
it is free, with what the other one added shown (a lock try every half second, never a wait
on the window's thread). Files, kept with the chat, are neither added nor removed meanwhile."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtWidgets import QLineEdit, QPushButton

from app.bus import EventBus
from app.session import Session
from app.storage.chat_lock import KeptChat
from app.ui.chat_view import ChatView
from app.ui.file_chips import FileChips


class GuardedWindow(Protocol):
    """What of the main window the guard uses (a protocol: main_window imports this module)."""

    session: Session
    bus: EventBus
    chat: ChatView
    input: QLineEdit
    send_button: QPushButton
    file_chips: FileChips

    def open_chat(self, chat_id: int) -> bool: ...

    def new_chat(self) -> None: ...


ANSWERING = (
    "This conversation is answering a question from another Parley (`parley ask`). You can "
    "read it now, and write in it once that answer is in: it shows here by itself."
)
SHOWN_ELSEWHERE = (
    "This conversation is open in another Parley window, which writes to it. You can read it "
    "here; to write in it, switch that window to another chat or close it, or start a New chat."
)
FREE = "The other Parley is done with this conversation: you can write in it now."
WAITING = "Read only: another Parley is writing in this conversation"


class ChatGuard:
    def __init__(self, window: GuardedWindow) -> None:
        self.window = window
        store = window.session.store
        locks = store.locks if store is not None else None
        self.kept = KeptChat(locks, window.bus.loop, self._free) if locks else None
        self._placeholder = window.input.placeholderText()

    def show(self, chat_id: int | None) -> None:
        """The window now shows `chat_id` (None: a new chat)."""
        if self.kept is None:
            return
        writable = self.kept.show(chat_id)
        self._writable(writable)
        if not writable:
            self.window.chat.add("notice", self._why())

    def refuses(self) -> bool:
        """Whether the chat shown may not be written to now (said, if so)."""
        if self.kept is None or not self.kept.busy:
            return False
        self.window.chat.add("notice", self._why())
        return True

    def _why(self) -> str:
        elsewhere = self.kept is not None and self.kept.held_by_window()
        return SHOWN_ELSEWHERE if elsewhere else ANSWERING

    def _writable(self, yes: bool) -> None:
        self.window.input.setEnabled(yes)
        self.window.send_button.setEnabled(yes)
        self.window.input.setPlaceholderText(self._placeholder if yes else WAITING)
        self.window.file_chips.setEnabled(yes)  # removing a file writes to the chat

    def _free(self, chat_id: int) -> None:
        """The other Parley let the chat go: show it again as it is now, and write to it."""
        if self.window.open_chat(chat_id):
            self.window.chat.add("notice", FREE)
        else:  # deleted meanwhile
            self.window.new_chat()

    def close(self) -> None:
        if self.kept is not None:
            self.kept.close()
