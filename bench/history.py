"""The conversation history at scale: a store of 10,000 conversations / 250,000 messages,
and how fast the window's sidebar shows and search answers on it.

Builds the store (synthetic chats: Zipf-distributed words from a 6,000-word vocabulary,
8-60 words a message, 25 messages a chat), then measures, each as a median (and p95) of
repeated runs in this one process:

  open            ChatStore() on the big file (integrity check and migrations included)
  sidebar         the real Sidebar widget built and shown offscreen with its first page
  refresh         the sidebar re-read after a message was saved (what each turn costs)
  search          23 queries (common and rare words, prefixes, two words, no match)
  save            one message committed (add_message)
  size            the file's bytes per 1,000 messages

    .venv/bin/python bench/history.py [--chats 10000] [--per-chat 25] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.storage.chats import DB_NAME, ChatStore  # noqa: E402

QUERIES = [
    "the",
    "water",
    "lisbon",
    "recipe",
    "zebra",
    "quantum",
    "mount",
    "pho",
    "tra",
    "capital france",
    "boil egg",
    "how long",
    "meeting notes",
    "xylophone",
    "nonexistentword",
    "weather tomorrow",
    "python code",
    "birthday",
    "gar",
    "music history",
]


def words(n: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """`n` words of text, and the vocabulary (most frequent first)."""
    base = [
        "the",
        "a",
        "is",
        "to",
        "of",
        "and",
        "in",
        "what",
        "how",
        "you",
        "it",
        "for",
        "can",
        "water",
        "lisbon",
        "recipe",
        "zebra",
        "quantum",
        "mountain",
        "photo",
        "train",
        "travel",
        "capital",
        "france",
        "boil",
        "egg",
        "long",
        "meeting",
        "notes",
        "weather",
        "tomorrow",
        "python",
        "code",
        "birthday",
        "garden",
        "music",
        "history",
        "xylophone",
    ]
    vocab = base + [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 10)))
        for _ in range(6000 - len(base))
    ]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    return rng.choices(vocab, weights, k=n), vocab


def build(folder: Path, chats: int, per_chat: int) -> tuple[float, list[str]]:
    """Build the store; the seconds it took and a few rare words of its text."""
    rng = random.Random(7)
    pool, vocab = words(2_000_000, rng)
    store = ChatStore(folder)
    db = store._conn
    started = time.monotonic()
    at = 0
    now = time.time() - chats * 600
    db.execute("BEGIN")
    for c in range(chats):
        created = now + c * 600
        title = " ".join(pool[at : at + 6]).capitalize()
        cur = db.execute(
            "INSERT INTO chats (title, created, updated) VALUES (?, ?, ?)",
            (title, created, created + per_chat * 20),
        )
        chat_id = cur.lastrowid
        rows = []
        for m in range(per_chat):
            n = rng.randint(8, 60)
            if at + n >= len(pool):
                at = 0
            text = " ".join(pool[at : at + n]).capitalize() + "."
            at += n
            rows.append((chat_id, "user" if m % 2 == 0 else "assistant", text, created + m * 20))
        db.executemany(
            "INSERT INTO messages (chat_id, role, text, created) VALUES (?, ?, ?, ?)", rows
        )
        if c % 1000 == 999:
            db.execute("COMMIT")
            db.execute("BEGIN")
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return time.monotonic() - started, [vocab[2000], vocab[4000], vocab[5990]]


def figures(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def timed(fn, repeat: int) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--per-chat", type=int, default=25)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="parley-history-bench-"))
    build_s, rare = build(folder, args.chats, args.per_chat)
    messages = args.chats * args.per_chat
    size = (folder / DB_NAME).stat().st_size
    result: dict = {
        "chats": args.chats,
        "messages": messages,
        "build_s": round(build_s, 1),
        "bytes_per_1000_messages": round(size / messages * 1000),
        "file_mb": round(size / 1e6, 1),
    }
    result["open"] = figures(timed(lambda: ChatStore(folder).close(), 5))

    from PySide6.QtWidgets import QApplication

    from app.ui.sidebar import Sidebar

    app = QApplication.instance() or QApplication([])
    store = ChatStore(folder)
    result["full_text"] = store.full_text

    def show_sidebar() -> None:
        bar = Sidebar(store)
        bar.resize(240, 700)
        bar.show()
        app.processEvents()
        assert bar.model.rowCount() > 0
        bar.close()
        bar.deleteLater()

    result["sidebar_shown"] = figures(timed(show_sidebar, 15))
    bar = Sidebar(store)
    bar.resize(240, 700)
    bar.show()
    app.processEvents()
    latest = store.latest_chat() or 1

    def refresh() -> None:
        bar.refresh()
        app.processEvents()

    result["sidebar_refresh"] = figures(timed(refresh, 15))
    per_query: dict[str, dict[str, float]] = {}
    all_runs: list[float] = []
    for query in QUERIES + rare:
        runs = timed(lambda q=query: store.search(q), 5)
        per_query[query] = {"median_ms": round(statistics.median(runs) * 1000, 2)}
        per_query[query]["hits"] = len(store.search(query))
        all_runs += runs
    result["search"] = figures(all_runs)
    result["search_per_query"] = per_query
    result["save"] = figures(
        timed(lambda: store.add_message(latest, "user", "One more question about lisbon?"), 50)
    )
    store.close()
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
