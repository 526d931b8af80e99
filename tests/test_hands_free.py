"""`parley listen --json` on the real sound stack, no key: a private PulseAudio whose speaker
leaks back into its microphone like a laptop's (tests/private_pulse.py, room at -6 dB after
60 ms), the user's words played into the microphone in piper's voice.

One conversation, event by event: a spoken question is answered on the speaker; Parley's
own reply in the room starts no turn; a cough and an "okay" over the next reply do not end
it (it pauses, then resumes where it paused);
the user's question over it stops it (barge-in) and is answered."""

from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from app.audio.half_duplex import HalfDuplexGate
from app.audio.playback import Player
from app.audio.resample import resample
from tests.manual_speaker import ManualSpeaker
from tests.private_pulse import PrivatePulse
from tests.realtools import words
from tests.turn_audio import cough

REPO = Path(__file__).resolve().parent.parent
RATE = 16000


@pytest.fixture
def pulse(private_pulse: PrivatePulse) -> PrivatePulse:
    """In a room: the speaker leaks back into the microphone like a laptop's."""
    private_pulse.room(-6, 60)
    return private_pulse


@pytest.fixture(scope="module")
def voice(real_models):
    return real_models.tts  # the session's piper: loaded once for the suite


def wav_of(voice, text: str, path: Path) -> tuple[Path, float]:  # noqa: ANN001
    """`text` in piper's voice, as a WAV; and its length in seconds."""
    audio = np.concatenate(list(voice.synthesize(text))) if text else np.zeros(0)
    audio = np.concatenate([audio, np.zeros(int(0.2 * voice.sample_rate))]).astype(np.float32)
    soundfile.write(path, audio, voice.sample_rate)
    return path, audio.size / voice.sample_rate


class Listen:
    """`parley listen --json` running; its events read as they come."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "listen", "--json"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                event = json.loads(line)
                event["t"] = time.monotonic()
                self.events.put(event)

    def until(self, kind: str, timeout: float = 60) -> dict[str, Any]:
        """The next `kind` event; every event before it is kept in `seen`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {kind!r} event; seen: {self.seen}") from None
            self.seen.append(event)
            if event["event"] == "error":
                raise AssertionError(event)
            if event["event"] == kind:
                return event

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(2)  # Ctrl-C
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()


@pytest.mark.models
@pytest.mark.audio
def test_a_hands_free_conversation_on_the_real_sound_stack(pulse, voice, tmp_path: Path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.json").write_text(
        json.dumps({"llm_temperature": 0.0, "llm_threads": 2, "sound_cues": False})
    )
    env = {
        **os.environ,
        "PULSE_SERVER": pulse.server,
        "PARLEY_CONFIG_DIR": str(tmp_path / "config"),
        "PARLEY_DATA_DIR": str(tmp_path / "data"),
        "PARLEY_HISTORY_DIR": str(tmp_path / "history"),
    }
    question, _ = wav_of(voice, "What is the capital of France?", tmp_path / "q1.wav")
    story, _ = wav_of(
        voice, "Tell me a long story about a brave little dragon.", tmp_path / "q2.wav"
    )
    sum_q, sum_len = wav_of(voice, "What is two plus two?", tmp_path / "q3.wav")
    okay, _ = wav_of(voice, "Okay.", tmp_path / "okay.wav")
    cough_wav = tmp_path / "cough.wav"
    soundfile.write(cough_wav, np.concatenate([cough(3), np.zeros(int(0.3 * RATE))]), RATE)

    listen = Listen(env)
    try:
        ready = listen.until("ready", 120)
        assert ready["half_duplex"] == ""
        # 1. A question, no key: answered on the speaker.
        pulse.say(question).wait(timeout=20)
        said = time.monotonic()
        heard = listen.until("heard")
        assert "france" in words(heard["text"]), heard
        speaking = listen.until("speaking")
        reply = listen.until("reply")
        assert "paris" in words(reply["text"]) and not reply["interrupted"], reply
        # Parley's own reply, leaking back from the speaker, started nothing.
        after = [e["event"] for e in listen.seen[listen.seen.index(speaking) :]]
        assert after == ["speaking", "reply"], listen.seen
        first_sound = [speaking["after_last_word"]]

        # 2. A long reply: a cough over it, then an "okay": it goes on.
        pulse.say(story).wait(timeout=20)
        listen.until("heard")
        speaking = listen.until("speaking")
        first_sound.append(speaking["after_last_word"])
        # Until the canceller has heard 5 s of Parley it does not listen over it (the first
        # reply was 2 s); the user is not heard over the reply until it says so.
        listen.until("learnt", 20)
        pulse.say(cough_wav).wait(timeout=20)
        pulse.say(okay).wait(timeout=20)
        resumed = listen.until("resumed", 20)
        over = [e["event"] for e in listen.seen[listen.seen.index(speaking) + 1 :]]
        assert set(over) <= {"learnt", "resumed"}, listen.seen
        # 3. The user's question over it: the reply stops where it was heard, the question
        # is answered.
        time.sleep(0.8)  # let the reply be heard again before the user talks over it
        pulse.say(sum_q)
        barge = listen.until("barge_in", 20)
        ended = listen.until("reply")
        assert ended["interrupted"] and len(ended["heard"]) < len(ended["text"]), ended
        heard = listen.until("heard")
        assert "plus" in words(heard["text"]), heard
        speaking = listen.until("speaking")
        answer = listen.until("reply")  # (what the default model makes of the sum is its own)
        assert answer["text"].strip() and not answer["interrupted"], answer
    finally:
        code, stderr = listen.stop()
    print(
        f"first reply sound after the last word: {first_sound} s; cough: paused after "
        f"{resumed['quiet_after']} s; barge-in: speaker paused {barge['quiet_after']} s after "
        f"the onset ({barge['text']!r}); {time.monotonic() - said:.1f} s of conversation"
    )
    assert code == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert statistics.median(first_sound) < 3.0
    assert barge["quiet_after"] < 1.0
    # Saved as today: the history holds the conversation.
    assert any((tmp_path / "history").rglob("*.db")), list(tmp_path.rglob("*"))


