"""One assistant: the bus, the engines, the turn manager and the audio, wired together.

The GUI, the headless CLI and the tests all build a Session, so they run the same core.

A microphone or speaker can go away at any moment (the sound server stops or restarts, a
headset is unplugged). While either is open the session looks at it a few times a second
(`WATCH_SECONDS`); when one is gone it says so once (AudioLost, and the audio status turns to
an error), a reply being spoken goes on as text, and the next turn, or a probe of the speaker
every few seconds while nothing runs, opens it again once it is back.

Devices are opened and looked for on threads of their own (app/audio/opening.py), the
window's thread waiting a moment at most: a sound server that hangs held an open for 30 s.
One missing when Parley starts (no sound server yet, nothing plugged in) is looked for again
every few seconds (every 15 s after its first minute away), and used once it is there.
"""

from __future__ import annotations

import asyncio
import logging
import time

from app.audio.backend import AudioBackend, DeviceInfo, Kind
from app.audio.capture import Recorder
from app.audio.opening import Attempt, not_answering
from app.audio.playback import OPEN_WAIT_SECONDS, Player
from app.bus import EventBus
from app.bus.events import (
    AudioLost,
    EngineStatus,
    PlaybackFinished,
    PlaybackStarted,
    RecordingStarted,
    TurnFinished,
    UserTurn,
)
from app.config import Settings
from app.pipeline.engines import Engines
from app.pipeline.turn import AudioSink
from app.pipeline.turns import TurnManager
from app.storage.chats import ChatStore

log = logging.getLogger(__name__)

# The speaker is closed once this long has passed with no turn and nothing playing: an open
# stream plays silence through the sound server, 60 ms of CPU a second here (both processes
# together), on a machine doing nothing. It opens again when a turn begins (about 3 ms), while
# the key is held or the typed question is read, so no reply waits for it.
SPEAKER_IDLE_SECONDS = 10.0
# How often an open device is looked at: a lost speaker ends its turn this soon (a look is a
# flag and a clock read); and how often a lost speaker is tried again while nothing runs (a
# failed open takes about a millisecond).
WATCH_SECONDS = 0.25
PROBE_SECONDS = 3.0
# A device missing from the list is looked for as often for its first minute away (the sound
# server starting after Parley, at login), then every 15 s: each look lists the devices anew
# (PortAudio stopped and started: 28 ms, 18 ms of CPU here).
MISSING_FAST_SECONDS = 60.0
MISSING_PROBE_SECONDS = 15.0
# How long building the session waits for the devices (the window is not shown yet; an open
# takes 40-150 ms here, the first one starting PortAudio), and a change in Settings waits.
LAUNCH_WAIT_SECONDS = 0.5
REOPEN_WAIT_SECONDS = 0.25
OPENING = "Opening the microphone and speaker…"


