"""Start the window: show it at once, then open audio and load the models in the background."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from app.audio.backend import AudioBackend, AudioUnavailable
from app.bus import EventBus
from app.bus.events import EngineStatus
from app.config import Settings, history_dir
from app.pipeline.engines import Engines
from app.session import Session
from app.storage.chat_lock import ChatLocks
from app.storage.chats import ChatStore
from app.storage.database import StoreUnavailable
from app.ui.display_check import display_problem

log = logging.getLogger(__name__)


class _NoAudio:
    """Stands in when PortAudio itself is missing: every device lookup says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def devices(self) -> list:  # noqa: ANN201
        raise AudioUnavailable(self.reason)

    def resolve(self, device: object, kind: str) -> object:
        raise AudioUnavailable(self.reason)

    def open_stream(self, *args: object, **kwargs: object) -> object:
        raise AudioUnavailable(self.reason)


def real_backend() -> AudioBackend:
    """PortAudio's backend, not started yet: importing sounddevice starts PortAudio, which
    lists the devices and waited 120 s here for a sound server that hangs. The session opens
    the devices on threads of their own; a missing PortAudio is said from there."""
    from app.audio.sounddevice_backend import SoundDeviceBackend

    return SoundDeviceBackend()


def build_window(
    settings: Settings,
    bus: EventBus,
    backend: AudioBackend | None,
    engines: Engines | None = None,
) -> object:
    """The session and its window (tests call this with a fake audio device)."""
    from app.ui.main_window import MainWindow

    store = open_history()
    if store is not None:  # the chat the window shows is its own (app/ui/chat_guard.py)
        store.locks = ChatLocks(store.path.parent, window=True)
    session = Session(settings, bus, engines=engines, backend=backend, store=store)
    return MainWindow(session)


def open_history() -> ChatStore | None:
    """The conversation store, with a day's trash emptied; None (and a log line: the window
    says the history is off) if it can't be opened at all."""
    try:
        store = ChatStore(history_dir())
    except StoreUnavailable as exc:
        log.warning("%s", exc)
        return None
    try:
        store.purge_trash()
    except sqlite3.Error as exc:
        log.warning("could not empty the trash: %s", exc)
    return store


def run_gui(
    settings: Settings,
    backend: AudioBackend | None = None,
    problems: Sequence[str] = (),
    hands_free: bool = False,
) -> int:
    """The window. `problems`: what in the settings file could not be used, said in it;
    `hands_free`: it opens in hands-free mode (`parley --hands-free`), as with the setting."""
    started = time.monotonic()
    problem = display_problem()
    if problem:
        print(f"parley: {problem}", file=sys.stderr)
        return 1
    try:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        from qasync import QEventLoop
    except ImportError as exc:
        print(f"parley: the window needs PySide6 and qasync ({exc}).", file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Parley")
    app.setDesktopFileName("parley")
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    bus = EventBus(loop)
    window = build_window(settings, bus, backend or real_backend())
    for problem in problems:
        window.chat.add("error", problem)  # type: ignore[attr-defined]
    window.show()  # type: ignore[attr-defined]
    if hands_free:
        QTimer.singleShot(0, lambda: window.set_hands_free(True))  # type: ignore[attr-defined]
    app.processEvents()
    log.info("window shown after %.2f s", time.monotonic() - started)
    report = os.environ.get("PARLEY_STARTUP_REPORT")
    if report:
        _report_startup(Path(report), bus, window, app)
    _quit_on_ctrl_c(app, loop, window)
    # Load models once the window is on screen, never before.
    QTimer.singleShot(0, window.session.start)  # type: ignore[attr-defined]
    if not settings.welcomed:
        QTimer.singleShot(0, window.show_welcome)  # type: ignore[attr-defined]
    with loop:
        return int(loop.run_forever() or 0)


def _quit_on_ctrl_c(app: object, loop: asyncio.AbstractEventLoop, window: object) -> None:
    """Ctrl-C in the terminal that started the window closes it (the conversation saved) and
    exits (app/interrupt.py). While Qt waits for events no Python runs, so a signal would
    wait for the next mouse move and then surface as a KeyboardInterrupt in whatever event
    filter ran; the wakeup fd, watched by Qt, makes Python handle it at once."""
    import signal
    import socket

    from PySide6.QtCore import QSocketNotifier

    from app.interrupt import EXIT_CODE, STOPPED, CtrlC, hard_exit

    def stop() -> None:
        print(f"parley: {STOPPED}", file=sys.stderr)
        try:
            window.close()  # type: ignore[attr-defined]
        finally:
            hard_exit(EXIT_CODE)

    ctrl_c = CtrlC(lambda: loop.call_soon_threadsafe(stop))
    ctrl_c.install()
    receive, send = socket.socketpair()
    receive.setblocking(False)
    send.setblocking(False)
    signal.set_wakeup_fd(send.fileno())
    notifier = QSocketNotifier(receive.fileno(), QSocketNotifier.Type.Read, app)  # type: ignore[arg-type]

    def woken() -> None:  # Python runs the signal handler before this
        with contextlib.suppress(OSError):
            receive.recv(512)

    notifier.activated.connect(woken)
    # Kept alive with the application: closing the sockets would silence the signal.
    app._ctrl_c = (ctrl_c, receive, send, notifier)  # type: ignore[attr-defined]


def _report_startup(path: Path, bus: EventBus, window: object, app: object) -> None:
    """For start-up measurements: write when the window showed and when all models were
    ready (seconds since PARLEY_LAUNCH_T, the launcher's time.time()), then quit."""
    launched = float(os.environ.get("PARLEY_LAUNCH_T", time.time()))
    figures = {"window_shown": time.time() - launched}
    ready: set[str] = set()

    def on_status(ev: EngineStatus) -> None:
        if ev.state in ("ready", "error") and ev.engine in ("stt", "llm", "tts"):
            ready.add(ev.engine)
            figures[f"{ev.engine}_{ev.state}"] = time.time() - launched
        if len(ready) == 3:
            figures["all_ready"] = time.time() - launched
            figures["rss_mb"] = _rss_mb()
            welcome = window.welcome  # type: ignore[attr-defined]
            figures["welcome"] = welcome is not None and welcome.isVisible()
            bubbles = window.chat.bubbles  # type: ignore[attr-defined]
            figures["errors"] = [b.text for b in bubbles if b.role == "error"]
            path.write_text(json.dumps(figures))
            window.close()  # type: ignore[attr-defined]
            app.quit()  # type: ignore[attr-defined]

    bus.subscribe(EngineStatus, on_status)


def _rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
