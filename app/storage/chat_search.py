"""Finding chats by words: in titles, then in messages (SQLite full-text search where this
SQLite has FTS5, else LIKE), newest first, one hit per chat."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Generator, Iterable
from contextlib import closing
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SearchHit:
    chat_id: int
    title: str
    updated: float
    message_id: int | None  # None: the title matched
    snippet: str


MAX_WORDS = 32  # a search is a few words; a longer one keeps its first 32 different words


class ChatSearch:
    """ChatStore's search (ChatStore provides the connection, its lock and `_read`)."""

    _conn: sqlite3.Connection
    _lock: threading.RLock
    full_text: bool

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError

    def search(self, text: str, limit: int = 50) -> list[SearchHit]:
        """Chats whose title or messages contain every word of `text` (word prefixes, any
        case and accents with full-text search), newest first, one hit per chat."""
        # Every distinct word, up to MAX_WORDS: a pasted page as the search had failed with
        # SQLite's "Expression tree is too large" and advice about folder permissions.
        words = list(dict.fromkeys(re.findall(r"\w+", text.lower())))[:MAX_WORDS]
        if not words:
            return []
        hits: dict[int, SearchHit] = {}
        like = [f"%{_escape_like(w)}%" for w in words]
        title_sql = " AND ".join(["title LIKE ? ESCAPE '\\'"] * len(words))
        for r in self._read(
            f"SELECT id, title, updated FROM chats WHERE deleted IS NULL AND {title_sql} "
            "ORDER BY updated DESC LIMIT ?",
            (*like, limit),
        ):
            hits[r["id"]] = SearchHit(r["id"], r["title"], r["updated"], None, r["title"])
        if len(hits) < limit:
            with closing(self._message_hits(words, like)) as found:  # ends the read at once
                for hit in found:
                    if hit.chat_id not in hits:
                        hits[hit.chat_id] = hit
                        if len(hits) >= limit:
                            break
        return sorted(hits.values(), key=lambda h: h.updated, reverse=True)

    def _message_hits(self, words: list[str], like: list[str]) -> Generator[SearchHit, None, None]:
        """Matching messages, newest first, read lazily (the caller stops at its limit)."""
        if self.full_text:
            query = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
            sql = (
                "SELECT m.id, m.chat_id, c.title, c.updated, "
                "snippet(messages_fts, 0, '[', ']', '…', 12) AS snip "
                "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
                "JOIN chats c ON c.id = m.chat_id "
                "WHERE messages_fts MATCH ? AND c.deleted IS NULL "
                "ORDER BY messages_fts.rowid DESC"
            )
            params: tuple[Any, ...] = (query,)
        else:
            text_sql = " AND ".join(["m.text LIKE ? ESCAPE '\\'"] * len(words))
            sql = (
                "SELECT m.id, m.chat_id, c.title, c.updated, m.text AS snip FROM messages m "
                f"JOIN chats c ON c.id = m.chat_id WHERE c.deleted IS NULL AND {text_sql} "
                "ORDER BY m.id DESC"
            )
            params = tuple(like)
        with self._lock:
            cursor = self._conn.execute(sql, params)
            try:
                while rows := cursor.fetchmany(64):
                    for r in rows:
                        snip = r["snip"] if self.full_text else _snippet(r["snip"], words)
                        yield SearchHit(r["chat_id"], r["title"], r["updated"], r["id"], snip)
            finally:
                cursor.close()


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _snippet(text: str, words: list[str], width: int = 80) -> str:
    at = text.lower().find(words[0])
    start = max(0, at - width // 3)
    out = text[start : start + width]
    return ("…" if start else "") + out + ("…" if start + width < len(text) else "")
