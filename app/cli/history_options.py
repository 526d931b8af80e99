"""The options that say which conversation a command writes to, the same for `ask` and
`listen`."""

from __future__ import annotations

import argparse


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
