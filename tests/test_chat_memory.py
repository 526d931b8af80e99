"""Conversations saved as they happen, through the real turn manager and a real SQLite
store: what a user finds when they come back."""

from __future__ import annotations

import errno
import io
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.bus.events import ChatSaved, LlmDelta, Notice, PlaybackStarted, UserTurn
from app.config import Settings
from app.storage.chats import ChatStore, MessageDetails
from app.vision.images import prepare_image
from tests.fakes import FakeSTT, FakeTTS
from tests.test_turns import LONG_REPLY, Harness, ScriptedLLM, run


def test_each_message_is_saved_when_it_happens(settings: Settings, tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    llm = ScriptedLLM(["Paris is the capital of France.", "About two million people."])
    seen: dict[str, list[str]] = {}

    async def body(h: Harness) -> None:
        def at_first_token(_: LlmDelta) -> None:  # the question is stored before the answer
            chat = store.latest_chat()
            seen.setdefault("at first token", [m.text for m in store.messages(chat or 0)])

        h.bus.subscribe(LlmDelta, at_first_token)
        h.turns.ask("What is the capital of France?")
        await h.finished(h.of(UserTurn)[0].turn_id)
        h.turns.ask("How many people live there?")
        await h.finished(h.of(UserTurn)[1].turn_id)
        saved = h.of(ChatSaved)
        assert [e.role for e in saved] == ["user", "assistant", "user", "assistant"]
        assert len({e.chat_id for e in saved}) == 1
        assert saved[0].title == "What is the capital of France?"

    run(body, settings, llm=llm, store=store)
    assert seen["at first token"] == ["What is the capital of France?"]
    [chat] = store.chats()
    assert [(m.role, m.text, m.interrupted) for m in store.messages(chat.id)] == [
        ("user", "What is the capital of France?", False),
        ("assistant", "Paris is the capital of France.", False),
        ("user", "How many people live there?", False),
        ("assistant", "About two million people.", False),
    ]


def test_an_interrupted_reply_is_saved_as_heard(settings: Settings, tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    llm = ScriptedLLM([LONG_REPLY, "Sure."], token_delay=0.03)
    stt = FakeSTT("stop")
    tts = FakeTTS(seconds_per_word=0.15)

    async def body(h: Harness) -> None:
        h.turns.ask("Tell me a long story.")
        old = h.of(UserTurn)[0].turn_id
        await h.until(lambda: h.of(PlaybackStarted, old), "the reply to start playing")
        await h.until(lambda: h.backend.sound_blocks_after(0.0) >= 20, "0.2 s of the reply")
        new = h.turns.begin_listening()
        done = h.finish_of(old)
        assert done is not None and done.interrupted
        h.turns.submit_audio(new, np.full(8000, 0.1, np.float32))
        await h.finished(new)
        heard = done.spoken

        messages = store.messages(store.latest_chat())
        assert [(m.role, m.text, m.interrupted) for m in messages] == [
            ("user", "Tell me a long story.", False),
            ("assistant", heard.strip(), True),
            ("user", "stop", False),
            ("assistant", "Sure.", False),
        ]
        assert len(heard) < len(LONG_REPLY)

    run(body, settings, llm=llm, stt=stt, tts=tts, store=store)


def test_a_reopened_chat_gives_the_model_its_context(settings: Settings, tmp_path: Path) -> None:
    """A chat from an earlier run, opened again: the model sees what was said (as it saw it
    then: an image's reading, not just the words on screen), and the chat goes on."""
    store = ChatStore(tmp_path)
    old = store.new_chat()
    store.add_message(
        old, "user", "What is in the picture?", MessageDetails(context="[image reading: a cat]")
    )
    store.add_message(old, "assistant", "A cat.")
    store.add_message(old, "user", "Left unanswered (the app was closed)")
    other = store.new_chat()
    store.add_message(other, "user", "Unrelated")
    llm = ScriptedLLM(["It is a cat, as I said."])

    async def body(h: Harness) -> None:
        shown = h.turns.open_chat(old)
        assert [m.text for m in shown][:2] == ["What is in the picture?", "A cat."]
        h.turns.ask("What animal was it?")
        await h.finished(h.of(UserTurn)[0].turn_id)
        assert llm.prompts[0][1:] == [
            {"role": "user", "content": "[image reading: a cat]"},
            {"role": "assistant", "content": "A cat."},
            {"role": "user", "content": "What animal was it?"},
        ]
        assert h.turns.open_chat(999) == []  # unknown: nothing changes
        h.turns.reset()  # a new chat: the next question starts one
        h.turns.ask("Hello")
        await h.finished(h.of(UserTurn)[1].turn_id)

    run(body, settings, llm=llm, store=store)
    assert [m.text for m in store.messages(old)][-2:] == [
        "What animal was it?",
        "It is a cat, as I said.",
    ]
    assert len(store.chats()) == 3
    assert [m.text for m in store.messages(store.latest_chat())] == [
        "Hello",
        "It is a cat, as I said.",
    ]


def test_images_of_a_message_are_kept(settings: Settings, tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "PNG")
    image = prepare_image(buf.getvalue(), name="red.png")

    async def body(h: Harness) -> None:
        h.turns.attach(image)
        h.turns.ask("What is this?")
        await h.finished(h.of(UserTurn)[0].turn_id)

    run(body, settings, llm=ScriptedLLM(["A red square."]), store=store)
    [question, _] = store.messages(store.latest_chat())
    [kept] = question.images
    assert kept.name == "red.png" and store.image_bytes(kept) == image.data
    assert question.model_text != question.text  # the OCR reading the text-only model got


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real, small file system (tmpfs), filled up after the store is created in it."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> None:
    try:
        with open(disk / "filler", "wb", buffering=0) as fh:
            while True:
                fh.write(b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC


def test_a_locked_history_is_said_as_locked_not_as_a_full_disk(tmp_path: Path) -> None:
    """Another program holding conversations.db (a second Parley writing) is not cured by
    freeing disk space: the notice says who to close instead."""
    from app.pipeline.chat_log import ChatLog

    store = ChatStore(tmp_path)
    other = sqlite3.connect(tmp_path / "conversations.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # as a program writing to it holds it
    warnings: list[str] = []
    try:
        assert ChatLog(store, warnings.append).save("user", "Are you there?") is None
    finally:
        other.rollback()
        other.close()
    [warning] = warnings
    assert "locked" in warning and "another program" in warning, warning
    assert "disk space" not in warning, warning
    store.close()


def test_a_full_disk_is_said_once_and_the_conversation_goes_on(
    settings: Settings, full_disk: Path
) -> None:
    store = ChatStore(full_disk)
    fill(full_disk)
    llm = ScriptedLLM(["One answer.", "Two answers."])

    async def body(h: Harness) -> None:
        h.turns.ask("First?")
        first = await h.finished(h.of(UserTurn)[0].turn_id)
        h.turns.ask("Second?")
        second = await h.finished(h.of(UserTurn)[1].turn_id)
        assert first.reply.strip() == "One answer." and second.reply.strip() == "Two answers."
        warnings = [n.message for n in h.of(Notice) if "could not be saved" in n.message]
        assert len(warnings) == 1 and "full" in warnings[0], warnings
        assert "free some disk space" in warnings[0]

    run(body, settings, llm=llm, store=store)
    (full_disk / "filler").unlink()  # space again: the next chat is saved
    chat = store.new_chat()
    store.add_message(chat, "user", "Saved now?")
    assert [c.id for c in store.chats()] == [chat]
    store.close()
