"""The database schema as numbered migrations; `PRAGMA user_version` says which have run.

A migration is appended, never edited: a user's file made by an older Parley is brought up to
date step by step, and a file from a newer Parley (a higher version than the last one here) is
never opened for writing (see database.open_database).

Full-text search uses FTS5 where this sqlite3 build has it. The index is an external-content
table kept in step by triggers, so a message is stored once and searching 250,000 of them
does not scan them all. Where FTS5 is missing, migration 2 records that and search falls back
to LIKE (slower, still correct).
"""

from __future__ import annotations

import sqlite3

# 1: conversations, one row per message, attachments as content-addressed files.
_V1 = """
CREATE TABLE chats (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    deleted REAL  -- in the trash since then (undo is possible); NULL: not deleted
);
CREATE INDEX chats_by_update ON chats (updated DESC) WHERE deleted IS NULL;
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    text TEXT NOT NULL,  -- as the user saw it
    context TEXT,  -- as the model saw it, where different (an image's OCR reading); NULL: text
    interrupted INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    meta TEXT  -- JSON: timings and the like
);
CREATE INDEX messages_by_chat ON messages (chat_id, id);
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    size INTEGER NOT NULL,
    width INTEGER,
    height INTEGER
);
CREATE INDEX attachments_by_message ON attachments (message_id);
CREATE INDEX attachments_by_hash ON attachments (sha256);
"""

# 2: full-text search over messages (and whatever was stored before, backfilled).
_V2_FTS = """
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
"""
_V2_COMMON = """
CREATE TABLE store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


# 3: assistants (every edit a new revision, so a chat records exactly what answered it),
# feedback on replies, and the system prompts replies were made with (stored once each).
_V3 = """
CREATE TABLE assistants (
    id INTEGER PRIMARY KEY,
    revision INTEGER NOT NULL DEFAULT 1,  -- the latest
    builtin INTEGER NOT NULL DEFAULT 0,
    removed REAL  -- removed then; its revisions stay for the chats that used them
);
CREATE TABLE assistant_revisions (
    assistant_id INTEGER NOT NULL REFERENCES assistants (id),
    revision INTEGER NOT NULL,
    name TEXT NOT NULL,
    instructions TEXT NOT NULL,
    voice TEXT NOT NULL DEFAULT '',  -- a piper .onnx; '' = the voice in Settings
    model TEXT NOT NULL DEFAULT '',  -- a .gguf; '' = the model in Settings
    knowledge TEXT NOT NULL DEFAULT '[]',  -- JSON list of files (the files issue)
    created REAL NOT NULL,
    PRIMARY KEY (assistant_id, revision)
);
ALTER TABLE chats ADD COLUMN assistant_id INTEGER REFERENCES assistants (id);
ALTER TABLE chats ADD COLUMN assistant_revision INTEGER;
CREATE TABLE ratings (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 0, 1)),
    correction TEXT,
    updated REAL NOT NULL
);
CREATE TABLE system_prompts (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL);
"""


# 4: documents attached to a chat (their text is stored as a content-addressed file).
_V4 = """
CREATE TABLE chat_files (
    chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    chars INTEGER NOT NULL,
    added REAL NOT NULL,
    PRIMARY KEY (chat_id, name)
);
"""


def has_fts5(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.fts5_probe USING fts5 (x)")
        conn.execute("DROP TABLE temp.fts5_probe")
        return True
    except sqlite3.OperationalError:
        return False


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run each statement of `script` inside the current transaction (executescript would
    commit it first, so a migration failing half-way would leave half a schema)."""
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        # complete_statement knows the semicolons inside a trigger's BEGIN ... END.
        if sqlite3.complete_statement(current):
            conn.execute(current)
            current = ""
    if current.strip():
        conn.execute(current)


def _v1(conn: sqlite3.Connection) -> None:
    run_script(conn, _V1)


def _v2(conn: sqlite3.Connection) -> None:
    run_script(conn, _V2_COMMON)
    fts = has_fts5(conn)
    if fts:
        run_script(conn, _V2_FTS)
    conn.execute("INSERT INTO store_info VALUES ('search', ?)", ("fts5" if fts else "like",))


def _v3(conn: sqlite3.Connection) -> None:
    run_script(conn, _V3)


def _v4(conn: sqlite3.Connection) -> None:
    run_script(conn, _V4)


MIGRATIONS = [_v1, _v2, _v3, _v4]  # MIGRATIONS[n - 1] takes a file from version n - 1 to n
VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, target: int = VERSION) -> None:
    """Run the migrations after the file's version up to `target`, each in one transaction.
    `conn` must be in autocommit mode (isolation_level=None): the transactions are ours.
    The version is read again inside each write transaction: several Parleys opening a new
    history at once (40 `parley ask` in a loop) each saw version 0 before the first one
    created the tables, and the later ones failed with "table chats already exists"."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= target:
        return  # the usual case: nothing to do, no write lock taken
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current >= target:  # another process migrated it while we waited
                conn.execute("COMMIT")
                return
            MIGRATIONS[current](conn)
            conn.execute(f"PRAGMA user_version = {current + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
