"""Two `parley ask --continue` at once: the second waits for the first's answer and then goes
on with the whole conversation, so the chat reads question, answer, question, answer (it had
read Q-banana, Q-apple, "Apple.", "Banana.", each answer made without the other). Real
processes, the real store, a scripted server on loopback that takes its time to answer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.storage.chats import ChatStore
from tests.realtools import PARLEY, REPO
from tests.remote_servers import ScriptedServer

SLOW = 1.5  # seconds the server thinks: the second process starts well within it


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    s.script.echo, s.script.pieces, s.script.delay = "About ", [" - noted."], SLOW
    yield s
    s.stop()


def ask(url: str, text: str) -> subprocess.Popen[str]:
    cmd = [str(PARLEY)] if PARLEY.exists() else [sys.executable, "-m", "app"]
    args = ["ask", "--continue", "--no-tools", "--llm-url", url, "--text", text]
    return subprocess.Popen([*cmd, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO, env=os.environ.copy())  # fmt: skip


def test_two_asks_on_one_chat_take_turns(server: ScriptedServer) -> None:
    store = ChatStore(Path(os.environ["PARLEY_HISTORY_DIR"]))
    chat = store.new_chat(title="Shopping")
    store.add_message(chat, "user", "I am making a shopping list.")
    store.add_message(chat, "assistant", "Go ahead.")
    store.close()
    first = ask(f"{server.url}/v1", "Add pears.")
    time.sleep(0.5)
    second = ask(f"{server.url}/v1", "Add plums.")
    outs = [p.communicate(timeout=60) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    assert "waits for its answer" in outs[1][1], outs[1][1]

    store = ChatStore(Path(os.environ["PARLEY_HISTORY_DIR"]))
    said = [(m.role, m.text) for m in store.messages(chat)]
    store.close()
    assert said[:2] == [("user", "I am making a shopping list."), ("assistant", "Go ahead.")]
    pairs = said[2:]
    assert [r for r, _ in pairs] == ["user", "assistant"] * 2, said
    for (_, question), (_, answer) in zip(pairs[::2], pairs[1::2], strict=True):
        assert answer == f"About {question} - noted.", said  # each answer after its question
    # The later question was asked knowing the earlier one and its answer.
    later = [m["content"] for m in server.chats()[-1].body["messages"]]
    assert pairs[0][1] in later and pairs[1][1] in later
