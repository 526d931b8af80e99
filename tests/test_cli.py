"""The command line as a user runs it: `parley` / `python -m app` in a subprocess, on the real
default models, with spoken questions made by espeak-ng."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import soundfile

import app
from app.bus import EventBus
from app.bus.events import ErrorRaised, PlaybackFinished, PlaybackStarted
from app.cli.ask import no_speech_in
from app.cli.say_output import WavSink
from app.pipeline.turn import TIMING_KEYS, WATERFALL_KEYS
from tests.realtools import REPO, assert_clean_failure, load_16k, parley, rms, words

QUESTION = "What is the capital of France?"


# --- version ----------------------------------------------------------------------------------


def test_version_console_script():
    run = parley("--version")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"parley {app.__version__}"
    assert app.__version__ == version("parley")  # the code and the installed package agree


def test_version_python_m_app():
    run = subprocess.run(
        [sys.executable, "-m", "app", "--version"], capture_output=True, text=True, cwd=REPO
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"parley {app.__version__}"


# --- a spoken question, answered out loud -----------------------------------------------------


@pytest.mark.models
def test_ask_spoken_question_prints_json_and_speaks_reply(tmp_path, speech, real_models):
    question = speech(QUESTION)  # 48 kHz stereo, as a desktop microphone records
    info = soundfile.info(str(question))
    assert (info.samplerate, info.channels) == (48000, 2)
    out = tmp_path / "reply.wav"

    run = parley("ask", "--audio", str(question), "--say", str(out), "--json", "--max-tokens", "48")

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1, run.stdout  # one JSON object, nothing else on stdout
    result = json.loads(lines[0])
    assert "france" in words(result["transcript"]), result
    assert "paris" in words(result["reply"]), result
    assert result["say"] == str(out)

    timings = result["timings"]
    assert set(timings) == set(TIMING_KEYS) | set(WATERFALL_KEYS)
    for key in TIMING_KEYS:
        value = timings[key]
        assert isinstance(value, float | int) and not isinstance(value, bool), (key, value)
        assert value > 0, (key, value)
    # The spans are ordered stages of one turn, so the time to first audio holds them all.
    assert timings["llm_total"] >= timings["llm_first_token"]
    stages = timings["stt"] + timings["llm_first_token"] + timings["tts_first_audio"]
    assert timings["first_audio"] >= stages - 0.002

    # The reply file is real speech that says what was printed.
    data, rate = soundfile.read(str(out), dtype="float32")
    assert data.ndim == 1 and rate > 0
    assert len(data) / rate > 0.3
    assert rms(data) > 0.01
    heard = real_models.stt.transcribe(load_16k(out))
    assert "paris" in words(heard), heard


@pytest.mark.models
def test_ask_typed_question_prints_plain_reply():
    run = parley("ask", "--text", QUESTION, "--max-tokens", "48", timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "paris" in words(run.stdout), run.stdout
    assert not run.stdout.startswith("You:")  # nothing was transcribed, so no echo
    assert not run.stdout.lstrip().startswith("{")  # plain text without --json


@pytest.mark.models
def test_ask_typed_question_json_has_no_speech_timings():
    run = parley("ask", "--text", QUESTION, "--json", "--max-tokens", "48", timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["transcript"] == QUESTION
    assert "paris" in words(result["reply"])
    assert result["say"] is None
    t = result["timings"]
    assert t["llm_first_token"] > 0 and t["llm_total"] >= t["llm_first_token"]
    # Nothing was heard or spoken, so those stages have no time rather than a made-up one.
    assert t["stt"] is None and t["tts_first_audio"] is None and t["first_audio"] is None


# --- bad input: a one-line reason, a non-zero exit, no traceback, no model loaded ------------


def _empty_wav(path: Path) -> Path:
    soundfile.write(str(path), np.zeros((0, 2), np.float32), 48000)
    return path


def _not_audio(path: Path) -> Path:
    path.write_text("This is a shopping list, not a recording.\n")
    return path


BAD_AUDIO = {
    "missing": (lambda d: d / "nowhere.wav", "does not exist"),
    "not-audio": (lambda d: _not_audio(d / "list.wav"), "not an audio file"),
    "empty": (lambda d: _empty_wav(d / "empty.wav"), "empty"),
    "folder": (lambda d: d, "folder"),
}


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("case", list(BAD_AUDIO))
def test_ask_bad_audio_file(tmp_path, case, as_json):
    make, reason = BAD_AUDIO[case]
    audio = make(tmp_path)
    run = parley("ask", "--audio", str(audio), *(["--json"] if as_json else []), timeout=60)
    line = assert_clean_failure(run, code=2)
    assert str(audio) in line and reason in line, line
    if as_json:
        assert json.loads(run.stdout) == {"error": line.removeprefix("parley: ")}
    else:
        assert run.stdout == ""


@pytest.mark.models
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_ask_silence_says_nothing_was_heard_and_does_not_answer(tmp_path, as_json):
    silence = tmp_path / "silence.wav"
    soundfile.write(str(silence), np.zeros((2 * 48000, 2), np.float32), 48000)
    out = tmp_path / "reply.wav"

    run = parley(
        "ask", "--audio", str(silence), "--say", str(out), *(["--json"] if as_json else [])
    )

    line = assert_clean_failure(run, code=3)
    assert line == f"parley: {no_speech_in(str(silence))}"  # the file, not the talk button
    if as_json:
        # Only the reason: no transcript, no reply, no timings, so no answer was produced.
        assert json.loads(run.stdout) == {"error": no_speech_in(str(silence))}
    else:
        assert run.stdout == ""  # no "You: …" and no reply
    assert not out.exists()  # nothing was spoken


@pytest.mark.models
@pytest.mark.parametrize("live", [False, True], ids=["file", "realtime"])
@pytest.mark.parametrize("noise", ["white", "hum"])
def test_noise_is_not_a_question_from_a_file_or_spoken_live(tmp_path, live, noise):
    """Whisper writes something for any sound: white noise held live came back as "A" and
    was answered ("A is a fundamental element…") on the code before this test."""
    rng = np.random.default_rng(7)
    t = np.arange(3 * 16000) / 16000
    samples = (
        0.3 * rng.standard_normal(t.size)
        if noise == "white"
        else 0.3 * np.sin(2 * np.pi * 120 * t) + 0.1 * np.sin(2 * np.pi * 240 * t)
    )
    wav = tmp_path / "noise.wav"
    soundfile.write(str(wav), samples.astype(np.float32), 16000)

    run = parley("ask", "--audio", str(wav), *(["--realtime"] if live else []), "--json")

    assert_clean_failure(run, code=3)
    assert json.loads(run.stdout) == {"error": no_speech_in(str(wav))}


def test_ask_empty_typed_question():
    run = parley("ask", "--text", "   ", timeout=60)
    line = assert_clean_failure(run, code=2)
    assert "empty" in line


def test_ask_say_to_a_folder(tmp_path):
    run = parley("ask", "--text", QUESTION, "--say", str(tmp_path), timeout=60)
    line = assert_clean_failure(run, code=2)
    assert str(tmp_path) in line and "folder" in line
    assert list(tmp_path.iterdir()) == []


def test_ask_say_below_a_file(tmp_path):
    """A path whose 'folder' is a file is refused before any model loads (it used to be found
    only after the reply, then `parley ask` logged a traceback and never exited)."""
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    out = blocker / "reply.wav"
    run = parley("ask", "--text", QUESTION, "--say", str(out), timeout=60)
    line = assert_clean_failure(run, code=2)
    assert str(out) in line and "not a folder" in line
    assert blocker.read_text() == "x"


def test_reply_file_that_cannot_be_written_ends_the_turn_with_an_error(tmp_path):
    """If writing the reply fails after all, the turn still ends and says why."""

    async def scenario() -> tuple[list, list]:
        bus = EventBus(asyncio.get_running_loop())
        errors: list[ErrorRaised] = []
        ended: list[PlaybackFinished] = []
        bus.subscribe(ErrorRaised, errors.append)
        bus.subscribe(PlaybackFinished, ended.append)
        bus.subscribe(PlaybackStarted, lambda e: None)
        blocker = tmp_path / "notes.txt"
        blocker.write_text("x")
        sink = WavSink(bus, blocker / "reply.wav")
        sink.enqueue(7, 0, np.full(2205, 0.1, np.float32), 22050)
        sink.finish(7)
        return errors, ended

    errors, ended = asyncio.run(scenario())
    assert [e.turn_id for e in ended] == [7]
    assert len(errors) == 1 and "reply.wav" in errors[0].message
