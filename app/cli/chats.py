"""`parley chats list|show|search|export|rename|delete|restore`: the saved conversations."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from app.config import history_dir
from app.safety.output_path import output_problem, write_failure, write_output
from app.storage.chats import ChatStore, TitleError
from app.storage.database import StoreUnavailable, history_failed


def add_chats_parser(sub: Any) -> None:
    chats = sub.add_parser("chats", help="your saved conversations")
    cmd = chats.add_subparsers(dest="chats_command", required=True)
    listing = cmd.add_parser("list", help="newest first")
    listing.add_argument("--limit", type=int, default=50, help="how many (default 50; 0: all)")
    listing.add_argument("--json", action="store_true")
    show = cmd.add_parser("show", help="one conversation's messages")
    show.add_argument("id", type=int, metavar="ID")
    show.add_argument("--json", action="store_true")
    search = cmd.add_parser("search", help="conversations containing every word")
    search.add_argument("text")
    search.add_argument("--json", action="store_true")
    export = cmd.add_parser("export", help="write one conversation as Markdown or JSON")
    export.add_argument("id", type=int, metavar="ID")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("-o", "--output", metavar="FILE", help="write here (default: print)")
    export.add_argument("--force", action="store_true", help="replace an existing FILE")
    rename = cmd.add_parser("rename", help="give a conversation a new title")
    rename.add_argument("id", type=int, metavar="ID")
    rename.add_argument("title", metavar="TITLE")
    delete = cmd.add_parser("delete", help="move a conversation to the trash (a day to undo)")
    delete.add_argument("id", type=int, metavar="ID")
    restore = cmd.add_parser("restore", help="bring a deleted conversation back")
    restore.add_argument("id", type=int, metavar="ID")


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _fail(message: str, code: int = 1) -> int:
    print(f"parley: {message}", file=sys.stderr)
    return code


def write_out(text: str, output: str | None, force: bool) -> int:
    """Print `text`, or write it to `output`, which is never replaced without `force`."""
    if not output:
        print(text)
        return 0
    out = Path(output)
    problem = output_problem(out)  # first: --force can't make a folder a file
    if problem:
        return _fail(problem, 2)
    if out.exists() and not force:
        return _fail(f"{out} already exists; choose another name, or add --force.", 2)
    try:
        write_output(out, (text + "\n").encode("utf-8"))
    except OSError as exc:
        return _fail(write_failure(out, exc, "the chat"))
    print(f"Wrote {out}")
    return 0


def open_store() -> ChatStore:
    """The user's store; says on stderr if a damaged or newer file was kept aside."""
    store = ChatStore(history_dir())
    if store.problem:
        print(f"parley: {store.problem}", file=sys.stderr)
    return store


def run_chats(args: argparse.Namespace) -> int:
    try:
        store = open_store()
    except StoreUnavailable as exc:
        return _fail(str(exc))
    try:
        return _run(store, args)
    except sqlite3.Error as exc:  # locked by another program since it opened, a full disk
        return _fail(history_failed(exc))
    finally:
        store.close()


def _missing(chat_id: int) -> int:
    return _fail(f"There is no conversation {chat_id}; `parley chats list` shows them.", 2)


def _run(store: ChatStore, args: argparse.Namespace) -> int:
    from app.storage.export import chat_dict, to_json, to_markdown

    command = args.chats_command
    if command == "list":
        chats = store.chats(limit=args.limit or -1)
        if args.json:
            print(json.dumps([c.__dict__ for c in chats], ensure_ascii=False))
        elif not chats:
            print("No saved conversations yet.")
        for c in [] if args.json else chats:
            print(f"{c.id:6d}  {_when(c.updated)}  {c.title}")
        return 0
    if command == "search":
        hits = store.search(args.text)
        if args.json:
            print(json.dumps([h.__dict__ for h in hits], ensure_ascii=False))
        elif not hits:
            shown = args.text if len(args.text) <= 80 else args.text[:77] + "…"
            print(f"Nothing found for {shown!r}.")
        for h in [] if args.json else hits:
            print(f"{h.chat_id:6d}  {_when(h.updated)}  {h.title}\n        {h.snippet}")
        return 0
    chat = store.chat(args.id) if command != "restore" else None
    if command != "restore" and chat is None:
        return _missing(args.id)
    if command == "show":
        assert chat is not None
        messages = store.messages(args.id)
        if args.json:
            print(json.dumps(chat_dict(chat, messages), ensure_ascii=False))
            return 0
        print(f"# {chat.title}  ({_when(chat.created)})")
        for m in messages:
            who = "You" if m.role == "user" else "Parley"
            extra = "".join(f" [image: {i.name}]" for i in m.images)
            cut = " (interrupted)" if m.interrupted else ""
            cut += " (not spoken)" if m.meta.get("unheard") else ""
            print(f"\n[{m.id}] {who}{cut}:{extra}\n{m.text}")
        return 0
    if command == "export":
        text = to_markdown(store, args.id) if args.format == "md" else to_json(store, args.id)
        return write_out(text, args.output, args.force)
    if command == "rename":
        try:
            store.rename(args.id, args.title)
        except TitleError as exc:
            return _fail(str(exc), 2)
        print(f"Renamed conversation {args.id}.")
        return 0
    if command == "delete":
        assert chat is not None
        store.delete(args.id)
        print(
            f"Moved {chat.title!r} to the trash. `parley chats restore {args.id}` brings it "
            "back within a day."
        )
        return 0
    if store.restore(args.id):
        print(f"Restored conversation {args.id}.")
        return 0
    return _fail(f"Conversation {args.id} is not in the trash.", 2)
