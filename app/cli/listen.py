"""`parley listen`: the hands-free conversation from a terminal, on the default microphone
and speaker, no key (app/pipeline/hands_free.py). With --json, one JSON object per line:

  {"event": "ready", "half_duplex": ""}           listening (or why it is deaf while it speaks)
  {"event": "heard", "text": ...}                 the user's turn, as transcribed
  {"event": "speaking", "after_last_word": s}     the reply's first sound reached the speaker
  {"event": "reply", "text": ..., "heard": ..., "interrupted": b}   the turn is over
  {"event": "barge_in" | "resumed" | "stop", "text": ..., "quiet_after": s}  sound over a reply
  {"event": "learnt"}                            the echo canceller has learnt the room: Parley
                                                  hears the user over its own voice from now on
  {"event": "notice" | "error", "message": ...}

Ctrl-C ends it (app/interrupt.py); conversations are saved as `ask` saves them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from app.audio.backend import AudioUnavailable
from app.bus import EventBus
from app.bus.events import (
    ErrorRaised,
    HandsFreeState,
    Notice,
    PlaybackStarted,
    TurnFinished,
    UserTurn,
    VoiceInterruption,
)
from app.config import Settings
from app.interrupt import CtrlC, hard_exit
from app.pipeline.engines import Engines
from app.session import Session


class _Printer:
    """Bus events -> lines on stdout (JSON, or words for a person)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.last_word_at = 0.0

    def say(self, event: str, words: str = "", **fields: Any) -> None:
        if self.as_json:
            print(json.dumps({"event": event, **fields}, ensure_ascii=False), flush=True)
        elif words:
            print(words, flush=True)

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(UserTurn, self._heard)
        bus.subscribe(HandsFreeState, self._state)
        bus.subscribe(PlaybackStarted, self._speaking)
        bus.subscribe(TurnFinished, self._reply)
        bus.subscribe(VoiceInterruption, self._interruption)
        for kind, name in ((Notice, "notice"), (ErrorRaised, "error")):
            bus.subscribe(
                kind, lambda e, n=name: self.say(n, f"parley: {e.message}", message=e.message)
            )

    def _heard(self, e: UserTurn) -> None:
        if e.spoken:
            self.say("heard", f"You: {e.text}", text=e.text)

    def _state(self, e: HandsFreeState) -> None:
        if e.state == "learnt":
            self.say("learnt")
        if e.state == "thinking":
            self.last_word_at = e.last_word_at

    def _speaking(self, e: PlaybackStarted) -> None:
        after = round(e.at - self.last_word_at, 3) if self.last_word_at else None
        self.say("speaking", after_last_word=after)

    def _reply(self, e: TurnFinished) -> None:
        if not e.transcript.strip() and not e.reply.strip():
            return  # a turn that heard nothing (noise): there is no reply to show
        self.say(
            "reply",
            f"Parley: {e.spoken.strip()}" + (" [interrupted]" if e.interrupted else ""),
            text=e.reply,
            heard=e.spoken,
            interrupted=e.interrupted,
        )

    def _interruption(self, e: VoiceInterruption) -> None:
        quiet = round(e.quiet_at - e.onset, 3)
        self.say(e.kind, "", text=e.text, quiet_after=quiet)


def run_listen(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli.ask import _history

    args.chat = None
    store, _chat_id, problem = _history(args)
    if problem:
        print(f"parley: {problem}", file=sys.stderr)
        return 2
    printer = _Printer(args.json)
    stopping: dict[str, Any] = {}

    def on_ctrl_c() -> None:  # the signal handler: the loop saves and exits
        loop = stopping.get("loop")
        if loop is None or loop.is_closed():
            hard_exit(0)
        loop.call_soon_threadsafe(stopping["stop"])

    ctrl_c = CtrlC(on_ctrl_c)
    ctrl_c.install()
    try:
        return asyncio.run(_listen(args, settings, store, printer, stopping))
    finally:
        ctrl_c.uninstall()
        if store is not None:
            store.close()


async def _listen(
    args: argparse.Namespace,
    settings: Settings,
    store: Any,
    printer: _Printer,
    stopping: dict[str, Any],
) -> int:
    from app.audio.sounddevice_backend import SoundDeviceBackend
    from app.pipeline.hands_free import HandsFree
    from app.pipeline.open_mic import OpenMic
    from app.stt.end_of_turn import EndOfTurn

    loop = asyncio.get_running_loop()
    bus = EventBus(loop)
    settings.speak_replies = True
    engines = Engines(bus, settings, warm_remote=False)
    session = Session(settings, bus, engines=engines, backend=SoundDeviceBackend(), store=store)
    if args.continue_chat and store is not None and store.latest_chat() is not None:
        session.turns.open_chat(store.latest_chat())
    finished: asyncio.Future[int] = loop.create_future()

    def stop(code: int = 0) -> None:
        session.turns.interrupt("Ctrl-C", clear_pending=True)
        finished.done() or finished.set_result(code)

    stopping.update(loop=loop, stop=stop)
    printer.subscribe(bus)
    engines.start(("stt", "llm", "tts"))
    await loop.run_in_executor(None, engines.wait)
    failed = [engines.errors[n] for n in ("stt", "llm", "tts") if n in engines.errors]
    if failed:
        session.close()
        printer.say("error", f"parley: {' '.join(failed)}", message=" ".join(failed))
        return 1
    mic = OpenMic(session.backend, settings.input_device or None, echo=not args.no_echo_cancel)  # type: ignore[arg-type]
    hands = HandsFree(session.turns, mic, session.speaker, EndOfTurn.default())
    try:
        hands.start()
    except AudioUnavailable as exc:
        session.close()
        printer.say("error", f"parley: {exc}", message=str(exc))
        return 1
    printer.say("ready", "Listening. Speak; Ctrl-C ends.", half_duplex=mic.half_duplex)
    try:
        code = await finished
        await bus.drain()
    finally:
        hands.close()
        session.close()
    return code
