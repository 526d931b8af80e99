"""The real sound path: sounddevice -> PortAudio -> ALSA's pulse plugin -> a PulseAudio server
with a virtual microphone and speaker (../shared/virtual-audio). No sound card is needed, yet
the real capture and playback code runs at the device's own rate, and what comes out of the
virtual speaker is recorded and listened to by the real speech recogniser.

The 'no PortAudio' tests need neither and run anywhere."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.audio.backend import AudioUnavailable
from app.audio.capture import STT_RATE, Recorder
from app.audio.playback import Player
from app.audio.resample import resample
from app.audio.sounddevice_backend import SoundDeviceBackend
from app.audio.wavfile import read_audio
from app.bus import EventBus
from app.bus.events import EngineStatus, TurnFinished
from app.session import Session
from tests.realtools import (
    VIRTUAL_AUDIO,
    SpeakerRecording,
    assert_clean_failure,
    parley,
    rms,
    say_into_mic,
    similarity,
    speech_span,
    words,
)

audio = pytest.mark.audio


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def trailing_quiet(samples: np.ndarray, rate: int, threshold: float = 0.02) -> float:
    """Seconds of quiet after the last loud sample (0 while nothing loud was captured yet)."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    return (len(samples) - loud[-1]) / rate if loud.size else 0.0


@pytest.fixture(scope="module")
def backend(virtual_audio: str) -> SoundDeviceBackend:
    """The real backend, seeing the virtual sound server."""
    import sounddevice

    b = SoundDeviceBackend()
    if not b.devices():
        # PortAudio lists devices once, when it starts: if something in this test session
        # started it before PULSE_SERVER was set, start it again now.
        sounddevice._terminate()
        sounddevice._initialize()
    return b


# --- devices ------------------------------------------------------------------------------


@audio
def test_parley_devices_lists_an_input_and_an_output(virtual_audio):
    run = parley("devices", timeout=60)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    rows = [
        re.match(r"\s*(\d+)\s+(.+?)\s+in\s+(\d+)\s+out\s+(\d+)\s+(\d+) Hz\s*(.*)$", line)
        for line in run.stdout.splitlines()
    ]
    assert rows and all(rows), run.stdout
    inputs = [r for r in rows if int(r[3]) > 0]
    outputs = [r for r in rows if int(r[4]) > 0]
    assert inputs and outputs, run.stdout
    assert any("<in" in r[6] for r in inputs), run.stdout  # the default microphone is marked
    assert any("out>" in r[6] for r in outputs), run.stdout  # and the default speaker
    assert all(int(r[5]) >= 8000 for r in rows)


@audio
def test_backend_finds_the_pulse_devices_by_default_name_and_index(backend):
    devices = backend.devices()
    names = [d.name for d in devices]
    assert "pulse" in names and "default" in names, names
    mic = backend.resolve(None, "input")
    speaker = backend.resolve(None, "output")
    assert mic.is_default_input and mic.max_input_channels > 0
    assert speaker.is_default_output and speaker.max_output_channels > 0
    assert backend.resolve("pulse", "input").name == "pulse"
    assert backend.resolve("PULSE", "output").name == "pulse"  # names match case-insensitively
    assert backend.resolve(str(mic.index), "input") == mic  # an index typed in settings
    with pytest.raises(AudioUnavailable, match="No input device matches 'usb headset'") as err:
        backend.resolve("usb headset", "input")
    assert "pulse" in str(err.value)  # the message lists what is there


# --- playback -----------------------------------------------------------------------------

PLAYED = "The quick brown fox jumps over the lazy dog."