class Session:
    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        engines: Engines | None = None,
        backend: AudioBackend | None = None,
        sink: AudioSink | None = None,
        store: ChatStore | None = None,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.engines = engines or Engines(bus, settings)
        self.backend = backend
        self.recorder: Recorder | None = None
        self.player: Player | None = None
        self._lost: dict[Kind, str] = {}  # devices missing, gone or not answering, and why
        self._speaker: Player | None = None  # the speaker, until it first opens (then player)
        self._mic_search: Attempt[DeviceInfo] | None = None  # looking for the microphone
        self._watching: asyncio.TimerHandle | None = None
        self._probed_at = 0.0
        self._changed_at = 0.0  # when a device was last lost or back (monotonic)
        self._announce = False  # said in the window as it opens; AudioLost after that
        self._published: tuple[str, str] | None = None
        self._closed = False
        self.store = store
        self.turns = TurnManager(bus, self.engines, settings, sink, store)
        self.speaker_idle_seconds = SPEAKER_IDLE_SECONDS
        self._idle_close: asyncio.TimerHandle | None = None
        if sink is None and backend is not None:
            self._open_audio(backend, LAUNCH_WAIT_SECONDS)
        self._announce = True
        self._unsubscribe = [
            bus.subscribe(RecordingStarted, self._speaker_needed),
            bus.subscribe(UserTurn, self._speaker_needed),
            bus.subscribe(PlaybackFinished, self._speaker_idle_later),
            bus.subscribe(TurnFinished, self._speaker_idle_later),
        ]
        self._speaker_idle_later(None)  # opened to check it works; not kept open for nothing
        self._watch_soon()

    @property
    def speaker(self) -> Player | None:
        """The speaker's player, open or still opening (None without a sound device)."""
        return self.player or self._speaker

    @property
    def audio_error(self) -> str:
        """What is wrong with the sound, for the user ('' when nothing is)."""
        return " ".join(dict.fromkeys(self._lost.values()))

    def audio_state(self) -> tuple[str, str]:
        """The audio status: error (and why), loading (opening), or ready (the devices)."""
        if self._lost:
            return "error", self.audio_error
        if self._mic_search is not None or self._speaker is not None:
            return "loading", OPENING
        devices = [x.device for x in (self.recorder, self.player) if x and x.device]
        return "ready", " / ".join(d.name for d in devices)

    def _publish_state(self) -> None:
        """Say the audio status when it changes (opening is not said: the window shows it
        as it opens, and it turns to ready or an error within OPEN_TIMEOUT_SECONDS)."""
        state = self.audio_state()
        if state[0] != "loading" and state != self._published:
            self._published = state
            self.bus.publish(EngineStatus(engine="audio", state=state[0], detail=state[1]))

    def _open_audio(self, backend: AudioBackend, wait: float) -> None:
        """Look for the microphone and open the speaker, each on a thread of its own, for
        `wait` seconds at most; what is not there (yet) is said, and looked for again. What
        this finds wrong is said by the window as it shows the audio status, not AudioLost."""
        self._lost.clear()
        self._published = None  # the window shows the new state; said again once it changes
        announce, self._announce = self._announce, False
        began = time.monotonic()
        self._mic_search = self._search_microphone(backend)
        self._speaker = Player(
            backend,
            self.settings.output_device or None,
            on_started=lambda t: self.bus.publish_threadsafe(PlaybackStarted(turn_id=t)),
            on_finished=lambda t: self.bus.publish_threadsafe(PlaybackFinished(turn_id=t)),
        )
        problem = self._speaker.ensure_open(wait=wait)
        if problem:
            self._audio_trouble("output", problem)
        self._mic_search.wait(max(0.0, wait - (time.monotonic() - began)))
        self._settle()
        self._publish_state()
        self._announce = announce

    def _search_microphone(self, backend: AudioBackend) -> Attempt[DeviceInfo]:
        spec = self.settings.input_device or None
        return Attempt(lambda: backend.resolve(spec, "input"), "microphone-find")

    def _settle(self) -> None:
        """Take the microphone and the speaker once found and open (see _open_audio); say
        what failed or has not answered in OPEN_TIMEOUT_SECONDS."""
        search = self._mic_search
        if search is not None and search.done and self.backend is not None:
            self._mic_search = None
            if search.value is None:
                self._audio_trouble("input", search.error)
            else:
                self.recorder = Recorder(self.backend, self.settings.input_device or None)
                self.recorder.device = search.value
                self._audio_back("input")
        elif search is not None and search.overdue() and not search.reported:
            search.reported = True
            self._audio_trouble("input", not_answering("microphone"))
        speaker = self._speaker
        if speaker is not None and speaker.is_open:
            self._speaker, self.player = None, speaker
            self.turns.sink = speaker
            self._audio_back("output")
            self._speaker_idle_later(None)
        elif speaker is not None:
            problem = speaker.trouble()
            if problem:
                speaker.lose()
                self._audio_trouble("output", problem)
        self._publish_state()

    def _speaker_needed(self, ev: RecordingStarted | UserTurn) -> None:
        """A turn begins: the speaker opens now, not when its first sample is ready; one that
        will not open leaves the turn to be answered as text. Its open is waited for a moment
        at most (this is the window's thread): one still under way is looked at by _watch."""
        if self._idle_close is not None:
            self._idle_close.cancel()
            self._idle_close = None
        player = self.player or self._speaker
        if player is not None and not player.is_open:
            # Not waited for at a key press: the microphone's open just was (0.1 s at most).
            wait = 0.0 if isinstance(ev, RecordingStarted) else OPEN_WAIT_SECONDS
            problem = player.ensure_open(wait=wait)
            if problem:
                self._audio_trouble("output", problem)
                self.turns.speaker_lost()  # this turn is answered as text
            elif player.is_open:
                self._audio_back("output")
                self._settle()
        self._watch_soon()

    def microphone_failed(self, problem: str) -> None:
        """The microphone would not open for a hold: the audio status says so until it does
        (the caller tells the user, at each hold)."""
        self._audio_trouble("input", problem, announce=False)

    def _watch_soon(self, delay: float = WATCH_SECONDS) -> None:
        if self._watching is None and not self._closed:
            self._watching = self.bus.loop.call_later(delay, self._watch)

    def _watch(self) -> None:
        """Look at the open devices (see the module's docstring); try lost ones again."""
        self._watching = None
        self._settle()
        player, recorder = self.player, self.recorder
        if player is not None:
            problem = player.trouble()
            if problem:
                player.lose()
                self._audio_trouble("output", problem)
                self.turns.speaker_lost()
            elif "output" in self._lost and player.is_open:  # a probe opened it
                self._audio_back("output")
                self._speaker_idle_later(None)  # closed again once idle, as after a turn
        if recorder is not None and recorder.recording:
            problem = recorder.trouble()
            if problem:
                self._audio_trouble("input", problem)  # the hold's owner stops it
            elif not recorder.opening:
                self._audio_back("input")
        if self._lost and self.turns.current is None:  # a turn tries it itself as it begins
            self._probe()
        speaker = player or self._speaker
        if (
            self._mic_search is not None
            or (speaker is not None and (speaker.is_open or speaker.opening))
            or (recorder is not None and recorder.recording)
        ):
            self._watch_soon()
        elif self._lost:
            self._watch_soon(PROBE_SECONDS)

    def _probe(self) -> None:
        """Try again what is lost, every PROBE_SECONDS: the speaker, opened (a failed open
        takes about a millisecond); a microphone never found, looked for (not opened to test
        it: it would show as in use). What was missing from the list for over a minute is
        looked for every MISSING_PROBE_SECONDS."""
        now, speaker = time.monotonic(), self.player or self._speaker
        missing = self._speaker is not None or self.recorder is None
        long_gone = missing and now - self._changed_at > MISSING_FAST_SECONDS
        if now - self._probed_at < (MISSING_PROBE_SECONDS if long_gone else PROBE_SECONDS):
            return
        self._probed_at = now
        if "output" in self._lost and speaker is not None and not speaker.opening:
            speaker.ensure_open()  # not waited for: _watch sees what comes of it
        backend, unfound = self.backend, self.recorder is None and self._mic_search is None
        if "input" in self._lost and unfound and backend is not None:
            self._mic_search = self._search_microphone(backend)

    def _audio_trouble(self, kind: Kind, problem: str, announce: bool = True) -> None:
        """`kind` went away or would not open: said once (AudioLost), until it is back."""
        if kind in self._lost:
            return
        log.warning("the %s is unavailable", "microphone" if kind == "input" else "speaker")
        self._lost[kind] = problem
        self._changed_at = time.monotonic()
        if announce and self._announce:
            self.bus.publish(AudioLost(kind=kind, message=problem))
        self._publish_state()

    def _audio_back(self, kind: Kind) -> None:
        if self._lost.pop(kind, None) is None:
            return
        log.info("the %s is back", "microphone" if kind == "input" else "speaker")
        self._changed_at = time.monotonic()
        self._publish_state()

    def _speaker_idle_later(self, _ev: PlaybackFinished | TurnFinished | None) -> None:
        if self.player is None:
            return
        if self._idle_close is not None:
            self._idle_close.cancel()
        self._idle_close = self.bus.loop.call_later(self.speaker_idle_seconds, self._speaker_idle)

    def _speaker_idle(self) -> None:
        self._idle_close = None
        if self.player is None:
            return
        if self.turns.current is not None:  # a turn runs: its end schedules this again
            return
        if self.player.close_if_idle():
            log.debug("speaker closed: idle for %.0f s", self.speaker_idle_seconds)

    def reopen_audio(self) -> None:
        """Apply changed device settings: close the old streams, open the chosen ones."""
        if self.backend is None:
            return
        self.turns.interrupt("audio devices changed")
        self._close_audio()
        self._open_audio(self.backend, REOPEN_WAIT_SECONDS)
        self._speaker_idle_later(None)
        self._watch_soon()

    def _close_audio(self) -> None:
        if self.recorder is not None and self.recorder.recording:
            self.recorder.stop()
        for speaker in (self.player, self._speaker):
            if speaker is not None:
                speaker.close()
        self.recorder = self.player = self._speaker = self._mic_search = None
        self.turns.sink = None

    def start(self) -> None:
        self.engines.start()

    def close(self, keep_engines: bool = False) -> None:
        """Stop everything; with `keep_engines`, the engines go on for another session
        (benchmarks run sessions one after another on one set of loaded models)."""
        if self._idle_close is not None:
            self._idle_close.cancel()
        self._closed = True
        if self._watching is not None:
            self._watching.cancel()
            self._watching = None
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.turns.interrupt("shutdown", clear_pending=True)
        self.turns.close()
        if self.backend is not None:
            self._close_audio()
        elif self.player is not None:
            self.player.close()
        if not keep_engines:
            self.engines.shutdown()
