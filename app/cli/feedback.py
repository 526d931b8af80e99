"""`parley rate` and `parley export-dataset`: feedback on replies, and the training data it
makes (see app/storage/dataset.py and docs/fine-tuning.md)."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from app.config import Settings
from app.safety.output_path import output_problem, write_failure
from app.storage.database import StoreUnavailable, history_failed
from app.storage.dataset import FORMATS


def add_feedback_parsers(sub: Any) -> None:
    rate = sub.add_parser("rate", help="thumbs up or down on a reply, maybe with a correction")
    rate.add_argument(
        "message_id", type=int, metavar="MESSAGE_ID", help="the reply's id (`parley chats show ID`)"
    )
    rate.add_argument("rating", choices=("up", "down", "clear"))
    rate.add_argument("--correction", metavar="TEXT", help="what the reply should have said")
    export = sub.add_parser("export-dataset", help="rated replies as JSONL for fine-tuning")
    export.add_argument("output", metavar="OUT.jsonl")
    export.add_argument("--format", choices=FORMATS, default="sft")
    export.add_argument("--force", action="store_true", help="replace an existing file")


def _fail(message: str, code: int = 1) -> int:
    print(f"parley: {message}", file=sys.stderr)
    return code


def run_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli.chats import open_store

    if args.command == "export-dataset":
        out = Path(args.output)
        problem = output_problem(out, "the dataset")  # first: --force can't make a folder a file
        if problem:
            return _fail(problem, 2)
        if out.exists() and not args.force:
            return _fail(f"{out} already exists; choose another name, or add --force.", 2)
    try:
        store = open_store()
    except StoreUnavailable as exc:
        return _fail(str(exc))
    try:
        if args.command == "rate":
            value = {"up": 1, "down": -1, "clear": 0}[args.rating]
            try:
                store.rate(args.message_id, value, args.correction)
            except KeyError:
                return _fail(
                    f"There is no reply {args.message_id}; `parley chats show ID` lists a "
                    "chat's messages with their ids.",
                    2,
                )
            extra = " with your correction" if args.correction else ""
            print(f"Rated reply {args.message_id} {args.rating}{extra}.")
            return 0
        from app.storage.dataset import export_dataset

        secrets = (settings.llm_api_key, os.environ.get("PARLEY_LLM_API_KEY", ""))
        try:
            result = export_dataset(store, Path(args.output), args.format, secrets)
        except OSError as exc:
            return _fail(write_failure(Path(args.output), exc, "the dataset"))
        print(
            f"Wrote {result.rows} {args.format} rows to {args.output} from {result.rated} "
            f"rated replies"
            + (
                f" ({result.skipped} saved before prompts were kept, left out)"
                if result.skipped
                else ""
            )
            + "."
        )
        return 0
    except sqlite3.Error as exc:  # locked by another program since it opened, a full disk
        return _fail(history_failed(exc))
    finally:
        store.close()
