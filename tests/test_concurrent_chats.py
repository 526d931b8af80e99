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


# --- the window and `parley ask` on one chat ------------------------------------------------


def window_on(qtbot, qloop, settings, replies: list[str], token_delay: float = 0.0):
    """The real window (offscreen) on a scripted model that takes its time to answer."""
    from tests.test_gui_history import fake_window

    return fake_window(qtbot, qloop, settings, replies, token_delay)


def shopping_chat() -> int:
    store = ChatStore(Path(os.environ["PARLEY_HISTORY_DIR"]))
    chat = store.new_chat(title="Shopping")
    store.add_message(chat, "user", "I am making a shopping list.")
    store.add_message(chat, "assistant", "Go ahead.")
    store.close()
    return chat


def stored(win, chat: int) -> list[tuple[str, str]]:  # noqa: ANN001
    """The chat as saved, read through the window's store: a second one in this process
    would open and close the database file, and closing it drops SQLite's locks here."""
    return [(m.role, m.text.strip()) for m in win.session.store.messages(chat)]


def wait_for(qtbot, proc: subprocess.Popen[str], seconds: float = 60) -> tuple[str, str]:
    """Let the window run while the other process does; its output."""
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=int(seconds * 1000))
    return proc.communicate(timeout=10)


def test_an_ask_on_the_chat_the_window_shows_is_refused_and_the_chat_stays_in_order(
    qtbot, qloop, settings, server: ScriptedServer
) -> None:
    chat = shopping_chat()
    win = window_on(qtbot, qloop, settings, ["Pears are on the list now."], token_delay=0.5)
    assert win.open_chat(chat)
    win.input.setText("Add pears.")
    win.send_typed()  # the window's answer takes 3 s: the ask comes in the middle of it
    other = ask(f"{server.url}/v1", "Add plums.")
    out, err = wait_for(qtbot, other)
    qtbot.waitUntil(lambda: len(win.finished) == 1, timeout=30_000)

    # Refused at once, saying why and what to do; nothing of it reached the chat.
    assert other.returncode == 2, (out, err)
    assert "open in the Parley window" in err and "another chat" in err, err
    assert "Traceback" not in err
    assert server.chats() == []
    assert stored(win, chat) == [
        ("user", "I am making a shopping list."),
        ("assistant", "Go ahead."),
        ("user", "Add pears."),
        ("assistant", "Pears are on the list now."),
    ]

    # Once the window shows another chat, the ask goes on with this one, knowing it whole.
    win.new_chat()
    other = ask(f"{server.url}/v1", "Add plums.")
    out, err = wait_for(qtbot, other)
    assert other.returncode == 0, (out, err)
    plums = [("user", "Add plums."), ("assistant", "About Add plums. - noted.")]
    assert stored(win, chat)[-2:] == plums
    assert "Add pears." in [m["content"] for m in server.chats()[-1].body["messages"]]
    win.close()


def test_a_chat_an_ask_is_answering_is_read_only_in_the_window_until_its_answer_is_in(
    qtbot, qloop, settings, server: ScriptedServer, tmp_path: Path
) -> None:
    chat = shopping_chat()
    server.script.delay = 4.0  # the ask's answer takes a while
    other = ask(f"{server.url}/v1", "Add plums.")
    qtbot.waitUntil(lambda: bool(server.chats()), timeout=30_000)  # it is answering now
    win = window_on(qtbot, qloop, settings, ["Pears are on the list now."])
    assert win.open_chat(chat)

    # Shown to be read: the box is off and says why; a held key is not a question either.
    notices = [b.text for b in win.chat.bubbles if b.role == "notice"]
    assert any("answering a question from another Parley" in n for n in notices), notices
    assert not win.input.isEnabled() and not win.send_button.isEnabled()
    assert "another Parley" in win.input.placeholderText()
    assert not win.start_talking()
    notes = tmp_path / "notes.txt"
    notes.write_text("Buy oat milk too.")
    win.add_file(notes)  # files are kept with the chat: not added to it meanwhile either
    assert not win.session.turns.documents.files and not win.file_chips.isEnabled()
    assert stored(win, chat)[-1] == ("user", "Add plums.")

    # Once its answer is in, the window shows it by itself and can be written to.
    out, err = wait_for(qtbot, other)
    assert other.returncode == 0, (out, err)
    qtbot.waitUntil(win.input.isEnabled, timeout=5_000)
    texts = [b.text for b in win.chat.bubbles]
    assert "About Add plums. - noted." in texts
    assert any("you can write in it now" in t for t in texts)
    win.input.setText("Add pears.")
    win.send_typed()
    qtbot.waitUntil(lambda: len(win.finished) == 1, timeout=30_000)
    assert [t for _, t in stored(win, chat)[2:]] == [
        "Add plums.",
        "About Add plums. - noted.",
        "Add pears.",
        "Pears are on the list now.",
    ]
    # The window's question was asked knowing the other one and its answer.
    assert {"role": "assistant", "content": "About Add plums. - noted."} in win.llm.prompts[-1]
    win.close()


def test_a_second_store_in_one_process_does_not_let_go_of_the_first_ones_chat(
    tmp_path: Path,
) -> None:
    """With POSIX record locks, a second store's lock file closing in the same process let
    go of every chat the first held: another `ask` could then write into a chat this
    process was still answering."""
    from app.storage.chat_lock import ChatLocks

    first = ChatLocks(tmp_path)
    assert first.claim(7)
    second = ChatLocks(tmp_path)
    assert not second.claim(7)  # held, by this process's other store
    assert second.claim(8)
    second.close()
    probe = (
        "import sys; from pathlib import Path; from app.storage.chat_lock import ChatLocks; "
        "locks = ChatLocks(Path(sys.argv[1])); print(locks.claim(7), locks.claim(8))"
    )
    other = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, cwd=REPO
    )
    assert other.stdout.split() == ["False", "True"], other.stderr
    first.close()
