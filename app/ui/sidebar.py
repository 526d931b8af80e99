"""The conversation list beside the chat: newest first, search (Ctrl+K), rename, export,
delete with undo.

The list is a lazy model: it reads a page of chats at a time as the user scrolls, so it
shows at once with ten thousand of them (bench/history.py measures it).
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.storage.chat_search import SearchHit
from app.storage.chats import ChatStore, ChatSummary

PAGE = 100
UNDO_SECONDS = 10.0
ChatIdRole = Qt.ItemDataRole.UserRole + 1
_Index = QModelIndex | QPersistentModelIndex


def _when(ts: float) -> str:
    now = time.time()
    if now - ts < 86400 and time.localtime(ts).tm_mday == time.localtime(now).tm_mday:
        return time.strftime("%H:%M", time.localtime(ts))
    return time.strftime("%d %b", time.localtime(ts))


class ChatListModel(QAbstractListModel):
    """All chats (a page at a time) or the hits of a search."""

    def __init__(self, store: ChatStore) -> None:
        super().__init__()
        self.store = store
        self.rows: list[ChatSummary | SearchHit] = []
        self._more = True
        self.query = ""

    def reload(self, query: str = "") -> None:
        self.beginResetModel()
        self.query = query.strip()
        if self.query:
            self.rows, self._more = list(self.store.search(self.query)), False
        else:
            self.rows = list(self.store.chats(limit=PAGE))
            self._more = len(self.rows) == PAGE
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802 (Qt API)
        return 0 if parent.isValid() else len(self.rows)

    def canFetchMore(self, parent: _Index) -> bool:  # noqa: N802 (Qt API)
        return not parent.isValid() and self._more

    def fetchMore(self, parent: _Index) -> None:  # noqa: N802 (Qt API)
        more = self.store.chats(limit=PAGE, offset=len(self.rows))
        self._more = len(more) == PAGE
        if more:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(more) - 1)
            self.rows.extend(more)
            self.endInsertRows()

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        chat_id = row.chat_id if isinstance(row, SearchHit) else row.id
        if role == ChatIdRole:
            return chat_id
        if role == Qt.ItemDataRole.DisplayRole:
            title = row.title or "Untitled chat"
            if isinstance(row, SearchHit) and row.message_id is not None:
                return f"{title}\n{row.snippet}"
            return f"{title}\n{_when(row.updated)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.title
        return None

    def row_of(self, chat_id: int) -> int:
        for i, row in enumerate(self.rows):
            if (row.chat_id if isinstance(row, SearchHit) else row.id) == chat_id:
                return i
        return -1


class _RowDelegate(QStyledItemDelegate):
    """Rows as wide as the list, whatever the title: each line is elided to fit. The row's
    own width hint would be its longest line's, and one long title gave every row a
    sideways scrollbar."""

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:  # noqa: N802
        return QSize(1, super().sizeHint(option, index).height())


class Sidebar(QWidget):
    open_requested = Signal(int)
    deleted = Signal(int)  # the chat went to the trash (the window leaves it if open)

    def __init__(self, store: ChatStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.store = store
        self.current: int | None = None
        self.search = QLineEdit()
        self.search.setObjectName("chatSearch")
        self.search.setPlaceholderText("Search chats (Ctrl+K)")
        self.search.setClearButtonEnabled(True)
        # Reached with Tab or Ctrl+K; never the first focus (the window gives that to the
        # conversation): Space held at start-up must talk, not type into the search.
        self.model = ChatListModel(store)
        self.list = QListView()
        self.list.setObjectName("chatList")
        self.list.setModel(self.model)
        self.list.setWordWrap(False)  # a title and a time (or a match), one line each
        self.list.setUniformItemSizes(True)  # layout of 10,000 rows without measuring each
        self.list.setItemDelegate(_RowDelegate(self.list))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.activated.connect(self._activated)
        self.list.clicked.connect(self._activated)
        self.empty = QLabel("No conversations yet.\nWhat you say is kept here.")
        self.empty.setObjectName("sidebarEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.undo_bar = QWidget()
        self.undo_label = QLabel()
        self.undo_label.setWordWrap(True)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setObjectName("undoDelete")
        self.undo_button.clicked.connect(self.undo_delete)
        undo_row = QHBoxLayout(self.undo_bar)
        undo_row.setContentsMargins(0, 0, 0, 0)
        undo_row.addWidget(self.undo_label, 1)
        undo_row.addWidget(self.undo_button)
        self.undo_bar.hide()
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.timeout.connect(self.undo_bar.hide)
        self._last_deleted: int | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 0, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.undo_bar)
        # Searching as one types, but not a query per keystroke.
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(120)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        delete = QShortcut(QKeySequence.StandardKey.Delete, self.list)
        delete.activated.connect(self._delete_selected)
        self.refresh()

    # --- what the window calls -----------------------------------------------------------

    def refresh(self) -> None:
        self.model.reload(self.search.text())
        searching = bool(self.model.query)
        self.empty.setVisible(not self.model.rows and not searching)
        self.list.setVisible(bool(self.model.rows) or searching)
        self._select(self.current)

    def focus_search(self) -> None:
        self.show()
        self.search.setFocus()
        self.search.selectAll()

    def set_current(self, chat_id: int | None) -> None:
        self.current = chat_id
        self._select(chat_id)

    def delete(self, chat_id: int) -> None:
        chat = self.store.chat(chat_id)
        if chat is None or not self.store.delete(chat_id):
            return
        self._last_deleted = chat_id
        self.undo_label.setText(f"Deleted “{chat.title or 'Untitled chat'}”.")
        self.undo_bar.show()
        self._undo_timer.start(int(UNDO_SECONDS * 1000))
        self.deleted.emit(chat_id)
        self.refresh()

    def undo_delete(self) -> None:
        if self._last_deleted is not None and self.store.restore(self._last_deleted):
            self._last_deleted = None
            self.undo_bar.hide()
            self.refresh()

    def rename(self, chat_id: int) -> None:
        chat = self.store.chat(chat_id)
        if chat is None:
            return
        title, ok = QInputDialog.getText(self, "Rename chat", "Title:", text=chat.title)
        if ok and title.strip():
            self.store.rename(chat_id, title)
            self.refresh()

    def export(self, chat_id: int, fmt: str) -> str:
        """Ask where, then write; returns the path written ('' if cancelled)."""
        from app.storage.export import to_json, to_markdown

        chat = self.store.chat(chat_id)
        if chat is None:
            return ""
        safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in chat.title)[:40]
        suffix, kind = (".md", "Markdown (*.md)") if fmt == "md" else (".json", "JSON (*.json)")
        path, _ = QFileDialog.getSaveFileName(
            self, "Export chat", (safe.strip() or "chat") + suffix, kind
        )
        if not path:
            return ""
        text = to_markdown(self.store, chat_id) if fmt == "md" else to_json(self.store, chat_id)
        with open(path, "w", encoding="utf-8") as fh:  # the dialog asked before replacing
            fh.write(text + "\n")
        return path

    # --- internals -----------------------------------------------------------------------

    def _select(self, chat_id: int | None) -> None:
        row = -1 if chat_id is None else self.model.row_of(chat_id)
        if row < 0:
            self.list.clearSelection()
            return
        self.list.setCurrentIndex(self.model.index(row))

    def _activated(self, index: QModelIndex) -> None:
        chat_id = index.data(ChatIdRole)
        if chat_id is not None and chat_id != self.current:
            self.open_requested.emit(int(chat_id))

    def _delete_selected(self) -> None:
        index = self.list.currentIndex()
        if index.isValid():
            self.delete(int(index.data(ChatIdRole)))

    def _menu(self, pos: Any) -> None:
        index = self.list.indexAt(pos)
        if not index.isValid():
            return
        chat_id = int(index.data(ChatIdRole))
        menu = QMenu(self)
        actions: list[tuple[str, Any]] = [
            ("Rename…", lambda: self.rename(chat_id)),
            ("Export as Markdown…", lambda: self.export(chat_id, "md")),
            ("Export as JSON…", lambda: self.export(chat_id, "json")),
            ("Delete", lambda: self.delete(chat_id)),
        ]
        for label, slot in actions:
            action = QAction(label, menu)
            action.triggered.connect(slot)
            menu.addAction(action)
        menu.exec(self.list.viewport().mapToGlobal(pos))
