"""`parley assistants list|show|add|edit|remove|add-file|remove-file|export|import`: personas
with their own instructions, voice, model and documents they know."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from app.config import Settings
from app.safety.input_path import special_file
from app.storage.assistants import AssistantError, Assistants, read_export
from app.storage.database import StoreUnavailable, history_failed


def add_assistants_parser(sub: Any) -> None:
    p = sub.add_parser("assistants", help="assistants (personas): instructions, voice, model")
    cmd = p.add_subparsers(dest="assistants_command", required=True)
    listing = cmd.add_parser("list", help="all assistants")
    listing.add_argument("--json", action="store_true")
    show = cmd.add_parser("show", help="one assistant")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    add = cmd.add_parser("add", help="a new assistant")
    add.add_argument("name")
    add.add_argument("--instructions", required=True, help="who it is and how it answers")
    add.add_argument("--voice", default="", metavar="ONNX", help="its own piper voice")
    add.add_argument("--model", default="", metavar="GGUF", help="its own local model")
    edit = cmd.add_parser("edit", help="change an assistant (old chats keep the old one)")
    edit.add_argument("name")
    edit.add_argument("--name", dest="new_name", help="a new name")
    edit.add_argument("--instructions")
    edit.add_argument("--voice", metavar="ONNX", help='its own voice ("" for the usual one)')
    edit.add_argument("--model", metavar="GGUF", help='its own model ("" for the usual one)')
    remove = cmd.add_parser("remove", help="remove an assistant (its chats stay)")
    remove.add_argument("name")
    learn = cmd.add_parser("add-file", help="a document the assistant answers from, every chat")
    learn.add_argument("name")
    learn.add_argument("files", nargs="+", metavar="FILE", help="text, Markdown, PDF, code...")
    forget = cmd.add_parser("remove-file", help="a document the assistant should no longer know")
    forget.add_argument("name")
    forget.add_argument("file", metavar="FILE_NAME")
    export = cmd.add_parser("export", help="write an assistant as JSON, to share or keep")
    export.add_argument("name")
    export.add_argument("-o", "--output", metavar="FILE")
    export.add_argument("--force", action="store_true", help="replace an existing FILE")
    imp = cmd.add_parser("import", help="add an assistant from an exported JSON file")
    imp.add_argument("file")


def _fail(message: str, code: int = 1) -> int:
    print(f"parley: {message}", file=sys.stderr)
    return code


def run_assistants(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli.chats import open_store

    try:
        store = open_store()
    except StoreUnavailable as exc:
        return _fail(str(exc))
    try:
        assistants = Assistants(store)
        assistants.builtin(settings.system_prompt)  # Parley is always there, as in Settings
        return _run(assistants, args)
    except AssistantError as exc:
        return _fail(str(exc), 2)
    except sqlite3.Error as exc:  # locked by another program since it opened, a full disk
        return _fail(history_failed(exc))
    finally:
        store.close()


def _describe(a: Any) -> str:
    lines = [f"{a.name} (revision {a.revision}{', built in' if a.builtin else ''})"]
    lines.append(f"  voice: {a.voice or 'the usual one'}")
    lines.append(f"  model: {a.model or 'the usual one'}")
    if a.knowledge:
        lines.append(
            "  knows: " + ", ".join(f"{f.name} ({f.chars:,} characters)" for f in a.knowledge)
        )
    lines.append("  instructions:")
    lines += [f"    {line}" for line in a.instructions.splitlines()]
    return "\n".join(lines)


def _add_files(assistants: Assistants, name: str, paths: list[Path]) -> int:
    """Read every file first: one that can't be read adds none of them."""
    from app.knowledge.extract import FileError
    from app.pipeline.file_reader import read_attached

    assistants.get(name)  # an unknown name fails before any file is read
    try:
        files = [read_attached(path) for path in paths]
    except FileError as exc:
        return _fail(str(exc), 2)
    for file in files:
        a = assistants.add_knowledge(name, file.doc)
        print(f"{a.name} now knows {file.name} ({file.doc.chars:,} characters).")
        for notice in file.doc.notices:
            print(f"  {notice}")
    return 0


def _run(assistants: Assistants, args: argparse.Namespace) -> int:
    command = args.assistants_command
    if command == "list":
        items = assistants.list()
        if args.json:
            print(json.dumps([a.to_json() | {"revision": a.revision} for a in items]))
        for a in [] if args.json else items:
            extra = "  (built in)" if a.builtin else ""
            print(f"{a.name}{extra}: {a.instructions.splitlines()[0][:70]}")
        return 0
    if command == "show":
        a = assistants.get(args.name)
        print(json.dumps(a.to_json() | {"revision": a.revision}) if args.json else _describe(a))
        return 0
    if command == "add":
        a = assistants.add(args.name, args.instructions, args.voice, args.model)
        print(f"Added {a.name}. `parley ask --assistant {json.dumps(a.name)}` talks to it.")
        return 0
    if command == "edit":
        changes = {
            "name": args.new_name,
            "instructions": args.instructions,
            "voice": args.voice,
            "model": args.model,
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return _fail("Nothing to change: give --name, --instructions, --voice or --model.", 2)
        a = assistants.edit(args.name, **changes)
        print(f"{a.name} is now at revision {a.revision}; its earlier chats keep what they had.")
        return 0
    if command == "remove":
        a = assistants.remove(args.name)
        print(f"Removed {a.name}. Its chats stay, answered as they were.")
        return 0
    if command == "add-file":
        return _add_files(assistants, args.name, [Path(f) for f in args.files])
    if command == "remove-file":
        a = assistants.remove_knowledge(args.name, args.file)
        print(f"{a.name} no longer knows {args.file} (revision {a.revision}).")
        return 0
    if command == "export":
        from app.cli.chats import write_out

        data = assistants.export(assistants.get(args.name))
        return write_out(json.dumps(data, indent=2, ensure_ascii=False), args.output, args.force)
    path = Path(args.file)
    special = special_file(path, "an assistant file")
    if special:
        return _fail(special, 2)
    a = assistants.import_json(read_export(path))
    print(f"Imported {a.name}.")
    return 0