@audio
@pytest.mark.models
@pytest.mark.parametrize("device", [None, "pulse"], ids=["default-device", "pulse-by-name"])
def test_player_speaks_through_the_virtual_speaker(backend, real_models, tmp_path, device):
    tts, stt = real_models.tts, real_models.stt
    reply = np.concatenate(list(tts.synthesize(PLAYED)))
    seconds = len(reply) / tts.sample_rate
    started, finished = threading.Event(), threading.Event()
    player = Player(
        backend, device, on_started=lambda t: started.set(), on_finished=lambda t: finished.set()
    )
    recording = SpeakerRecording(tmp_path / "speaker.wav")
    try:
        recording.wait_started()
        player.open()
        assert player.device is not None
        if device:
            assert player.device.name == device
        assert player.rate == player.device.default_samplerate  # the device's own rate

        t0 = time.monotonic()
        player.enqueue(1, 0, reply, tts.sample_rate)
        player.finish(1)
        assert finished.wait(seconds + 10), "playback never finished"
        took = time.monotonic() - t0
        assert started.is_set()
        assert player.heard(1) == {0: 1.0}  # all of the sentence was played
        assert took > 0.8 * seconds  # at the pace of speech, not dumped at once
        # Let the last blocks leave the device before the recording stops.
        size = recording.path.stat().st_size
        wait_until(lambda: recording.path.stat().st_size > size + 22050, 10, "the tail")
    finally:
        player.close()
        recorded, rate = recording.stop()

    assert rms(recorded) > 0.01, "the speaker stayed silent"
    # Same length of speech as synthesised: the right rate, nothing dropped or repeated.
    played_span = speech_span(recorded, rate)
    expected = speech_span(reply, tts.sample_rate)
    assert abs(played_span - expected) < 0.03 * expected, (played_span, expected)
    heard = stt.transcribe(resample(recorded, rate, STT_RATE))
    assert similarity(heard, PLAYED) >= 0.85, heard


# --- capture ------------------------------------------------------------------------------

SPOKEN = "Please open the window and water the plants."


@audio
@pytest.mark.models
@pytest.mark.parametrize("device", [None, "pulse"], ids=["default-device", "pulse-by-name"])
def test_recorder_captures_speech_from_the_virtual_mic(backend, real_models, speech, device):
    wav = speech(SPOKEN)  # 48 kHz stereo
    source, source_rate = read_audio(wav)
    recorder = Recorder(backend, device)
    levels: list[float] = []
    recorder.start()  # the user presses the talk button and speaks at once
    try:
        assert recorder.device is not None
        if device:
            assert recorder.device.name == device
        assert recorder.rate == recorder.device.default_samplerate
        talking = subprocess.Popen([str(VIRTUAL_AUDIO), "say", str(wav)])

        def done() -> bool:
            levels.append(recorder.level)
            if talking.poll() is None:
                return False
            return trailing_quiet(recorder.snapshot(), STT_RATE) > 0.3

        wait_until(done, 30, "the end of the speech to arrive")
        assert talking.returncode == 0
    finally:
        captured = recorder.stop()

    assert not recorder.recording and recorder.level == 0.0
    assert captured.dtype == np.float32 and captured.ndim == 1
    assert max(levels) > 0.5  # the level meter moved while the user spoke
    captured_span = speech_span(captured, STT_RATE)
    expected = speech_span(source, source_rate)
    assert abs(captured_span - expected) < 0.03 * expected, (captured_span, expected)
    heard = real_models.stt.transcribe(captured)
    assert similarity(heard, SPOKEN) >= 0.85, heard


@audio
def test_holding_the_key_on_a_busy_machine_costs_little_cpu(backend, speech):
    """While the key is held the speaker is open and the microphone records, and the machine
    is busy (the reply started at a pause runs on both cores). PortAudio's capture thread
    then spun on the pulse plugin's poll: 0.5-0.7 of a core per second held, in most holds,
    taken from whisper and the LLM. The capture must cost a small share of a core, and
    still hear all of the speech."""
    wav = speech("Hold on while I think about this question.")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    player, recorder = Player(backend), Recorder(backend)
    try:
        for _ in range(3):  # the spin came in most holds, not every one
            player.open()  # as the session does when the key goes down
            recorder.start()
            cpu, wall = time.process_time(), time.monotonic()
            say_into_mic(wav)
            cost = (time.process_time() - cpu) / (time.monotonic() - wall)
            captured = recorder.stop()
            player.close()
            assert cost < 0.15, f"{cost:.2f} s of CPU per second held"
            assert rms(captured) > 0.01, "the speech was not captured"
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()


