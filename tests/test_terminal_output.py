"""What Parley prints that came from outside can't drive the terminal: escape sequences in a
chat's title or messages, a file name, a remote server's reply or error, a command-line
argument reach it spelled out (`\\u001b`), never raw; and output piped into a reader that
stops early ends quietly. All through the real `parley` command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.storage.chats import ChatStore
from tests.realtools import PARLEY, REPO, parley
from tests.remote_servers import ScriptedServer

# What a terminal would obey: C0 but tab and newline, DEL, C1, bidirectional controls.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
WINDOW_TITLE = "\x1b]0;you have been pwned\x07"
CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"  # OSC 52: set the clipboard
CLEAR = "\x1b[2J\x1b[H"
C1_CSI = "\x9b31m"  # an 8-bit CSI: red, on terminals that take C1 controls
REVERSED = "\u202etxt.exe"  # a right-to-left override: shows as "exe.txt"


def history() -> Path:
    return Path(os.environ["PARLEY_HISTORY_DIR"])


def assert_safe(text: str) -> None:
    raw = sorted({hex(ord(c)) for c in RAW.findall(text)})
    assert not raw, f"raw control characters {raw} reached the terminal: {text!r}"


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.stop()


def test_printable_spells_out_what_a_terminal_would_obey() -> None:
    from app.safety.terminal import printable

    for bad in (WINDOW_TITLE, CLIPBOARD, CLEAR, C1_CSI, REVERSED, "a\rb", "bell\x07", "\x7f"):
        shown = printable(bad)
        assert_safe(shown)
        assert json.loads(f'"{shown}"') == bad  # each spelling is the JSON escape of itself
    kept = "Grüße, 你好 👋🏽 — tab\tand\nnewline"
    assert printable(kept) == kept


def test_a_chats_title_and_messages_cannot_drive_the_terminal() -> None:
    store = ChatStore(history())
    try:
        title = f"Budget {WINDOW_TITLE}2027{C1_CSI}"
        chat = store.new_chat(title=title)
        store.add_message(chat, "user", f"What is in {REVERSED}?{CLIPBOARD}")
        store.add_message(chat, "assistant", f"Nothing much.{CLEAR} Budget lines{C1_CSI}.")
    finally:
        store.close()
    for args in (("chats", "list"), ("chats", "show", str(chat)), ("chats", "search", "budget")):
        run = parley(*args, timeout=60)
        assert run.returncode == 0, run.stderr
        assert_safe(run.stdout + run.stderr)
        assert "\\u001b]0;you have been pwned\\u0007" in run.stdout  # shown, not lost
    shown = parley("chats", "show", str(chat), "--json", timeout=60)
    assert_safe(shown.stdout)
    data = json.loads(shown.stdout)  # still JSON, and the very text that was stored
    assert data["title"] == title
    assert [m["text"] for m in data["messages"]][0].endswith(CLIPBOARD)


def test_a_file_name_in_an_error_cannot_drive_the_terminal(tmp_path: Path) -> None:
    bad = tmp_path / f"minutes{CLEAR}{WINDOW_TITLE}.heic"
    bad.write_bytes(b"\x00\x00\x00\x18ftypheic")
    run = parley("ask", "--no-save", "--text", "Summarise it.", "--file", str(bad), timeout=60)
    assert run.returncode == 2, run.stderr
    assert_safe(run.stderr)
    assert "minutes\\u001b[2J" in run.stderr
    # An argument argparse refuses is shown the same way.
    run = parley("chats", "show", f"7{CLIPBOARD}", timeout=60)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert_safe(run.stderr)


def test_a_remote_servers_reply_and_error_cannot_drive_the_terminal(
    scripted: ScriptedServer,
) -> None:
    scripted.script.pieces = ["Paris", CLIPBOARD, " is the capital", f"{C1_CSI}.{REVERSED}"]
    url = f"{scripted.url}/v1"
    run = parley("ask", "--no-save", "--no-tools", "--llm-url", url, "--text", "Capital of France?")
    assert run.returncode == 0, run.stderr
    assert_safe(run.stdout + run.stderr)
    assert "Paris\\u001b]52;c;" in run.stdout and "is the capital" in run.stdout
    scripted.script.status = 500
    scripted.script.error_body = f"overloaded{WINDOW_TITLE}{CLEAR}".encode()
    run = parley("ask", "--no-save", "--no-tools", "--llm-url", url, "--text", "And Spain?")
    assert run.returncode == 1
    assert_safe(run.stderr)
    assert "overloaded\\u001b]0;" in run.stderr


@pytest.mark.parametrize("args", [("models", "list"), ("chats", "list", "--json")])
def test_output_into_a_reader_that_stopped_ends_quietly(args: tuple[str, ...]) -> None:
    """`parley models list | head -1`: the reader is gone before Parley writes (its end of
    the pipe closed at once), which is what head does after its line."""
    read, write = os.pipe()
    os.close(read)
    cmd = [str(PARLEY)] if PARLEY.exists() else [sys.executable, "-m", "app"]
    run = subprocess.run(
        [*cmd, *args], stdout=write, stderr=subprocess.PIPE, text=True, timeout=60, cwd=REPO
    )
    os.close(write)
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr, run.stderr
    assert run.stderr == ""
    assert run.returncode == 141  # as a shell reports a command whose reader went away
