"""The options that say which conversation a command writes to, the same for `ask` and
`listen`; and `listen`'s parser, kept apart from listen.py, which imports the whole sound
and model stack: every `parley` command builds its parser at start, and a Ctrl-C during
numpy's import there became an ImportError traceback."""

from __future__ import annotations

import argparse
from typing import Any


def add_history_options(parser: argparse.ArgumentParser, chat: bool = False) -> None:
    """--continue and --no-save (and, with `chat`, --chat ID), one of them at most."""
    which = parser.add_mutually_exclusive_group()
    if chat:
        which.add_argument(
            "--chat", type=int, metavar="ID", help="go on with this saved conversation"
        )
    which.add_argument(
        "--continue",
        dest="continue_chat",
        action="store_true",
        help="go on with the most recent conversation",
    )
    which.add_argument("--no-save", action="store_true", help="keep this one out of the history")


def add_listen_parser(sub: Any) -> argparse.ArgumentParser:
    listen = sub.add_parser(
        "listen", help="talk hands-free on the default microphone and speaker (no key)"
    )
    listen.add_argument("--json", action="store_true", help="print one JSON object per event")
    add_history_options(listen)
    listen.add_argument(
        "--no-echo-cancel",
        action="store_true",
        help="don't cancel the speaker's echo: Parley then does not listen while it speaks",
    )
    return listen
