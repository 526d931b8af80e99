"""Shared fixtures: settings in a temp dir, the real default models (loaded once), fake
engines, spoken test audio made with espeak-ng, and the virtual PulseAudio sound stack."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio  # noqa: E402

import qasync  # noqa: E402

from app.audio.fake import FakeAudioBackend  # noqa: E402
from app.bus import EventBus  # noqa: E402
from app.bus.events import LlmDelta, PlaybackStarted, TtsChunk, TurnFinished  # noqa: E402
from app.config import Settings  # noqa: E402
from app.pipeline.engines import Engines  # noqa: E402
from tests.private_pulse import PrivatePulse
from tests.realtools import espeak  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
VIRTUAL_AUDIO = REPO.parent / "shared" / "virtual-audio"
PULSE_SERVER = "unix:/tmp/parley-pulse/sock"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Settings and conversations never touch the developer's real ones; the joined default
    LLM is shared."""
    monkeypatch.setenv("PARLEY_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("PARLEY_HISTORY_DIR", str(tmp_path_factory.mktemp("history")))
    monkeypatch.setenv("PARLEY_LOG_DIR", str(tmp_path_factory.mktemp("log")))


@pytest.fixture
def settings() -> Settings:
    s = Settings()
    s.llm_max_tokens = 48  # short replies keep the real-model tests quick
    s.llm_temperature = 0.0
    s.llm_threads = 2
    return s


class RealModels:
    """The offline default engines, loaded once per test session."""

    def __init__(self) -> None:
        from app.llm.factory import create_llm
        from app.stt.factory import create_stt
        from app.tts.factory import create_tts

        s = Settings()
        s.llm_threads = 2
        self.stt = create_stt(s)
        self.llm = create_llm(s)
        self.tts = create_tts(s)

    def engines(self, bus: EventBus, settings: Settings) -> Engines:
        """Engines on the shared models. A test that switches to another model, voice or
        language (Engines.reload) gets a real new engine; the shared ones are never closed."""
        from app.llm.factory import create_llm
        from app.pipeline.engines import release_engine
        from app.stt.factory import create_stt
        from app.tts.factory import create_tts

        shared = (self.stt, self.llm, self.tts)

        def stt(s: Settings):
            return create_stt(s) if s.stt_model or s.stt_language else self.stt

        def llm(s: Settings, progress):
            local_default = not (s.llm_model or s.llm_mmproj or getattr(s, "llm_url", ""))
            return self.llm if local_default else create_llm(s, progress)

        def tts(s: Settings):
            return create_tts(s) if s.tts_voice else self.tts

        def release(engine) -> None:
            if not any(engine is e for e in shared):
                release_engine(engine)

        return Engines(
            bus,
            settings,
            stt_factory=stt,
            llm_factory=llm,
            tts_factory=tts,
            warm_up=False,
            release=release,
        )


@pytest.fixture(scope="session")
def real_models() -> RealModels:
    return RealModels()


@pytest.fixture
def speech(tmp_path: Path):
    """speech("text", rate=48000, channels=2) -> Path of a WAV of espeak-ng saying it."""

    def make(text: str, rate: int = 48000, channels: int = 2) -> Path:
        return espeak(
            text, tmp_path / f"speech-{abs(hash((text, rate, channels)))}.wav", rate, channels
        )

    return make


@pytest.fixture(scope="session")
def virtual_audio() -> Iterator[str]:
    """A running PulseAudio server with a virtual mic and speaker; yields PULSE_SERVER."""
    if not VIRTUAL_AUDIO.exists():
        pytest.skip(f"{VIRTUAL_AUDIO} (the virtual sound stack) is not on this machine")
    subprocess.run([str(VIRTUAL_AUDIO), "start"], check=True)
    os.environ["PULSE_SERVER"] = PULSE_SERVER
    yield PULSE_SERVER


# --- the real window, offscreen ------------------------------------------------------------


@pytest.fixture
def private_pulse(virtual_audio: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivatePulse]:
    """A private sound server (a room leak set on it must not reach other tests'
    microphones), the one this test's PortAudio streams connect to (PULSE_SERVER)."""
    server = PrivatePulse()
    server.start()
    monkeypatch.setenv("PULSE_SERVER", server.server)
    yield server
    server.close()


@pytest.fixture
def qloop(qapp):
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture
def gui(qtbot, qloop, settings, real_models):
    """The main window on the real default models, with the fake audio device; `.events`
    records turn results, deltas, audio chunks and playback starts."""
    from app.ui.app import build_window

    settings.sound_cues = False
    backend = FakeAudioBackend()
    bus = EventBus(qloop)
    window = build_window(settings, bus, backend, real_models.engines(bus, settings))
    qtbot.addWidget(window)
    window.show()
    window.session.start()
    qtbot.waitUntil(
        lambda: all(window.status.states.get(n) == "ready" for n in ("stt", "llm", "tts")),
        timeout=60_000,
    )
    events: list = []
    bus.subscribe(TurnFinished, events.append)
    bus.subscribe(LlmDelta, events.append)
    bus.subscribe(TtsChunk, events.append)
    bus.subscribe(PlaybackStarted, events.append)
    window.events = events
    window.backend = backend
    yield window
    window.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config._parley_exit = int(exitstatus)  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave at once with pytest's own status once everything is reported: a worker QThread
    still winding down when the interpreter tears Qt down aborts the process (SIGABRT) after
    a green run, which would read as a failure. (The hands-free window's threads; to fix.)"""
    import sys

    status = getattr(config, "_parley_exit", None)
    if status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
