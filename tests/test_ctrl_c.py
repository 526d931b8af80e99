"""Ctrl-C from outside, as a user presses it: the real `parley ask` process sent SIGINT while
the local model writes a long reply, and while a server on 127.0.0.1 trickles one; the real
window sent SIGINT. One press stops at once, says so in one line and exits with 130 (what
shells expect of a command stopped by Ctrl-C), and what was said so far stays in the
history."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.realtools import PARLEY
from tests.remote_servers import ScriptedServer

STOPPED = "parley: Stopped (Ctrl-C)."


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    cmd = [str(PARLEY)] if PARLEY.exists() else [sys.executable, "-m", "app"]
    return subprocess.Popen(
        [*cmd, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _wait_for(what: Callable[[], bool], proc: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"parley ended first ({proc.returncode}): {err}{out}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("parley never got there")
        time.sleep(0.1)


def _messages(env: dict[str, str]) -> list[tuple[str, str, int]]:
    db = Path(env["PARLEY_HISTORY_DIR"]) / "conversations.db"
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute(
                "SELECT role, text, interrupted FROM messages ORDER BY id"
            ).fetchall()
    except sqlite3.Error:  # not created yet
        return []


def _ctrl_c(proc: subprocess.Popen[str], within: float) -> tuple[str, str]:
    """Press Ctrl-C once; what the process said. A process still running `within` seconds
    later fails the test (before, one went on for the whole reply, minutes)."""
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"one Ctrl-C did not stop parley within {within:g} s: {err[-2000:]}")
    return out, err


def test_ctrl_c_stops_the_local_model_mid_reply_and_keeps_what_it_said() -> None:
    env = os.environ.copy()
    question = "Tell me a very long story about a lighthouse keeper and her three goats."
    proc = _start("ask", "--no-tools", "--max-tokens", "3000", "--text", question, env=env)
    # The question is saved just before the model starts on it; then it is mid-reply.
    _wait_for(lambda: bool(_messages(env)), proc, timeout=180)
    time.sleep(1.0)
    out, err = _ctrl_c(proc, within=10)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert [ln for ln in err.splitlines() if ln.strip()] == [STOPPED]
    saved = _messages(env)
    assert [(role, interrupted) for role, _, interrupted in saved] == [
        ("user", 0),
        ("assistant", 1),
    ], saved
    assert saved[0][1] == question


@pytest.fixture
def trickling() -> ScriptedServer:
    server = ScriptedServer()
    server.script.pieces = [f" word{n}" for n in range(300)]
    server.script.trickle = 1.0  # never idle for a minute, never done for five
    yield server
    server.stop()


def test_ctrl_c_stops_a_reply_a_remote_server_trickles(trickling: ScriptedServer) -> None:
    env = os.environ.copy()
    proc = _start("ask", "--no-save", "--json", "--text", "Hi", "--llm-url", trickling.url, env=env)
    asked = lambda: any(c.body.get("max_tokens", 0) > 1 for c in trickling.chats())  # noqa: E731
    _wait_for(asked, proc, timeout=60)
    time.sleep(1.5)
    out, err = _ctrl_c(proc, within=10)
    assert proc.returncode == 130, err
    assert [ln for ln in err.splitlines() if ln.strip()] == [STOPPED]
    assert out.strip() == '{"error": "Stopped (Ctrl-C)."}'  # --json still gets one object


def test_a_trickling_server_meets_the_reply_deadline(trickling: ScriptedServer, tmp_path) -> None:
    """A token a second never trips the idle timeout; the overall deadline (a setting) ends
    the turn with a message naming it, and what came is printed."""
    (tmp_path / "settings.json").write_text('{"llm_remote_deadline": 6}')
    env = os.environ | {"PARLEY_CONFIG_DIR": str(tmp_path)}
    proc = _start("ask", "--no-save", "--text", "Hi", "--llm-url", trickling.url, env=env)
    try:
        out, err = proc.communicate(timeout=60)  # the whole trickle would take 5 minutes
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the remote reply had no deadline")
    assert proc.returncode == 1, err
    [said] = [ln for ln in err.splitlines() if ln.strip()]
    assert "still not done after 6 s" in said and "llm_remote_deadline" in said, said
    assert out.startswith("word0 word1"), out  # the part that came is not lost


def test_ctrl_c_closes_the_window_cleanly(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"welcomed": true}')
    env = os.environ | {"QT_QPA_PLATFORM": "offscreen", "PARLEY_CONFIG_DIR": str(tmp_path)}
    log = Path(env["PARLEY_LOG_DIR"]) / "parley.log"
    shown = lambda: log.exists() and "window shown" in log.read_text()  # noqa: E731
    proc = _start(env=env)
    _wait_for(shown, proc, timeout=120)
    time.sleep(0.5)  # the window idle in Qt's event loop, models loading behind it
    out, err = _ctrl_c(proc, within=15)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert STOPPED in err.splitlines()


def test_ctrl_c_while_parley_is_still_starting(tmp_path: Path) -> None:
    """A Ctrl-C in the first tenth of a second, while Python imports Parley, is the same one
    line and 130 as later, not a KeyboardInterrupt traceback from inside an import."""
    env = os.environ | {"PARLEY_CONFIG_DIR": str(tmp_path)}
    for delay in (0.03, 0.06, 0.09, 0.12, 0.2):
        proc = _start("models", "list", env=env)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        # The interpreter's own start (before the console script's first import) is not
        # Parley's to handle; from the first import of Parley on, it is.
        assert not re.search(r'File "[^"]*/app/', err), (delay, err)
        # It may have finished first, or be past Python's shutdown (which puts SIGINT's
        # default back: killed by the signal, -2, with nothing left to stop).
        finished = proc.returncode in (0, -signal.SIGINT)
        if not finished and "Traceback" not in err:
            assert proc.returncode == 130 and err.splitlines() == [STOPPED], (delay, err)
