"""Assistants on a real store and the real turn manager: revisions, what a chat records,
the built-in Parley, and the fall-back when an assistant's voice or model is gone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.config import DEFAULT_SYSTEM_PROMPT, Settings
from app.pipeline.assistant_choice import engine_choice
from app.storage import schema
from app.storage.assistants import AssistantError, Assistants
from app.storage.chats import DB_NAME, ChatStore
from app.storage.database import connect
from tests.test_turns import Harness, ScriptedLLM, run

PIRATE = "You are a pirate. Answer like one."


def test_every_edit_is_a_revision_and_old_ones_stay_readable(tmp_path: Path) -> None:
    a = Assistants(ChatStore(tmp_path))
    pirate = a.add("Pirate", PIRATE)
    assert (pirate.name, pirate.revision, pirate.builtin) == ("Pirate", 1, False)
    edited = a.edit("pirate", instructions="You are a polite pirate.")  # names: any case
    assert edited.revision == 2 and a.get("Pirate").instructions == "You are a polite pirate."
    assert a.revision(pirate.id, 1).instructions == PIRATE
    assert a.edit("Pirate", instructions="You are a polite pirate.").revision == 2  # no change
    renamed = a.edit("Pirate", name="Captain")
    assert renamed.revision == 3 and a.get("captain").id == pirate.id
    with pytest.raises(AssistantError, match="no assistant called 'Pirate'"):
        a.get("Pirate")
    a.add("Cook", "You are a chef.")
    with pytest.raises(AssistantError, match="already an assistant called 'cook'"):
        a.add("cook", "Another chef.")
    with pytest.raises(AssistantError, match="already"):
        a.edit("Captain", name="COOK")
    with pytest.raises(AssistantError, match="needs instructions"):
        a.add("Empty", "   ")
    removed = a.remove("Cook")
    assert [x.name for x in a.list()] == ["Captain"]
    assert a.revision(removed.id, 1).name == "Cook"  # its chats can still be read and go on
    assert a.add("Cook", "A new chef.").id != removed.id  # the name is free again


def test_the_builtin_parley_follows_the_settings_prompt(tmp_path: Path) -> None:
    a = Assistants(ChatStore(tmp_path))
    parley = a.builtin(DEFAULT_SYSTEM_PROMPT)
    assert parley.builtin and parley.name == "Parley" and parley.revision == 1
    assert a.builtin(DEFAULT_SYSTEM_PROMPT).revision == 1
    assert a.builtin("Answer in German.").revision == 2
    assert a.list()[0].name == "Parley"
    with pytest.raises(AssistantError, match="cannot be removed"):
        a.remove("Parley")
    with pytest.raises(AssistantError, match="keeps its name"):
        a.edit("Parley", name="Bob")


def test_export_and_import(tmp_path: Path) -> None:
    a = Assistants(ChatStore(tmp_path / "one"))
    data = json.loads(json.dumps(a.add("Pirate", PIRATE, voice="/v/pirate.onnx").to_json()))
    b = Assistants(ChatStore(tmp_path / "two"))
    imported = b.import_json(data)
    assert (imported.name, imported.instructions, imported.voice) == (
        "Pirate",
        PIRATE,
        "/v/pirate.onnx",
    )
    with pytest.raises(AssistantError, match="not a Parley assistant"):
        b.import_json({"name": "x"})
    with pytest.raises(AssistantError, match="already"):
        b.import_json(data)


def test_a_missing_voice_or_model_falls_back_and_says_so(tmp_path: Path) -> None:
    a = Assistants(ChatStore(tmp_path))
    voice = tmp_path / "voice.onnx"
    voice.write_bytes(b"x")
    ok = a.add("Here", PIRATE, voice=str(voice))
    assert engine_choice(ok).tts == {"tts_voice": str(voice)} and not engine_choice(ok).notices
    gone = a.add("Gone", PIRATE, voice="/nowhere/v.onnx", model="/nowhere/m.gguf")
    choice = engine_choice(gone)
    assert choice.tts == {} and choice.llm == {}
    assert len(choice.notices) == 2 and "your usual voice" in choice.notices[0]
    assert "/nowhere/m.gguf" in choice.notices[1]
    picture = tmp_path / "photo.jpg"
    picture.write_bytes(b"\xff\xd8\xff\xe0" + b"0" * 64)
    wrong = a.add("Wrong", PIRATE, model=str(picture))
    choice = engine_choice(wrong)
    assert choice.llm == {} and "Wrong's model" in choice.notices[0]
    assert (
        "not a GGUF model file" in choice.notices[0] and "Edit the assistant" in choice.notices[0]
    )


def test_a_name_with_an_escape_code_is_refused_with_a_reason(tmp_path: Path) -> None:
    """A name with ESC ... BEL could not be typed back to choose the assistant."""
    a = Assistants(ChatStore(tmp_path))
    with pytest.raises(AssistantError, match="control characters"):
        a.add("Evil\x1b]0;pwned\x07", PIRATE)
    assert [x.name for x in a.list() if x.name.startswith("Evil")] == []


def test_a_chat_goes_on_with_the_revision_that_answered_it(
    settings: Settings, tmp_path: Path
) -> None:
    store = ChatStore(tmp_path)
    assistants = Assistants(store)
    pirate = assistants.add("Pirate", PIRATE)
    llm = ScriptedLLM(["Arr, hello.", "Arr, still me.", "Good day."])

    async def body(h: Harness) -> None:
        h.turns.use_assistant(pirate)
        h.turns.ask("Hello")
        await h.finished(h.of_user(0))
        chat = h.turns.chat.chat_id
        assert store.chat_assistant(chat) == (pirate.id, 1)
        assistants.edit("Pirate", instructions="You are a polite pirate.")
        # The old chat, continued: the revision it was answered with.
        h.turns.reset()
        h.turns.open_chat(chat)
        h.turns.ask("Who are you?")
        await h.finished(h.of_user(1))
        # A new chat: the pirate as edited.
        h.turns.reset()
        h.turns.ask("And now?")
        await h.finished(h.of_user(2))
        assert store.chat_assistant(h.turns.chat.chat_id) == (pirate.id, 2)

    run(body, settings, llm=llm, store=store)
    instructions = [p[0]["content"].split("\n\n# Tools")[0] for p in llm.prompts]  # then tools
    assert instructions == [PIRATE, PIRATE, "You are a polite pirate."]


def test_chats_without_an_assistant_get_the_builtin_revision(
    settings: Settings, tmp_path: Path
) -> None:
    store = ChatStore(tmp_path)

    async def body(h: Harness) -> None:
        h.turns.ask("Hi")
        await h.finished(h.of_user(0))

    run(body, settings, llm=ScriptedLLM(["Hello."]), store=store)
    parley = Assistants(store).get("Parley")
    assert store.chat_assistant(store.latest_chat()) == (parley.id, parley.revision)
    assert parley.instructions == settings.system_prompt


def test_a_version_2_history_gains_assistants_and_keeps_its_chats(tmp_path: Path) -> None:
    conn = connect(tmp_path / DB_NAME)
    schema.migrate(conn, target=2)
    conn.execute("INSERT INTO chats (id, title, created, updated) VALUES (3, 'Old', 1, 1)")
    conn.execute("INSERT INTO messages (chat_id, role, text, created) VALUES (3, 'user', 'hi', 1)")
    conn.close()
    store = ChatStore(tmp_path)
    assert store.chat_assistant(3) is None  # answered by the built-in one, as it was then
    assert [m.text for m in store.messages(3)] == ["hi"]
    assert Assistants(store).add("New", PIRATE).revision == 1
