"""The window as `parley` builds it (real sounddevice audio, started fresh in this process), on
scripted engines, for tests and bench/sound_system.py that start Parley against a sound
system that is missing or hangs. One JSON line on stdout when the window is shown and at
each change of the audio status; it quits when stdin closes.

    python -m tests.sound_window        # with PULSE_SERVER, PARLEY_*_DIR set by the caller
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def scripted_window(loop: asyncio.AbstractEventLoop) -> Any:
    """The window with the real audio backend and engines that load nothing."""
    from app.bus import EventBus
    from app.config import Settings
    from app.pipeline.engines import Engines
    from app.ui.app import build_window, real_backend
    from tests.fakes import FakeSTT, FakeTTS
    from tests.test_turns import ScriptedLLM

    settings = Settings()
    settings.sound_cues = False
    bus = EventBus(loop)
    engines = Engines(
        bus,
        settings,
        stt_factory=lambda _s: FakeSTT(),
        llm_factory=lambda _s, _p: ScriptedLLM(["Fine. Thank you."]),
        tts_factory=lambda _s: FakeTTS(0.01),
        warm_up=False,
    )
    return build_window(settings, bus, real_backend(), engines)


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from qasync import QEventLoop

    from app.bus.events import EngineStatus

    app = QApplication(sys.argv)
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    began = time.monotonic()

    def say(**fields: Any) -> None:
        print(json.dumps({"t": time.monotonic() - began, **fields}), flush=True)

    window = scripted_window(loop)
    window.show()
    app.processEvents()
    say(shown=True, audio=window.status.states.get("audio", ""))

    def on_status(ev: EngineStatus) -> None:
        if ev.engine == "audio":  # the window has handled it: its talk button is up to date
            QTimer.singleShot(0, lambda: say(audio=ev.state, detail=ev.detail,
                                             talk=window.talk_button.isEnabled()))  # fmt: skip

    window.bus.subscribe(EngineStatus, on_status)
    # Quit when the caller closes stdin (read on a thread: the window's must not wait).
    threading.Thread(
        target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(app.quit)), daemon=True
    ).start()
    with loop:
        loop.run_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
