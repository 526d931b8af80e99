"""The conversation store on real SQLite files: what is saved, found, deleted and restored,
and what happens to a file that is damaged, from a newer Parley, or from an older one."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from app.storage import schema
from app.storage.chats import DB_NAME, ChatStore, MessageDetails, make_title
from app.storage.database import connect
from app.storage.export import to_json, to_markdown
from app.vision.images import prepare_image

REPO = Path(__file__).resolve().parent.parent


def png(color: tuple[int, int, int], size: tuple[int, int] = (40, 30)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return prepare_image(buf.getvalue(), name=f"{color[0]}.png")


def test_a_chat_is_kept_message_by_message_with_its_images(tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    assert store.problem == ""
    chat = store.new_chat()
    red = png((255, 0, 0))
    q = store.add_message(
        chat, "user", "What colour is this?", MessageDetails(context="[image: red]"), images=[red]
    )
    a = store.add_message(chat, "assistant", "It is red.")
    store.close()

    again = ChatStore(tmp_path)  # another process, later: the same chat
    [summary] = again.chats()
    assert summary.title == "What colour is this?"  # named after the first question
    messages = again.messages(chat)
    assert [(m.id, m.role, m.text) for m in messages] == [
        (q, "user", "What colour is this?"),
        (a, "assistant", "It is red."),
    ]
    assert messages[0].model_text == "[image: red]" and messages[1].model_text == "It is red."
    [image] = messages[0].images
    assert (image.name, image.mime, image.width, image.height) == ("255.png", "image/png", 40, 30)
    assert again.image_bytes(image) == red.data
    # Content-addressed: the file is named by its hash, and the same image is stored once.
    files = list((tmp_path / "attachments").glob("??/*"))
    assert [f.stem for f in files] == [hashlib.sha256(red.data).hexdigest()]
    other = again.new_chat()
    again.add_message(other, "user", "And this one?", images=[red])
    assert len(list((tmp_path / "attachments").glob("??/*"))) == 1


def test_chats_are_listed_newest_activity_first_and_renamed(tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    first, second = store.new_chat(), store.new_chat()
    store.add_message(first, "user", "Old question")
    store.add_message(second, "user", "Newer question")
    assert [c.id for c in store.chats()] == [second, first]
    store.add_message(first, "assistant", "A late answer")  # activity moves it to the top
    assert [c.id for c in store.chats()] == [first, second]
    assert store.rename(first, "  My   trip  ") and store.chat(first).title == "My trip"
    store.add_message(first, "user", "Another question")  # a title, once set, stays
    assert store.chat(first).title == "My trip"
    assert store.latest_chat() == first


def test_a_long_first_question_makes_a_short_title() -> None:
    title = make_title(
        "Can you please explain to me how the photosynthesis in plants works in detail"
    )
    assert title.endswith("…") and len(title) <= 60 and " photosynthesis " in title
    assert make_title("  Why\nis the sky blue? ") == "Why is the sky blue?"


@pytest.mark.parametrize("full_text", [True, False], ids=["fts5", "like-fallback"])
def test_search_finds_words_across_chats(tmp_path: Path, full_text: bool) -> None:
    store = ChatStore(tmp_path)
    assert store.full_text  # this sqlite3 has FTS5; the fallback is the same store without it
    store.full_text = full_text
    trip = store.new_chat()
    store.add_message(trip, "user", "Plan a trip to Lisbon in May")
    store.add_message(trip, "assistant", "Lisbon in May is warm; visit the Alfama district.")
    cooking = store.new_chat()
    store.add_message(cooking, "user", "How long do I boil an egg?")
    store.add_message(cooking, "assistant", "About nine minutes for a hard-boiled egg.")

    hits = store.search("alfama")
    assert [(h.chat_id, h.title) for h in hits] == [(trip, "Plan a trip to Lisbon in May")]
    assert "Alfama" in hits[0].snippet
    assert [h.chat_id for h in store.search("lisbon warm")] == [trip]  # every word, any message
    assert [h.chat_id for h in store.search("EGG")] == [cooking]  # one hit per chat
    assert store.search("egg lisbon") == []
    assert store.search("  %_ ") == []
    # A pasted page as the search: SQLite's "Expression tree is too large" had been the answer.
    assert [h.chat_id for h in store.search("lisbon " + "warm " * 20_000)] == [trip]
    if full_text:
        assert [h.chat_id for h in store.search("boi")] == [cooking]  # word prefixes
    # A chat in the trash is not found; restored, it is.
    store.delete(cooking)
    assert store.search("egg") == []
    store.restore(cooking)
    assert [h.chat_id for h in store.search("egg")] == [cooking]


def test_deleting_one_chat_touches_no_other_and_can_be_undone(tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    keep, gone = store.new_chat(), store.new_chat()
    shared, own = png((0, 128, 0)), png((0, 0, 255))
    store.add_message(keep, "user", "Keep me", images=[shared])
    store.add_message(gone, "user", "Delete me", images=[shared, own])
    assert store.delete(gone)
    assert not store.delete(gone)  # already in the trash
    assert [c.id for c in store.chats()] == [keep]
    assert store.restore(gone) and {c.id for c in store.chats()} == {keep, gone}

    store.delete(gone)
    # Purged for good (here: everything in the trash now), but only that chat.
    os.utime(store.blobs.path(hashlib.sha256(own.data).hexdigest(), own.mime), (0, 0))
    assert store.purge_trash(older_than=time.time() + 1) == 1
    assert not store.restore(gone)
    assert [m.text for m in store.messages(keep)] == ["Keep me"]
    assert store.messages(gone) == []
    names = {f.stem for f in (tmp_path / "attachments").glob("??/*")}
    assert names == {hashlib.sha256(shared.data).hexdigest()}  # the shared image stays


def test_export_as_markdown_and_json(tmp_path: Path) -> None:
    import json

    store = ChatStore(tmp_path)
    chat = store.new_chat()
    store.add_message(chat, "user", "Hello there", images=[png((9, 9, 9))])
    store.add_message(chat, "assistant", "Hi! How can I", MessageDetails(interrupted=True))
    md = to_markdown(store, chat)
    assert md.startswith("# Hello there")
    assert "**You**" in md and "Hello there" in md and "*[image: 9.png]*" in md
    assert "Hi! How can I" in md and "*(interrupted)*" in md
    data = json.loads(to_json(store, chat))
    assert data["id"] == chat and data["title"] == "Hello there"
    assert [(m["role"], m["text"], m["interrupted"]) for m in data["messages"]] == [
        ("user", "Hello there", False),
        ("assistant", "Hi! How can I", True),
    ]
    assert data["messages"][0]["images"][0]["name"] == "9.png"


def test_a_damaged_file_is_kept_aside_and_a_fresh_history_starts(tmp_path: Path) -> None:
    garbage = b"this is not a database, but it is the user's file " * 200
    (tmp_path / DB_NAME).write_bytes(garbage)
    store = ChatStore(tmp_path)
    assert "could not be read" in store.problem and "kept" in store.problem
    [aside] = [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert str(aside) in store.problem
    assert aside.read_bytes() == garbage  # untouched
    chat = store.new_chat()  # and the new history works
    store.add_message(chat, "user", "Still here?")
    assert store.search("still")


def test_a_database_with_damaged_pages_is_kept_aside(tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    chat = store.new_chat()
    for i in range(300):
        store.add_message(chat, "user", f"message number {i} " * 20)
    store.close()
    db = tmp_path / DB_NAME
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    raw = bytearray(db.read_bytes())
    raw[8192:16384] = b"\xff" * 8192  # two pages of the messages' b-tree overwritten
    db.write_bytes(bytes(raw))
    again = ChatStore(tmp_path)
    assert again.problem and again.chats() == []
    [aside] = [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert aside.read_bytes() == bytes(raw)


def test_a_file_from_a_newer_parley_is_never_opened_for_writing(tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    store.add_message(store.new_chat(), "user", "From the future")
    store.close()
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute(f"PRAGMA user_version = {schema.VERSION + 5}")
    conn.close()
    again = ChatStore(tmp_path)
    assert "newer version of Parley" in again.problem
    [aside] = [p for p in tmp_path.iterdir() if ".newer-" in p.name and p.suffix == ".db"]
    old = sqlite3.connect(aside)
    assert old.execute("SELECT text FROM messages").fetchall() == [("From the future",)]
    assert again.chats() == []


def test_an_older_file_is_migrated_and_keeps_everything(tmp_path: Path) -> None:
    """A history written by version 1 (no search index yet) opens, keeps every message and
    finds the old ones by search."""
    conn = connect(tmp_path / DB_NAME)
    schema.migrate(conn, target=1)
    conn.execute("INSERT INTO chats (id, title, created, updated) VALUES (7, 'Old', 1, 1)")
    conn.execute(
        "INSERT INTO messages (chat_id, role, text, created) VALUES (7, 'user', 'zebra facts', 1)"
    )
    conn.close()
    store = ChatStore(tmp_path)
    assert store.problem == ""
    version = store._conn.execute("PRAGMA user_version").fetchone()[0]
    assert version == schema.VERSION
    assert [h.chat_id for h in store.search("zebra")] == [7]
    store.add_message(7, "assistant", "Zebras have stripes.")
    assert [m.text for m in store.messages(7)] == ["zebra facts", "Zebras have stripes."]


def test_a_failed_migration_leaves_the_file_as_it_was(tmp_path: Path, monkeypatch) -> None:
    conn = connect(tmp_path / DB_NAME)
    schema.migrate(conn, target=1)
    conn.close()

    def broken(c: sqlite3.Connection) -> None:
        c.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(schema, "MIGRATIONS", [schema.MIGRATIONS[0], broken])
    with pytest.raises(RuntimeError):
        schema.migrate(connect(tmp_path / DB_NAME))
    conn = connect(tmp_path / DB_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in tables


WRITER = """
import sys
from pathlib import Path
from app.storage.chats import ChatStore
store = ChatStore(Path(sys.argv[1]))
chat = store.new_chat()
i = 0
while True:
    role = "user" if i % 2 == 0 else "assistant"
    mid = store.add_message(chat, role, f"message {i} " + "words " * (i % 50))
    print(mid, flush=True)  # after the commit: this id must survive
    i += 1
