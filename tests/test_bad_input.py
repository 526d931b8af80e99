"""Defects found by trying Parley as a hostile new user would: each gets a clear message,
an exit code, no traceback and nothing of the user's lost."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from app.audio.wavfile import read_audio, write_wav
from app.config import Settings
from tests.realtools import assert_clean_failure, parley
from tests.test_chat_memory import fill, full_disk  # noqa: F401 (a fixture)

BROKEN = (
    '{\n  "llm_url": "http://192.168.1.20:8080/v1",\n  "system_prompt": "Be brief."\n  "x": 1\n}'
)


def config_file() -> Path:
    return Path(os.environ["PARLEY_CONFIG_DIR"]) / "settings.json"


def test_a_settings_file_with_a_syntax_error_is_kept_aside_and_named() -> None:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BROKEN)
    settings, problems = Settings.load_checked()
    assert settings == Settings()
    [aside] = path.parent.glob("settings.json.bad-*")
    assert aside.read_text() == BROKEN  # untouched: the URL and instructions are all there
    assert len(problems) == 1 and str(aside) in problems[0]
    settings.save()  # the next save writes the defaults beside it, not over it
    assert aside.read_text() == BROKEN and json.loads(path.read_text())["llm_url"] == ""


def test_the_cli_says_the_settings_were_damaged() -> None:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BROKEN)
    run = parley("assistants", "list")
    assert run.returncode == 0, run.stderr
    assert "settings file was damaged" in run.stderr and "settings.json.bad-" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("llm_context", 10, "llm_context must be from 512 to 131072"),
        ("llm_context", 100000000, "not 1e+08"),
        ("llm_max_tokens", 0, "llm_max_tokens must be from 1"),
        ("llm_temperature", -1, "llm_temperature must be from 0 to 2"),
        ("max_talk_seconds", 0, "max_talk_seconds must be from 1"),
        ("speak_replies", "yes", "speak_replies should be true or false"),
    ],
)
def test_a_value_out_of_range_is_named_and_not_used(key, value, words) -> None:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({key: value, "system_prompt": "Be brief."}))
    settings, problems = Settings.load_checked()
    assert getattr(settings, key) == getattr(Settings(), key)
    assert settings.system_prompt == "Be brief."  # the good values stay
    assert len(problems) == 1 and words in problems[0], problems


def test_an_impossible_context_in_settings_never_reaches_llama_cpp() -> None:
    """It used to be a traceback (10) or 'the model is damaged' (100000000)."""
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"llm_context": 10}))
    run = parley("ask", "--text", "Hi", "--max-tokens", "4", "--no-save", timeout=300)
    assert run.returncode == 0, run.stderr
    assert "llm_context must be from 512" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("value", ["0", "-1", "9999999", "many"])
def test_max_tokens_out_of_range_is_refused(value) -> None:
    run = parley("ask", "--text", "Hi", "--max-tokens", value)
    assert run.returncode == 2
    assert "--max-tokens" in run.stderr and "Traceback" not in run.stderr


def test_say_never_overwrites_the_question_it_answers(tmp_path, speech) -> None:
    question = speech("What is the capital of France?")
    before = question.read_bytes()
    run = parley("ask", "--audio", str(question), "--say", str(question))
    text = assert_clean_failure(run, 2)
    assert "would overwrite" in text and question.read_bytes() == before


@pytest.mark.parametrize("question", ["\u200b\u200b", "\ufeff \u200d", " \u2060 "])
def test_an_invisible_question_is_no_question(question) -> None:
    run = parley("ask", "--text", question)
    assert "empty" in assert_clean_failure(run, 2)


def test_an_unknown_speech_model_name_lists_the_names(tmp_path, speech) -> None:
    run = parley("ask", "--audio", str(speech("Hello there.")), "--stt-model", "small")
    text = assert_clean_failure(run)
    assert 'no speech model called "small"' in text and '"tiny.en"' in text and '"base"' in text


def test_a_wav_that_cannot_be_written_leaves_no_truncated_file(full_disk) -> None:  # noqa: F811
    out = full_disk / "reply.wav"
    write_wav(out, np.zeros(1000, np.float32), 16000)
    before = out.read_bytes()
    fill(full_disk)
    with pytest.raises((OSError, RuntimeError)):
        write_wav(out, np.zeros(22050 * 60, np.float32), 22050)
    assert out.read_bytes() == before  # the old file, whole
    assert not (full_disk / ".reply.wav.partial").exists()  # nor half a file beside it
    samples, rate = read_audio(out)
    assert rate == 16000 and samples.size == 1000


@pytest.mark.models
def test_a_failed_say_still_prints_the_reply(full_disk) -> None:  # noqa: F811
    out = full_disk / "answer.wav"
    fill(full_disk)
    run = parley("ask", "--text", "Say hello.", "--say", str(out), "--max-tokens", "16",
                 "--no-save", timeout=300)  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert run.stdout.strip()  # the reply, not thrown away
    assert "Could not write the spoken reply" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists() or read_audio(out)[0].size > 0  # never a truncated WAV


@pytest.mark.parametrize("kind", ["fifo", "huge"])
def test_a_settings_file_that_is_not_a_small_regular_file_is_named_and_kept(kind) -> None:
    """A FIFO hung Parley for good; a 3 GB file took 37 s and 4 GB of memory to read whole."""
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        with path.open("wb") as fh:  # sparse: nothing is written, the size is what counts
            fh.truncate(2_000_000_000)
    run = parley("assistants", "list", timeout=20)
    assert run.returncode == 0, run.stderr
    assert str(path) in run.stderr and "defaults" in run.stderr, run.stderr
    settings, problems = Settings.load_checked()
    assert settings == Settings() and len(problems) == 1
    with pytest.raises(PermissionError):
        settings.save()  # never over what the user may still want


# "Zahlen-Ü.md" with its Ü in Latin-1: a legal Linux name, but not UTF-8.
ODD_NAME = os.fsdecode(b"Zahlen-\xdc.md")


def test_a_file_name_that_is_not_utf8_is_answered_and_saved_with_a_replacement(tmp_path) -> None:
    """The answer failed ('surrogates not allowed') and left an empty chat behind."""
    from tests.remote_servers import ScriptedServer

    odd = tmp_path / ODD_NAME
    odd.write_text("# Zahlen\n\nDer Umsatz stieg um 12 Prozent.\n")
    server = ScriptedServer()
    server.script.echo = "Gelesen: "
    try:
        run = parley("ask", "--text", "Worum geht es?", "--file", str(odd), "--llm-url", server.url)
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr
    assert "Zahlen-\ufffd.md" in run.stdout and "12 Prozent" in run.stdout
    shown = parley("chats", "show", "1")
    assert shown.returncode == 0 and "Worum geht es?" in shown.stdout, shown.stderr


def test_an_assistant_takes_a_file_whose_name_is_not_utf8(tmp_path) -> None:
    """It was a traceback (UnicodeEncodeError in the document store)."""
    odd = tmp_path / ODD_NAME
    odd.write_text("# Zahlen\n\nDer Umsatz stieg um 12 Prozent.\n")
    added = parley("assistants", "add", "Rechner", "--instructions", "Antworte kurz.")
    assert added.returncode == 0, added.stderr
    run = parley("assistants", "add-file", "Rechner", str(odd))
    assert run.returncode == 0, run.stderr
    assert "Zahlen-\ufffd.md" in run.stdout and "Traceback" not in run.stderr