# --- the pieces whose exact timing is the point (a speaker pulled block by block) ----------


def test_a_paused_reply_is_silent_at_once_and_resumes_at_the_sample_it_paused_on():
    speaker = ManualSpeaker(output_rate=16000)
    player = Player(speaker)
    played: list[np.ndarray] = []
    player.tap = lambda block, _rate: played.append(block.copy())
    player.open()
    reply = (0.3 * np.sin(np.arange(16000) / 5) + 0.01).astype(np.float32)  # 1 s, no quiet start
    player.enqueue(1, 0, reply, 16000)
    for _ in range(30):
        speaker.pull()
    player.pause()
    speaker.pull()  # the very next block
    assert not played[-1].any()
    for _ in range(50):  # 0.5 s of the user's cough
        speaker.pull()
    assert player.heard(1)[0] == pytest.approx(0.3)  # the pause is not counted as heard
    player.resume()
    for _ in range(80):
        speaker.pull()
    sound = np.concatenate(played)
    sound = sound[np.abs(sound) > 0]
    np.testing.assert_array_equal(sound, reply)  # all of it, in order, nothing skipped
    # A reply ended while paused (barge-in) leaves the speaker ready for the next one.
    player.enqueue(2, 0, reply[:1600], 16000)
    player.pause()
    player.stop()
    player.enqueue(3, 0, reply[:1600], 16000)
    speaker.pull()
    assert played[-1].any()


def test_without_a_canceller_the_user_is_told_and_parleys_voice_does_not_open_a_turn(voice):
    """Half-duplex: one line says why; what the microphone hears while Parley's reply plays
    (its own voice, in the room) reaches the VAD as silence."""
    from app.pipeline.open_mic import MicEvent, OpenMic

    speech = np.concatenate(list(voice.synthesize("What is the capital of France?")))
    speech = resample(speech, voice.sample_rate, RATE)
    events: list[MicEvent] = []
    mic = OpenMic(ManualSpeaker(input_rate=RATE), None, echo=False)  # blocks fed by hand
    mic.on_event = events.append
    mic.start()
    try:
        assert [e.kind for e in events] == ["half_duplex"] and "headphones" in events[0].reason
        block = RATE // 100
        for i in range(0, speech.size - block, block):
            mic.played(speech[i : i + block], RATE)  # Parley speaks...
            mic._callback(speech[i : i + block, None])  # ...and hears itself
        assert [e.kind for e in events] == ["half_duplex"]
        mic.gate = HalfDuplexGate(tail_seconds=0.0)  # Parley has finished speaking
        for i in range(0, speech.size - block, block):
            mic._callback(speech[i : i + block, None])  # the user says the same words
        assert "start" in [e.kind for e in events]
    finally:
        mic.close()