"""


def test_kill_9_at_any_moment_loses_nothing_committed(tmp_path: Path) -> None:
    committed: list[int] = []
    for round_ in range(5):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        want = 40 + 37 * round_  # killed at a different point each round
        for _ in range(want):
            committed.append(int(child.stdout.readline()))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        committed += [int(line) for line in child.stdout.read().split()]
    store = ChatStore(tmp_path)
    assert store.problem == ""
    assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {r[0] for r in store._conn.execute("SELECT id FROM messages")}
    assert set(committed) <= stored
    assert len(store.chats()) == 5
    if store.full_text:
        n = store._conn.execute(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'message'"
        )
        assert n.fetchone()[0] == len(stored)  # the search index kept in step


def test_many_parleys_opening_a_new_history_at_once_all_keep_their_chat(tmp_path: Path) -> None:
    """40 `parley ask` started together on a fresh history lost chats: each read schema
    version 0 before the first had created the tables, and the others then failed with
    "table chats already exists". Here 12 openers at once, on three fresh folders."""
    import threading

    for attempt in range(3):
        folder = tmp_path / f"fresh-{attempt}"
        start, failures = threading.Barrier(12), []

        def one_parley(
            n: int,
            folder: Path = folder,
            start: threading.Barrier = start,
            failures: list[str] = failures,
        ) -> None:
            start.wait()
            try:
                store = ChatStore(folder)
                store.new_chat(title=f"question {n}")
                store.close()
            except Exception as exc:  # what the user would have been told
                failures.append(repr(exc))

        threads = [threading.Thread(target=one_parley, args=(n,)) for n in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not failures, failures
        store = ChatStore(folder)
        assert sorted(c.title for c in store.chats(limit=-1)) == sorted(
            f"question {n}" for n in range(12)
        )
        store.close()


@pytest.mark.parametrize("length", [201, 5_000, 100_000])
def test_a_title_is_kept_to_one_short_line_however_it_is_set(tmp_path: Path, length: int) -> None:
    """A pasted page as a title (rename in the window or the CLI, a new chat's title) was
    stored whole and printed whole by `chats list`; an empty one was accepted."""
    from app.storage.chats import MAX_TITLE_CHARS, TitleError

    store = ChatStore(tmp_path)
    pasted = ("Quarterly figures\nfor the north region " * (length // 30 + 1))[:length]
    made = store.new_chat(title=pasted)
    renamed = store.new_chat(title="Short")
    store.rename(renamed, pasted)
    for chat_id in (made, renamed):
        title = store.chat(chat_id).title
        assert len(title) <= MAX_TITLE_CHARS and "\n" not in title
        assert title.startswith("Quarterly figures for the north region")
    for empty in ("", "   ", "\n\t"):
        with pytest.raises(TitleError, match="can't be empty"):
            store.rename(renamed, empty)
    assert store.chat(renamed).title.startswith("Quarterly")  # the old title stays
    store.close()