# --- a whole spoken turn through the sound system -----------------------------------------


@audio
@pytest.mark.models
def test_spoken_turn_through_the_virtual_mic_and_speaker(
    backend, real_models, settings, speech, tmp_path
):
    question = speech("What is the capital of France?")
    recording = SpeakerRecording(tmp_path / "speaker.wav")
    recording.wait_started()

    async def scenario() -> tuple[TurnFinished, list[EngineStatus]]:
        bus = EventBus(asyncio.get_running_loop())
        statuses: list[EngineStatus] = []
        finished: asyncio.Future[TurnFinished] = asyncio.get_running_loop().create_future()
        bus.subscribe(EngineStatus, statuses.append)
        bus.subscribe(TurnFinished, lambda e: finished.done() or finished.set_result(e))
        session = Session(
            settings, bus, engines=real_models.engines(bus, settings), backend=backend
        )
        try:
            assert session.recorder is not None and session.player is not None
            session.start()
            await asyncio.get_running_loop().run_in_executor(None, session.engines.wait)

            turn_id = session.turns.begin_listening()  # push-to-talk down
            session.recorder.start()
            await asyncio.to_thread(say_into_mic, question)
            await asyncio.to_thread(
                wait_until,
                lambda: trailing_quiet(session.recorder.snapshot(), STT_RATE) > 0.3,
                10,
                "the question to arrive",
            )
            session.turns.submit_audio(turn_id, session.recorder.stop())  # push-to-talk up
            # TurnFinished comes once the speaker has played the whole reply.
            result = await asyncio.wait_for(finished, 120)
            size = recording.path.stat().st_size
            await asyncio.to_thread(
                wait_until, lambda: recording.path.stat().st_size > size + 22050, 10, "the tail"
            )
        finally:
            session.close()
        return result, statuses

    try:
        result, statuses = asyncio.run(scenario())
    finally:
        recorded, rate = recording.stop()

    audio_status = [s for s in statuses if s.engine == "audio"]
    assert [s.state for s in audio_status] == ["ready"], audio_status
    assert "france" in words(result.transcript), result
    assert "paris" in words(result.reply), result
    assert not result.interrupted and result.spoken == result.reply
    assert all(v is not None and v > 0 for v in result.timings.values()), result.timings
    heard = real_models.stt.transcribe(resample(recorded, rate, STT_RATE))
    assert similarity(heard, result.reply) >= 0.85, (heard, result.reply)


def streams_into_the_speaker() -> int:
    """Playback streams the sound server has open into the virtual speaker: its own view of
    whether an application is keeping the speaker (and the server) busy."""

    def pactl(*args: str) -> list[list[str]]:
        out = subprocess.run(["pactl", "list", "short", *args], capture_output=True, text=True)
        return [line.split("\t") for line in out.stdout.splitlines() if line.strip()]

    speaker = next(row[0] for row in pactl("sinks") if row[1] == "speaker")
    return sum(1 for row in pactl("sink-inputs") if row[1] == speaker)


