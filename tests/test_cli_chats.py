"""Saved conversations from the command line, across processes, on the real default model:
`parley ask` saves, `--chat`/`--continue` go on where another process left off, and
`parley chats` lists, shows, searches, exports, renames, deletes and restores."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.storage.chats import DB_NAME, ChatStore
from tests.realtools import PARLEY, REPO, assert_clean_failure, parley, words


def history() -> Path:
    return Path(os.environ["PARLEY_HISTORY_DIR"])


def ask(*args: str) -> dict:
    run = parley("ask", "--json", "--max-tokens", "40", *args, timeout=180)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.models
def test_a_later_process_remembers_what_was_said(tmp_path: Path) -> None:
    first = ask("--text", "My name is Ada and my cat is called Pixel. Just say hello.")
    chat = first["chat_id"]
    assert isinstance(chat, int)
    again = ask("--chat", str(chat), "--text", "What is my cat called?")
    assert again["chat_id"] == chat
    assert "pixel" in words(again["reply"]), again["reply"]
    latest = ask("--continue", "--text", "And what is my name?")
    assert latest["chat_id"] == chat and "ada" in words(latest["reply"]), latest["reply"]
    # Without --chat a new conversation starts, and does not know any of it.
    fresh = ask("--text", "Say the word yes.")
    assert fresh["chat_id"] != chat

    listed = json.loads(parley("chats", "list", "--json").stdout)
    assert [c["id"] for c in listed] == [fresh["chat_id"], chat]
    assert listed[1]["title"].startswith("My name is Ada")
    shown = json.loads(parley("chats", "show", str(chat), "--json").stdout)
    assert shown["id"] == chat and shown["title"] == listed[1]["title"]
    messages = shown["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3
    assert messages[2]["text"] == "What is my cat called?"
    assert messages[3]["text"] == again["reply"].strip()
    assert {"id", "role", "text", "interrupted", "created"} <= set(messages[0])
    assert not any(m["interrupted"] for m in messages)

    found = json.loads(parley("chats", "search", "pixel", "--json").stdout)
    assert [h["chat_id"] for h in found] == [chat]
    out = tmp_path / "chat.md"
    assert parley("chats", "export", str(chat), "--format", "md", "-o", str(out)).returncode == 0
    assert (
        out.read_text().startswith("# My name is Ada")
        and "What is my cat called?" in out.read_text()
    )
    # An existing file is never overwritten without --force.
    refused = parley("chats", "export", str(chat), "--format", "json", "-o", str(out))
    assert "already exists" in assert_clean_failure(refused, 2)
    assert out.read_text().startswith("# My name is Ada")

    assert parley("chats", "rename", str(chat), "Ada and Pixel").returncode == 0
    assert (
        json.loads(parley("chats", "show", str(chat), "--json").stdout)["title"] == "Ada and Pixel"
    )
    deleted = parley("chats", "delete", str(chat))
    assert deleted.returncode == 0 and f"parley chats restore {chat}" in deleted.stdout
    assert [c["id"] for c in json.loads(parley("chats", "list", "--json").stdout)] == [
        fresh["chat_id"]
    ]
    assert "no conversation" in assert_clean_failure(
        parley("ask", "--chat", str(chat), "--text", "Hi"), 2
    )
    assert parley("chats", "restore", str(chat)).returncode == 0
    assert len(json.loads(parley("chats", "list", "--json").stdout)) == 2


def test_chat_commands_explain_bad_ids_and_empty_history() -> None:
    assert "No saved conversations" in parley("chats", "list").stdout
    for args in (("show", "41"), ("export", "41"), ("delete", "41"), ("rename", "41", "x")):
        assert "no conversation 41" in assert_clean_failure(parley("chats", *args), 2)
    assert "not in the trash" in assert_clean_failure(parley("chats", "restore", "41"), 2)
    failed = parley("ask", "--continue", "--text", "Hello")
    assert "no conversation to continue" in assert_clean_failure(failed, 2)
    assert "Nothing found" in parley("chats", "search", "anything").stdout


@pytest.mark.models
def test_no_save_keeps_a_question_out_of_the_history() -> None:
    result = ask("--no-save", "--text", "Say the word yes.")
    assert result["chat_id"] is None
    assert json.loads(parley("chats", "list", "--json").stdout) == []


@pytest.mark.models
def test_killed_mid_reply_the_question_is_kept_and_the_file_is_sound() -> None:
    """`kill -9` while the reply streams: the question, committed when it was sent, is there,
    the database passes its integrity check, and the chat goes on in a later process."""
    cmd = [str(PARLEY)] if PARLEY.exists() else [sys.executable, "-m", "app"]
    child = subprocess.Popen(
        [*cmd, "ask", "--text", "Tell me a long story about a fox.", "--max-tokens", "400"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = history() / DB_NAME
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if db.exists():
            with sqlite3.connect(db) as conn:
                try:
                    if conn.execute("SELECT count(*) FROM messages").fetchone()[0]:
                        break
                except sqlite3.OperationalError:
                    pass  # the child has created the file but not its tables yet
        time.sleep(0.1)
    time.sleep(1.0)  # the reply is streaming now (400 tokens take far longer)
    assert child.poll() is None, "the reply ended before it could be interrupted"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    store = ChatStore(history())
    assert store.problem == ""
    assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    [chat] = store.chats()
    assert [(m.role, m.text) for m in store.messages(chat.id)] == [
        ("user", "Tell me a long story about a fox.")
    ]
    store.close()
    later = ask("--continue", "--text", "Say the word yes.")
    assert later["chat_id"] == chat.id and later["reply"].strip()


@pytest.mark.models
def test_an_assistant_answers_and_its_reply_becomes_training_data(tmp_path: Path) -> None:
    added = parley(
        "assistants",
        "add",
        "Pirate",
        "--instructions",
        "You are a pirate. Begin every answer with the word Ahoy, then answer in one sentence.",
    )
    assert added.returncode == 0, added.stderr
    listed = json.loads(parley("assistants", "list", "--json").stdout)
    assert [a["name"] for a in listed] == ["Parley", "Pirate"]

    result = ask("--assistant", "pirate", "--text", "What is the capital of France?")
    assert result["assistant"] == "Pirate"
    assert "ahoy" in words(result["reply"]), result["reply"]
    question, reply = result["message_ids"]
    shown = json.loads(parley("chats", "show", str(result["chat_id"]), "--json").stdout)
    assert [m["id"] for m in shown["messages"]] == [question, reply]

    rated = parley("rate", str(reply), "down", "--correction", "Ahoy! It be Paris, matey.")
    assert rated.returncode == 0, rated.stderr
    assert "no reply" in assert_clean_failure(parley("rate", str(question), "up"), 2)
    out = tmp_path / "dpo.jsonl"
    made = parley("export-dataset", str(out), "--format", "dpo")
    assert made.returncode == 0 and "1 dpo rows" in made.stdout, made.stdout + made.stderr
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["prompt"][0]["role"] == "system"
    assert row["prompt"][0]["content"].startswith(
        "You are a pirate. Begin every answer with the word Ahoy, then answer in one sentence."
    )
    assert row["prompt"][1:] == [{"role": "user", "content": "What is the capital of France?"}]
    assert row["chosen"][0]["content"] == "Ahoy! It be Paris, matey."
    assert row["rejected"][0]["content"] == result["reply"].strip()
    again = parley("export-dataset", str(out))
    assert "already exists" in assert_clean_failure(again, 2)

    # Exported and imported elsewhere; a missing name says which ones there are.
    exported = tmp_path / "pirate.json"
    assert parley("assistants", "export", "Pirate", "-o", str(exported)).returncode == 0
    assert parley("assistants", "remove", "Pirate").returncode == 0
    assert parley("assistants", "import", str(exported)).returncode == 0
    missing = assert_clean_failure(parley("ask", "--assistant", "Nobody", "--text", "Hi"), 2)
    assert "no assistant called 'Nobody'" in missing and "Parley, Pirate" in missing


@pytest.mark.models
def test_one_fact_in_the_middle_of_a_long_file_is_answered(tmp_path: Path) -> None:
    """66,000 words, one fact in the middle: the start that fits the context has nothing,
    retrieval has it."""
    import random

    from tests.docs_factory import FILLER

    rng = random.Random(5)
    words = FILLER.split()
    paragraphs = [" ".join(rng.choices(words, k=110)) for _ in range(600)]
    paragraphs.insert(300, "The access code for the blue room is 4417.")
    big = tmp_path / "minutes.txt"
    big.write_text("\n\n".join(paragraphs))
    assert len(big.read_text().split()) >= 66_000
    result = ask("--file", str(big), "--text", "What is the access code for the blue room?")
    assert "4417" in result["reply"], result["reply"]
    assert result["files"] == ["minutes.txt"]
    assert any(s["file"] == "minutes.txt" for s in result["sources"])
    bad = parley("ask", "--file", str(tmp_path / "gone.pdf"), "--text", "Hi")
    assert "does not exist" in assert_clean_failure(bad, 2)


@pytest.mark.parametrize("command", [("chats", "list", "--limit", "0"), ("chats", "show", "1")])
def test_ctrl_c_in_a_chats_command_says_stopped_without_a_traceback(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Ctrl-C while `parley chats ...` prints (here: blocked writing to a pipe nobody reads
    yet, so the signal lands at a known place) ends with one line and exit 130, as a shell
    expects, not a KeyboardInterrupt traceback."""
    store = ChatStore(tmp_path)
    for n in range(1200):
        store.new_chat(title=f"Receipts and invoices for the garden project, batch {n}")
    for n in range(1000):  # chat 1: more than a pipe holds, too
        store.add_message(1, "user", f"Line {n} of the seed order: tulips, crocuses. " * 4)
    store.close()
    cmd = [str(PARLEY)] if PARLEY.exists() else [sys.executable, "-m", "app"]
    env = os.environ | {"PARLEY_HISTORY_DIR": str(tmp_path)}
    run = subprocess.Popen(
        [*cmd, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    deadline = time.monotonic() + 60
    while "pipe_write" not in Path(f"/proc/{run.pid}/wchan").read_text():
        assert run.poll() is None and time.monotonic() < deadline, "it never filled the pipe"
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=30)
    assert run.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines() == ["parley: Stopped (Ctrl-C)."]
    assert out  # what was printed before Ctrl-C still came out
