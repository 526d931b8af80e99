"""The open microphone's front end (issue 26): Parley's own voice leaking back from the speaker
must not read as the user speaking, while the user speaking over it still does.

Offline scenes (tests/echo_scene.py: piper's voice through a synthetic room) where the numbers
must be repeatable; the real sound stack (a private PulseAudio with the speaker leaking into
the microphone, as virtual-audio's `room on`) where the point is the real player and
microphone threads. The half-duplex window is checked on a hand-driven fake speaker, where
exact timing is the point."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from app.audio.backend import open_native_stream
from app.audio.echo import PROCESS_RATE, EchoCanceller
from app.audio.half_duplex import (
    LOW_REDUCTION,
    MIN_ERLE_DB,
    NO_CANCELLER,
    TAIL_SECONDS,
    HalfDuplexGate,
    fallback_reason,
)
from app.audio.playback import Player
from app.audio.resample import resample, to_mono
from app.stt.stream_vad import (
    MIN_SILENCE_SECONDS,
    MIN_SPEECH_SECONDS,
    OVER_ECHO,
    StreamingVad,
)
from tests import echo_scene as scene
from tests.manual_speaker import ManualSpeaker
from tests.private_pulse import PrivatePulse

models = pytest.mark.models


@pytest.fixture(scope="module")
def voice(real_models):
    return real_models.tts  # the session's piper: loaded once for the suite


@pytest.fixture(scope="module")
def replies(voice) -> np.ndarray:
    return scene.speak(voice, scene.REPLIES)


@pytest.fixture(scope="module")
def users(voice) -> list[np.ndarray]:
    return [scene.speak(voice, [text]) for text in scene.USER]


def to16k(samples: np.ndarray) -> np.ndarray:
    return resample(samples, scene.RATE, PROCESS_RATE)


# --- Parley's own voice in the room --------------------------------------------------------


@models
def test_own_voice_leaking_back_is_not_heard_as_speech(replies):
    """The room at 0 dB: the echo as loud as it plays (at -6 dB: the double-talk test below,
    whose room holds nothing else outside the user's words)."""
    gain_db = 0
    assert replies.size / scene.RATE >= 20
    mic = scene.room(replies, gain_db)
    raw = scene.long_runs(to16k(mic))
    canceller = EchoCanceller(scene.RATE)
    cleaned = scene.cancel(replies, mic, canceller)
    runs = scene.long_runs(cleaned.audio)
    runs_over_echo = scene.long_runs(cleaned.audio, OVER_ECHO)  # the thresholds while it speaks
    print(
        f"room {gain_db} dB, {replies.size / scene.RATE:.1f} s of replies: ERLE "
        f"{cleaned.erle_db:.1f} dB, {cleaned.cpu_per_frame * 1e3:.3f} ms CPU per 10 ms; "
        f"speech runs >= {MIN_SPEECH_SECONDS * 1000:.0f} ms: {len(raw)} raw, {len(runs)} cleaned"
    )
    assert len(raw) >= 5  # without the canceller, Parley would answer itself
    assert runs == [] and runs_over_echo == []
    assert cleaned.erle_db is not None and cleaned.erle_db >= MIN_ERLE_DB
    # Half-duplex only while it learnt the room: it listens over Parley's voice now.
    assert canceller.converged
    assert fallback_reason(EchoCanceller(scene.RATE)) == ""  # not measured yet: no fallback


@models
def test_the_user_speaking_over_the_reply_is_still_heard(replies, users):
    """Double talk: the user, 6 dB louder than the echo (room at -6 dB), starts to speak at
    several points of the reply, once the canceller has learnt the room; each is detected
    (with the VAD's thresholds for while Parley speaks), and nothing outside them."""
    echo = scene.room(replies, -6)
    mic = echo.copy()
    spans = []
    for n, at in enumerate([6.0, 10.5, 15.0, 19.5]):
        user = users[n % len(users)]
        start = int(at * scene.RATE)
        mic[start : start + user.size] += user[: mic.size - start]
        spans.append((at + scene.onset(user), at + user.size / scene.RATE))
    canceller = EchoCanceller(scene.RATE)
    cleaned = scene.cancel(replies, mic, canceller).audio
    heard = scene.detections(cleaned, OVER_ECHO)
    stray = [t for t in heard if not any(s - 0.1 <= t <= e + 0.6 for s, e in spans)]
    assert stray == [], f"echo read as speech at {stray}"
    delays = []
    for spoken, end in spans:
        mine = [t for t in heard if spoken - 0.1 <= t <= end]
        assert mine, f"the user at {spoken:.2f} s was never heard"
        delays.append(mine[0] - spoken)
    by_itself = np.concatenate([np.zeros(scene.RATE, np.float32), users[0]])
    alone = scene.detections(to16k(by_itself))[0] - 1.0 - scene.onset(users[0])
    print(
        f"double talk detected after {[round(d, 2) for d in delays]} s (median "
        f"{statistics.median(delays):.2f}); the same words alone: {alone:.2f} s"
    )
    assert canceller.converged
    assert statistics.median(delays) < 0.6 and max(delays) < 1.5


@models
def test_a_late_reference_is_measured_and_can_be_held_back(replies):
    """A reference that reaches the canceller 40 ms after its echo cannot be cancelled: the
    measured reduction says so (the caller falls back to half-duplex), and holding the
    microphone back (mic_delay_ms) restores it. 12 s of replies: past the 5 s it learns in."""
    replies = replies[: 12 * scene.RATE]
    mic = scene.room(replies, -6)
    late_ms = scene.ROOM_DELAY_MS + 40
    # The canceller's own output, not turned down while it learns: what it lets through.
    canceller = EchoCanceller(scene.RATE, deaf_while_learning=False)
    late = scene.cancel(replies, mic, canceller, late_ms=late_ms)
    held_canceller = EchoCanceller(scene.RATE, mic_delay_ms=late_ms + 20)
    held = scene.cancel(replies, mic, held_canceller, late_ms=late_ms)
    print(
        f"reference 40 ms after its echo: ERLE {late.erle_db:.1f} dB, held back {held.erle_db:.1f}"
    )
    assert late.erle_db is not None and late.erle_db < MIN_ERLE_DB
    assert scene.long_runs(late.audio) != [] and not canceller.converged
    assert fallback_reason(canceller) == LOW_REDUCTION.format(db=canceller.erle_db)
    assert fallback_reason(None) == NO_CANCELLER
    assert held.erle_db is not None and held.erle_db >= MIN_ERLE_DB
    assert scene.long_runs(held.audio) == []
    # The microphone comes out that much later, no more.
    lag = late.audio.size - held.audio.size
    assert abs(lag - (late_ms + 20) * PROCESS_RATE // 1000) <= scene.BLOCK


# --- the streaming VAD ---------------------------------------------------------------------


@models
def test_streaming_vad_matches_the_whole_clip_run_and_reports_start_and_end(users):
    from faster_whisper.vad import get_vad_model

    said = to16k(np.concatenate([np.zeros(scene.RATE, np.float32), users[0]]))
    said = np.concatenate([said, np.zeros(PROCESS_RATE, np.float32)])
    vad = StreamingVad()
    steps = [vad.feed(said[i : i + 160]) for i in range(0, said.size, 160)]  # 10 ms blocks
    streamed = np.concatenate([s.probabilities for s in steps])
    whole = get_vad_model()(said[: streamed.size * 512]).reshape(-1)
    assert np.allclose(streamed, whole, atol=1e-5)
    events = [e for s in steps for e in s.events]
    print(f"Silero VAD: {vad.cpu_seconds / vad.windows * 1e3:.3f} ms CPU per 32 ms window")
    spoken = 1.0 + scene.onset(users[0])
    last = 1.0 + len(users[0]) / scene.RATE - scene.PAUSE_SECONDS
    assert [e.kind for e in events] == ["start", "end"]
    assert abs(events[0].at - spoken) < 0.1
    assert events[1].at > last - 0.5  # after the last word...
    assert events[1].at + MIN_SILENCE_SECONDS < said.size / PROCESS_RATE  # ...and reported


# --- half-duplex ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_half_duplex_window_runs_from_the_first_sample_played_to_the_last_plus_tail():
    clock = Clock()
    gate = HalfDuplexGate(clock=clock)
    speaker = ManualSpeaker(output_rate=48000)
    player = Player(speaker)
    player.tap = gate.played
    player.open()
    block = 480  # 10 ms

    def pull(n: int) -> None:
        for _ in range(n):
            speaker.pull()
            clock.now += 0.01

    pull(5)  # the speaker is open, nothing to play
    assert gate.window() is None and not gate.deaf()
    # The whole reply is synthesised at once: 0.5 s, a 0.2 s pause, 0.3 s.
    tone = (0.3 * np.sin(np.arange(48000) / 5)).astype(np.float32)
    reply = np.concatenate([tone[:24000], np.zeros(9600, np.float32), tone[:14400]])
    player.enqueue(1, 0, reply, 48000)
    player.finish(1)
    synthesis_done = clock.now
    first = clock.now
    assert not gate.deaf(first - 0.001)
    pull(1)
    assert gate.window() == (first, pytest.approx(first + 0.01 + TAIL_SECONDS))
    pull(reply.size // block + 20)  # all of it, and 0.2 s of silence after
    last_end = first + reply.size / 48000
    start, end = gate.window()
    assert start == first  # the pause within the reply did not reopen the microphone
    assert end == pytest.approx(last_end + TAIL_SECONDS)
    assert end > synthesis_done + 1.0  # what counts is playing, not synthesis
    assert gate.deaf(last_end + TAIL_SECONDS - 0.001) and not gate.deaf(end + 0.001)
    clock.now = end + 0.01
    loud = np.ones(160, np.float32)
    assert gate.gate(loud) is loud
    clock.now = end - 0.01
    assert not gate.gate(loud).any()
    player.close()


# --- the real sound stack ------------------------------------------------------------------


@pytest.fixture
def pulse(private_pulse: PrivatePulse) -> PrivatePulse:
    return private_pulse


class OpenMicrophone:
    """The real microphone through the canceller, on the microphone's own thread, the raw
    blocks kept beside the cleaned ones."""

    def __init__(self, backend, canceller_for) -> None:  # noqa: ANN001
        device = backend.resolve(None, "input")
        self.rate = device.default_samplerate
        self.canceller: EchoCanceller = canceller_for(self.rate)
        self.raw: list[np.ndarray] = []
        self.cleaned: list[np.ndarray] = []
        self.lock = threading.Lock()
        self.stream = open_native_stream(backend, "input", device, self._block, 0.01)

    def _block(self, frames: np.ndarray) -> None:
        mono = to_mono(frames).copy()
        cleaned = self.canceller.process(mono)
        with self.lock:
            self.raw.append(mono)
            self.cleaned.append(cleaned)

    def audio(self) -> tuple[np.ndarray, np.ndarray]:
        with self.lock:
            raw, cleaned = np.concatenate(self.raw), np.concatenate(self.cleaned)
        return resample(raw, self.rate, PROCESS_RATE), cleaned


@models
@pytest.mark.audio
def test_real_sound_stack_own_voice_is_cancelled_and_the_user_heard(
    pulse, replies, users, tmp_path: Path
):
    """The room at 0 dB, the louder leak (at -6 dB the real stack runs under
    tests/test_hands_free.py's whole conversation)."""
    from app.audio.sounddevice_backend import SoundDeviceBackend

    gain_db = 0
    pulse.room(gain_db, scene.ROOM_DELAY_MS)
    backend = SoundDeviceBackend()
    played = replies[: 11 * scene.RATE]
    done = threading.Event()
    player = Player(backend, on_finished=lambda _turn: done.set())
    mic = OpenMicrophone(backend, EchoCanceller)
    player.tap = mic.canceller.reference
    player.open()
    mic.stream.start()
    try:
        time.sleep(0.3)
        began = time.monotonic()
        player.enqueue(1, 0, played, scene.RATE)
        player.finish(1)
        user = users[1]
        wav = tmp_path / "user.wav"
        soundfile.write(wav, user, scene.RATE)
        # Deaf over Parley until the canceller has learnt the room (5 s of it heard); then 2 s
        # more of Parley alone before the user speaks over it.
        while not mic.canceller.converged and time.monotonic() - began < 9.0:
            time.sleep(0.02)
        learnt = mic.canceller.converged
        learnt_at = time.monotonic() - began
        time.sleep(2.0)
        erle = mic.canceller.erle_db  # Parley alone so far: the user would lower it
        said = time.monotonic()
        pulse.say(wav).wait(timeout=20)
        assert done.wait(timeout=20)
        time.sleep(0.5)
    finally:
        closed = time.monotonic()
        mic.stream.close()
        player.close()
    raw, cleaned = mic.audio()
    # Where the user began, on the microphone's clock (its last block came as it closed);
    # paplay's own start-up delay counts against the canceller here.
    spoken = cleaned.size / PROCESS_RATE - (closed - said) + scene.onset(user)
    echo_only = cleaned[: int((spoken - 0.1) * PROCESS_RATE)]
    raw_runs = scene.long_runs(raw[: echo_only.size])
    runs = scene.long_runs(echo_only) + scene.long_runs(echo_only, OVER_ECHO)
    heard = [t for t in scene.detections(cleaned, OVER_ECHO) if t >= spoken - 0.1]
    delay = heard[0] - spoken if heard else None
    print(
        f"real stack, room {gain_db} dB: learnt the room {learnt_at:.1f} s into the reply; "
        f"ERLE {erle:.1f} dB (with the user over it "
        f"{mic.canceller.erle_db:.1f}); speech runs in "
        f"{echo_only.size / PROCESS_RATE:.1f} s of echo: {len(raw_runs)} raw, {len(runs)} "
        f"cleaned; the user over the reply heard after {delay} s"
    )
    assert len(raw_runs) >= 3
    assert runs == []
    assert erle is not None and erle >= MIN_ERLE_DB and learnt
    assert delay is not None and delay < 1.5
