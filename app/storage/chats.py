"""The conversation store: chats, one row per message, attachments, search, and a trash.

Every method commits before it returns (one short transaction each), so what a method has
stored survives the process being killed right after. Deleting puts a chat in the trash,
where it can be restored until `purge_trash` removes it for good (the window purges chats
deleted more than a day ago when it starts).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from app.knowledge.extract import Document
from app.storage import documents
from app.storage.blobs import BlobStore
from app.storage.chat_lock import ChatLocks
from app.storage.chat_search import ChatSearch
from app.storage.database import open_database
from app.storage.documents import StoredFile

DB_NAME = "conversations.db"
TRASH_SECONDS = 24 * 3600
TITLE_CHARS = 60
# The longest title kept, however it is set (rename in the window or `parley chats rename`,
# a new chat's title): `chats list` prints one line per chat, not a pasted page.
MAX_TITLE_CHARS = 200


class TitleError(ValueError):
    """A title the store refuses (an empty one), in words for the user."""


def bounded_title(title: str) -> str:
    """`title` on one line and at most MAX_TITLE_CHARS long (cut with an ellipsis)."""
    text = " ".join(title.split())
    if len(text) <= MAX_TITLE_CHARS:
        return text
    return text[: MAX_TITLE_CHARS - 1].rstrip() + "…"


Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class ChatSummary:
    id: int
    title: str
    created: float
    updated: float


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    name: str
    mime: str
    size: int
    width: int | None
    height: int | None


@dataclass(frozen=True)
class StoredMessage:
    id: int
    chat_id: int
    role: Role
    text: str
    context: str | None
    interrupted: bool
    created: float
    meta: dict[str, Any]
    images: tuple[StoredImage, ...] = ()

    @property
    def model_text(self) -> str:
        """What the model saw: the context where it differs from what was shown."""
        return self.text if self.context is None else self.context


class MessageDetails(NamedTuple):
    """What is kept with a message besides its text: `context`, what the model was given
    when it differs (an image's reading, a file's passages); `interrupted`, a reply cut by
    the user; `meta`, what the reply was made from (feedback data, reasoning, unheard)."""

    context: str | None = None
    interrupted: bool = False
    meta: dict[str, Any] | None = None


def make_title(question: str) -> str:
    """A chat's title from its first question: one line, at most TITLE_CHARS, cut at a word."""
    text = " ".join(question.split())
    if len(text) <= TITLE_CHARS:
        return text or "New chat"
    cut = text[: TITLE_CHARS - 1]
    if " " in cut[TITLE_CHARS // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


class ChatStore(ChatSearch):
    def __init__(self, data_dir: Path) -> None:
        opened = open_database(data_dir / DB_NAME)
        self._conn = opened.conn
        self.problem = opened.problem  # a damaged or newer file was kept aside (see Opened)
        self.path = data_dir / DB_NAME
        self.blobs = BlobStore(data_dir / "attachments")
        self._lock = threading.RLock()
        # Set by a writer that shares the history with other processes (`parley ask`): each
        # chat it starts is held from its creation (chat_lock.py).
        self.locks: ChatLocks | None = None
        row = self._conn.execute("SELECT value FROM store_info WHERE key = 'search'").fetchone()
        self.full_text = row is not None and row[0] == "fts5"

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            if self.locks is not None:
                self.locks.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:  # SQLite itself rolls back on a full disk
                    self._conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    # --- chats ---------------------------------------------------------------------------

    def new_chat(self, title: str = "", assistant: tuple[int, int] | None = None) -> int:
        """A new chat, answered by `assistant` (its id and revision) if given."""
        now = time.time()
        who, revision = assistant or (None, None)
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO chats (title, created, updated, assistant_id, assistant_revision) "
                "VALUES (?, ?, ?, ?, ?)",
                (bounded_title(title), now, now, who, revision),
            )
            chat_id = int(cur.lastrowid or 0)
            if self.locks is not None:  # before the commit makes it the latest chat
                self.locks.claim(chat_id)
            return chat_id

    def chat_assistant(self, chat_id: int) -> tuple[int, int] | None:
        """The assistant (id, revision) that answers this chat; None: the built-in one."""
        rows = self._read(
            "SELECT assistant_id, assistant_revision FROM chats WHERE id = ?", (chat_id,)
        )
        if not rows or rows[0][0] is None:
            return None
        return int(rows[0][0]), int(rows[0][1])

    def keep_system_prompt(self, text: str) -> str:
        """Store a system prompt once; its sha256, which replies refer to."""
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO system_prompts VALUES (?, ?)", (digest, text))
        return digest

    def system_prompt(self, digest: str) -> str | None:
        rows = self._read("SELECT text FROM system_prompts WHERE sha256 = ?", (digest,))
        return rows[0][0] if rows else None

    # --- feedback ------------------------------------------------------------------------

    def rate(self, message_id: int, rating: int, correction: str | None = None) -> None:
        """Thumbs up (1), down (-1) or cleared (0) on a reply, with an optional correction
        (what it should have said). Raises KeyError for anything but a stored reply."""
        rows = self._read("SELECT role FROM messages WHERE id = ?", (message_id,))
        if not rows or rows[0][0] != "assistant":
            raise KeyError(message_id)
        correction = correction.strip() if correction else None
        with self._write() as db:
            db.execute(
                "INSERT INTO ratings (message_id, rating, correction, updated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (message_id) DO UPDATE SET rating = excluded.rating, "
                "correction = coalesce(excluded.correction, ratings.correction), "
                "updated = excluded.updated",
                (message_id, rating, correction or None, time.time()),
            )

    def rating(self, message_id: int) -> tuple[int, str | None] | None:
        rows = self._read(
            "SELECT rating, correction FROM ratings WHERE message_id = ?", (message_id,)
        )
        return (int(rows[0][0]), rows[0][1]) if rows else None

    def chats(self, limit: int = -1, offset: int = 0) -> list[ChatSummary]:
        """Chats not in the trash, the most recently used first."""
        rows = self._read(
            "SELECT id, title, created, updated FROM chats WHERE deleted IS NULL "
            "ORDER BY updated DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [ChatSummary(r["id"], r["title"], r["created"], r["updated"]) for r in rows]

    def chat(self, chat_id: int) -> ChatSummary | None:
        rows = self._read(
            "SELECT id, title, created, updated FROM chats WHERE id = ? AND deleted IS NULL",
            (chat_id,),
        )
        return ChatSummary(*tuple(rows[0])) if rows else None

    def latest_chat(self) -> int | None:
        chats = self.chats(limit=1)
        return chats[0].id if chats else None

    def rename(self, chat_id: int, title: str) -> bool:
        """Give the chat a new title (TitleError for an empty one); False if there is none."""
        title = bounded_title(title)
        if not title:
            raise TitleError("A conversation's title can't be empty; give it at least a word.")
        with self._write() as db:
            cur = db.execute(
                "UPDATE chats SET title = ? WHERE id = ? AND deleted IS NULL", (title, chat_id)
            )
            return cur.rowcount > 0

    def delete(self, chat_id: int) -> bool:
        """Into the trash (restore brings it back); only this one chat, nothing else."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE chats SET deleted = ? WHERE id = ? AND deleted IS NULL",
                (time.time(), chat_id),
            )
            return cur.rowcount > 0

    def restore(self, chat_id: int) -> bool:
        with self._write() as db:
            cur = db.execute(
                "UPDATE chats SET deleted = NULL WHERE id = ? AND deleted IS NOT NULL", (chat_id,)
            )
            return cur.rowcount > 0

    def purge_trash(self, older_than: float | None = None) -> int:
        """Remove for good the chats deleted before `older_than` (default: a day ago), their
        messages, and the attachment files nothing refers to any more."""
        cutoff = time.time() - TRASH_SECONDS if older_than is None else older_than
        with self._write() as db:
            n = db.execute(
                "DELETE FROM chats WHERE deleted IS NOT NULL AND deleted < ?", (cutoff,)
            ).rowcount
        if n:
            self.blobs.remove_unreferenced(self._referenced(), older_than=time.time() - 3600)
        return n

    def _referenced(self) -> set[str]:
        """Every stored file some row refers to: images, chats' documents, and the knowledge
        of every assistant revision (old chats go on with the revision that answered them)."""
        used = {r[0] for r in self._read("SELECT DISTINCT sha256 FROM attachments")}
        used |= {r[0] for r in self._read("SELECT DISTINCT sha256 FROM chat_files")}
        for (knowledge,) in self._read("SELECT knowledge FROM assistant_revisions"):
            try:
                used |= {str(f["sha256"]) for f in json.loads(knowledge or "[]")}
            except (ValueError, TypeError, KeyError):
                continue
        return used

    # --- documents -----------------------------------------------------------------------

    def keep_document(self, doc: Document) -> StoredFile:
        """Store a document's text (once, by content) and return its entry."""
        digest = self.blobs.put(documents.to_bytes(doc), documents.MIME)
        return StoredFile(doc.name, digest, doc.kind, doc.chars)

    def document(self, entry: StoredFile) -> Document | None:
        """The stored document, or None when its file is gone or damaged."""
        data = self.blobs.get(entry.sha256, documents.MIME)
        if data is None:
            return None
        try:
            return documents.from_bytes(data)
        except ValueError:
            return None

    def add_chat_file(self, chat_id: int, doc: Document) -> StoredFile:
        """Attach `doc` to the chat (replacing one of the same name)."""
        entry = self.keep_document(doc)
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO chat_files (chat_id, name, sha256, kind, chars, added) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (chat_id, entry.name, entry.sha256, entry.kind, entry.chars, time.time()),
            )
        return entry

    def remove_chat_file(self, chat_id: int, name: str) -> bool:
        with self._write() as db:
            cur = db.execute(
                "DELETE FROM chat_files WHERE chat_id = ? AND name = ?", (chat_id, name)
            )
            return cur.rowcount > 0

    def chat_files(self, chat_id: int) -> list[StoredFile]:
        rows = self._read(
            "SELECT name, sha256, kind, chars FROM chat_files WHERE chat_id = ? ORDER BY added",
            (chat_id,),
        )
        return [StoredFile(r["name"], r["sha256"], r["kind"], r["chars"]) for r in rows]

    # --- messages ------------------------------------------------------------------------

    def add_message(
        self,
        chat_id: int,
        role: Role,
        text: str,
        details: MessageDetails | None = None,
        images: Iterable[Any] = (),
    ) -> int:
        """Store one message (and its images, PreparedImage-like: data, mime, name, width,
        height), and make it the chat's latest activity. The first user message names an
        untitled chat."""
        context, interrupted, meta = details or MessageDetails()
        stored = [
            (self.blobs.put(img.data, img.mime), img) for img in images
        ]  # files first: a row never points at a file that is not there
        now = time.time()
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO messages (chat_id, role, text, context, interrupted, created, meta)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    chat_id,
                    role,
                    text,
                    None if context == text else context,
                    int(interrupted),
                    now,
                    json.dumps(meta) if meta else None,
                ),
            )
            message_id = int(cur.lastrowid or 0)
            for digest, img in stored:
                db.execute(
                    "INSERT INTO attachments (message_id, sha256, name, mime, size, width, height)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        message_id,
                        digest,
                        img.name or "image",
                        img.mime,
                        len(img.data),
                        getattr(img, "width", None),
                        getattr(img, "height", None),
                    ),
                )
            db.execute("UPDATE chats SET updated = ? WHERE id = ?", (now, chat_id))
            if role == "user":
                db.execute(
                    "UPDATE chats SET title = ? WHERE id = ? AND title = ''",
                    (make_title(text), chat_id),
                )
        return message_id

    def messages(self, chat_id: int) -> list[StoredMessage]:
        rows = self._read("SELECT * FROM messages WHERE chat_id = ? ORDER BY id", (chat_id,))
        images: dict[int, list[StoredImage]] = {}
        for a in self._read(
            "SELECT a.* FROM attachments a JOIN messages m ON m.id = a.message_id "
            "WHERE m.chat_id = ? ORDER BY a.id",
            (chat_id,),
        ):
            images.setdefault(a["message_id"], []).append(
                StoredImage(a["sha256"], a["name"], a["mime"], a["size"], a["width"], a["height"])
            )
        return [
            StoredMessage(
                r["id"],
                r["chat_id"],
                r["role"],
                r["text"],
                r["context"],
                bool(r["interrupted"]),
                r["created"],
                json.loads(r["meta"]) if r["meta"] else {},
                tuple(images.get(r["id"], ())),
            )
            for r in rows
        ]

    def image_bytes(self, image: StoredImage) -> bytes | None:
        return self.blobs.get(image.sha256, image.mime)