@audio
def test_an_idle_parley_closes_the_speaker_and_the_next_reply_is_heard_whole(
    backend, real_models, settings, tmp_path
):
    """An open output stream plays silence through the sound server all the time (60 ms of
    CPU a second here, with nothing to say): once idle, Parley closes it, and opens it again
    when the next turn begins, without clipping that reply's first words."""
    recording: list[SpeakerRecording] = []

    async def scenario() -> tuple[list[int], TurnFinished]:
        loop = asyncio.get_running_loop()
        bus = EventBus(loop)
        session = Session(
            settings, bus, engines=real_models.engines(bus, settings), backend=backend
        )
        session.speaker_idle_seconds = 0.5
        seen = []

        async def ask(text: str) -> TurnFinished:
            finished: asyncio.Future[TurnFinished] = loop.create_future()
            off = bus.subscribe(TurnFinished, lambda e: finished.done() or finished.set_result(e))
            session.turns.ask(text)
            await asyncio.sleep(0.05)
            seen.append(await asyncio.to_thread(streams_into_the_speaker))  # a turn: open
            result = await asyncio.wait_for(finished, 120)
            off()
            return result

        try:
            session.start()
            await loop.run_in_executor(None, session.engines.wait)
            await ask("Say hello.")
            await asyncio.sleep(1.5)
            seen.append(await asyncio.to_thread(streams_into_the_speaker))  # idle: closed
            recording.append(SpeakerRecording(tmp_path / "speaker.wav"))
            await asyncio.to_thread(recording[0].wait_started)
            result = await ask("What is the capital of France?")
            await asyncio.sleep(1.0)  # the reply's tail through the server into the recording
        finally:
            session.close()
        return seen, result

    try:
        seen, result = asyncio.run(scenario())
    finally:
        if recording:
            recorded, rate = recording[0].stop()
    assert seen == [1, 0, 1], seen
    assert "paris" in words(result.reply), result
    heard = real_models.stt.transcribe(resample(recorded, rate, STT_RATE))
    # Played from a stream opened for it: all of it, its first words too.
    assert similarity(heard, result.reply) >= 0.85, (heard, result.reply)
    assert words(heard)[:2] == words(result.reply)[:2], (heard, result.reply)


# --- no PortAudio ---------------------------------------------------------------------------

HIDE_PORTAUDIO = '''\
"""Test helper: this Python cannot find the PortAudio library, as if it were not installed."""
import ctypes.util

_find_library = ctypes.util.find_library


def find_library(name):
    return None if "portaudio" in name else _find_library(name)


ctypes.util.find_library = find_library
'''


def _env_without_portaudio(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "sitecustomize.py").write_text(HIDE_PORTAUDIO)
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    return env


def test_no_portaudio_devices_says_what_to_install(tmp_path):
    env = _env_without_portaudio(tmp_path)
    # The stand-in is effective: sounddevice itself cannot load here.
    probe = subprocess.run(
        [sys.executable, "-c", "import sounddevice"], capture_output=True, text=True, env=env
    )
    assert probe.returncode == 1 and "OSError: PortAudio library not found" in probe.stderr

    run = parley("devices", env=env, timeout=60)

    line = assert_clean_failure(run, code=1)
    assert "PortAudio" in line and "apt-get install libportaudio2" in line
    assert run.stdout == ""


@pytest.mark.models
def test_no_portaudio_typed_questions_still_work(tmp_path):
    run = parley(
        "ask", "--text", "What is the capital of France?", env=_env_without_portaudio(tmp_path)
    )
    assert run.returncode == 0, run.stderr
    assert "paris" in words(run.stdout)


def _portaudio_file() -> Path | None:
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    try:
        out = subprocess.run([ldconfig, "-p"], capture_output=True, text=True).stdout
    except OSError:
        return None
    m = re.search(r"libportaudio\.so\.2 .*=> (\S+)", out)
    return Path(m[1]).resolve() if m else None


def test_broken_portaudio_library_devices_says_what_to_install():
    """The real loader fails on a damaged libportaudio: hidden behind an empty file in a
    private mount namespace, so nothing outside this one command sees the change."""
    lib = _portaudio_file()
    if lib is None or not shutil.which("unshare"):
        pytest.skip("needs libportaudio2 installed and unshare")
    cmd = 'mount --bind /dev/null "$0" && exec "$@"'
    parley_cmd = [sys.executable, "-m", "app", "devices"]
    for flags in (["-m"], ["-r", "-m"]):  # as root, or in a user namespace
        run = subprocess.run(
            ["unshare", *flags, "--propagation", "private", "sh", "-c", cmd, str(lib)] + parley_cmd,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if "mount" not in run.stderr and "unshare" not in run.stderr:
            break
    else:
        pytest.skip(f"cannot make a private mount namespace here: {run.stderr.strip()}")
    line = assert_clean_failure(run, code=1)
    assert "PortAudio" in line and "apt-get install libportaudio2" in line
