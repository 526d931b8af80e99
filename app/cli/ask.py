"""`parley ask`: one question (typed, or a recording) answered with the same bus, engines and
turn as the window, no Qt; printed, optionally as JSON, and spoken into --say OUT.wav."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.audio.capture import STT_RATE
from app.audio.resample import resample
from app.audio.wavfile import AudioFileError, read_audio
from app.bus import EventBus
from app.bus.events import (
    EngineName,
    EngineStatus,
    ErrorRaised,
    Notice,
    PromptProgress,
    ReasoningDone,
    SourcesUsed,
    ToolUsed,
    TurnFinished,
)
from app.cli.ask_checks import DEVICE_OPTIONS, choice_problem, not_a_file
from app.cli.say_output import WavSink, not_a_wav, overwrites_input, unwritable
from app.config import Settings
from app.interrupt import EXIT_CODE, STOPPED, CtrlC, hard_exit
from app.knowledge.extract import FileError
from app.pipeline.engines import Engines
from app.session import Session
from app.storage.assistants import BUILTIN, Assistant
from app.storage.chats import ChatStore
from app.storage.database import StoreUnavailable
from app.text import visible


def no_speech_in(audio_file: str) -> str:
    """What `ask --audio` says of a file without speech: the window's advice (hold the key
    while you speak) means nothing to someone who gave a file."""
    return (
        f"Parley didn't hear any speech in {audio_file}: it holds silence or noise only. "
        "Check the recording, or ask with --text."
    )


def _fail(message: str, as_json: bool, code: int = 1) -> int:
    if as_json:
        print(json.dumps({"error": message}))
    print(f"parley: {message}", file=sys.stderr)
    return code


class _Stopper:
    """What one Ctrl-C does during `ask`: before the turn runs, exit; while it runs, cut it
    on the loop (what was said so far is saved, as for any interruption), then exit."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.loop: asyncio.AbstractEventLoop | None = None
        self.session: Session | None = None
        self.store: ChatStore | None = None

    def __call__(self) -> None:  # in the signal handler
        if self.loop is None or self.loop.is_closed():
            self.exit()  # no turn yet (or any more): nothing to save
            return
        self.loop.call_soon_threadsafe(self.exit)

    def exit(self) -> None:
        try:
            if self.session is not None:
                self.session.turns.interrupt("Ctrl-C", clear_pending=True)
            if self.store is not None:
                self.store.close()
        finally:
            _fail(STOPPED, self.as_json)
            hard_exit(EXIT_CODE)


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    stopper = _Stopper(args.json)
    ctrl_c = CtrlC(stopper)
    ctrl_c.install()
    try:
        return _run_ask(args, settings, stopper)
    finally:
        ctrl_c.uninstall()


def _run_ask(args: argparse.Namespace, settings: Settings, stopper: _Stopper) -> int:
    for attr, why in DEVICE_OPTIONS.items():
        if getattr(args, attr, None):
            return _fail(f"`ask` does not use {why}.", args.json, 2)
    problem = not_a_file(args)
    if problem:
        return _fail(problem, args.json, 2)
    problem = choice_problem(args, settings)
    if problem:
        return _fail(problem, args.json, 2)
    audio: np.ndarray | None = None
    if args.audio:
        try:
            samples, rate = read_audio(Path(args.audio))
        except AudioFileError as exc:
            return _fail(str(exc), args.json, 2)
        audio = resample(samples, rate, STT_RATE)
    elif args.realtime:
        return _fail("--realtime needs --audio: it plays that file as if spoken.", args.json, 2)
    elif not visible(args.text):
        return _fail("The question is empty: pass some words with --text.", args.json, 2)
    if args.say:
        out = Path(args.say)
        problem = overwrites_input(out, args) or not_a_wav(out) or unwritable(out)
        if problem:
            return _fail(problem, args.json, 2)
    images = []
    if args.image:
        from app.pipeline.attachments import load_attachment
        from app.vision.images import ImageError

        for path in args.image:
            try:
                images.append(load_attachment(Path(path)))
            except ImageError as exc:
                return _fail(str(exc), args.json, 2)
    files = []
    for path in getattr(args, "file", None) or []:
        try:
            files.append(read_file(Path(path), quiet=args.json))
        except FileError as exc:
            return _fail(str(exc), args.json, 2)
    if audio is not None:
        from app.stt.whisper import speech_in

        if not speech_in(audio):  # said now, not after the models load (the LLM takes long)
            return _fail(no_speech_in(args.audio), args.json, 3)
    store, chat_id, problem = _history(args)
    if problem:
        return _fail(problem, args.json, 2)
    assistant = None
    if store is not None:
        assistant, problem = _assistant(args, store, chat_id, settings)
        if problem:
            store.close()
            return _fail(problem, args.json, 2)
    elif getattr(args, "assistant", None):
        return _fail("--assistant needs the conversation history (not --no-save).", args.json, 2)
    stopper.store = store
    try:
        return asyncio.run(
            _ask(args, settings, _Given(audio, images, files, store, chat_id, assistant), stopper)
        )
    finally:
        if store is not None:
            store.close()


def read_file(path: Path, quiet: bool = False) -> Any:
    """A document read and indexed for `--file`; a big one says how it went."""
    from app.pipeline.file_reader import read_attached

    file = read_attached(path)
    if not quiet and (file.doc.kind == "pdf" or file.doc.chars > 100_000):
        print(f"parley: read {path.name}: {len(file.chunks)} passages, indexed in "
              f"{file.seconds:.1f} s", file=sys.stderr)  # fmt: skip
    if not quiet:
        for notice in file.doc.notices:
            print(f"parley: {notice}", file=sys.stderr)
    return file


def _assistant(
    args: argparse.Namespace, store: ChatStore, chat_id: int | None, settings: Settings
) -> tuple[Assistant | None, str]:
    """Who answers: --assistant for a new chat, or the revision a continued chat recorded;
    their voice and model go into `settings` (for this run only) where they exist."""
    from app.pipeline.assistant_choice import engine_choice
    from app.storage.assistants import AssistantError, Assistants

    assistants = Assistants(store)
    chosen: Assistant | None = None
    if chat_id is not None:
        if args.assistant:
            return None, "A conversation keeps its assistant: drop --assistant, or start a new one."
        recorded = store.chat_assistant(chat_id)
        chosen = assistants.revision(*recorded) if recorded else None
    elif args.assistant:
        try:
            chosen = assistants.get(args.assistant)
        except AssistantError as exc:
            return None, str(exc)
    if chosen is None or chosen.builtin:
        return chosen, ""
    choice = engine_choice(chosen)
    for key, value in (choice.tts | choice.llm).items():
        setattr(settings, key, value)
    for notice in choice.notices:
        print(f"parley: {notice}", file=sys.stderr)
    return chosen, ""


def _history(args: argparse.Namespace) -> tuple[ChatStore | None, int | None, str]:
    """The store this turn is saved in (None with --no-save, or if it can't be opened: the
    turn still runs), the chat it continues, or why the chat asked for does not exist."""
    if getattr(args, "no_save", False):
        return None, None, ""
    from app.cli.chats import open_store

    try:
        store = open_store()
    except StoreUnavailable as exc:
        if args.chat is not None or args.continue_chat:
            return None, None, str(exc)
        print(f"parley: {exc} This answer will not be saved.", file=sys.stderr)
        return None, None, ""
    chat_id = args.chat
    if args.continue_chat:
        chat_id = store.latest_chat()
        if chat_id is None:
            store.close()
            return None, None, "There is no conversation to continue yet."
    elif chat_id is not None and store.chat(chat_id) is None:
        store.close()
        return None, None, f"There is no conversation {chat_id}; `parley chats list` shows them."
    problem = _hold(store, chat_id)
    if problem:
        store.close()
        return None, None, problem
    return store, chat_id, ""


def _hold(store: ChatStore, chat_id: int | None) -> str:
    """Keep the chat to this process while it asks (app/storage/chat_lock.py): wait for
    another `parley` answering in it, before its history is read. Why not, or ''."""
    from app.storage.chat_lock import ChatBusy, ChatLocks

    store.locks = ChatLocks(store.path.parent)
    if chat_id is None:
        return ""  # the chat this turn starts is held as it is created

    def waiting() -> None:
        print(f"parley: conversation {chat_id} is answering another question; this one "
              "waits for its answer.", file=sys.stderr, flush=True)  # fmt: skip

    try:
        store.locks.wait_for(chat_id, waiting)
    except ChatBusy as exc:
        return str(exc)
    return ""


@dataclass
class _Given:
    """What one `ask` turn is made of, checked and loaded before any model is."""

    audio: np.ndarray | None
    images: list[Any]
    files: list[Any]
    store: ChatStore | None = None
    chat_id: int | None = None
    assistant: Assistant | None = None


async def _ask(
    args: argparse.Namespace, settings: Settings, given: _Given, stopper: _Stopper | None = None
) -> int:
    audio, images, files = given.audio, given.images, given.files
    store, chat_id, assistant = given.store, given.chat_id, given.assistant
    bus = EventBus(asyncio.get_running_loop())
    settings.speak_replies = bool(args.say)
    sink = WavSink(bus, Path(args.say)) if args.say else None
    engines = Engines(bus, settings, warm_remote=False)
    session = Session(settings, bus, engines=engines, sink=sink, store=store)
    if stopper is not None:
        stopper.session, stopper.loop = session, asyncio.get_running_loop()
    if chat_id is not None:
        session.turns.open_chat(chat_id)
    elif assistant is not None:
        session.turns.use_assistant(assistant)
    needed: list[EngineName] = ["llm"]
    if audio is not None:
        needed.append("stt")
    if args.say:
        needed.append("tts")

    done: asyncio.Future[TurnFinished] = asyncio.get_running_loop().create_future()
    errors: list[str] = []
    notices: list[str] = []
    bus.subscribe(ErrorRaised, lambda e: errors.append(e.message))
    bus.subscribe(Notice, lambda e: notices.append(e.message))
    bus.subscribe(TurnFinished, lambda e: done.done() or done.set_result(e))

    def show_progress(e: EngineStatus) -> None:
        if not args.json and e.state == "loading" and e.progress is not None:
            print(f"\r{e.detail}: {e.progress:4.0%}", end="", file=sys.stderr, flush=True)
            if e.progress >= 1.0:
                print(file=sys.stderr)

    bus.subscribe(EngineStatus, show_progress)

    def show_reading(e: PromptProgress) -> None:
        if not args.json:
            end = "\n" if e.done >= e.total else ""
            print(f"\rReading the prompt: {e.done / max(e.total, 1):4.0%}", end=end,
                  file=sys.stderr, flush=True)  # fmt: skip

    bus.subscribe(PromptProgress, show_reading)
    load_started = time.monotonic()
    engines.start(tuple(needed))
    # Wait for the models first, so the timings measure the turn, not the start-up.
    await asyncio.get_running_loop().run_in_executor(None, engines.wait)
    load_seconds = time.monotonic() - load_started
    failed = [engines.errors[n] for n in needed if n in engines.errors]
    if failed:
        session.close()
        return _fail(" ".join(failed), args.json)

    for image in images:
        session.turns.attach(image)
    for file in files or []:
        session.turns.attach_file(file)
    sources: list[dict[str, str]] = []
    tools_used: list[dict[str, Any]] = []
    reasoning: list[str] = []
    bus.subscribe(ReasoningDone, lambda e: reasoning.append(e.text))
    bus.subscribe(
        ToolUsed,
        lambda e: tools_used.append({"name": e.name, "arguments": e.arguments, "result": e.result}),
    )
    bus.subscribe(
        SourcesUsed, lambda e: sources.extend({"file": f, "where": w} for f, w in e.sources)
    )
    if audio is not None and args.realtime:
        await _speak_in_real_time(session, audio)
    elif audio is not None:
        turn_id = session.turns.begin_listening()
        session.turns.submit_audio(turn_id, audio, from_file=True)
    else:
        session.turns.ask(args.text)
    result = await done
    await bus.drain()
    session.close()

    if errors and not result.reply.strip():
        return _fail(" ".join(errors), args.json)
    if not result.transcript.strip():
        heard = no_speech_in(args.audio) if audio is not None else "No question was heard."
        return _fail(heard, args.json, 3)
    if args.json:
        print(
            json.dumps(
                {
                    "transcript": result.transcript,
                    "reply": result.reply,
                    "timings": result.timings,
                    "load_seconds": round(load_seconds, 3),
                    "images": [img.name for img in images],
                    "files": [f.name for f in files or []],
                    "sources": sources,
                    "tools": tools_used,
                    "reasoning": "\n\n".join(reasoning) or None,
                    "notices": notices,
                    "say": str(args.say) if args.say and not errors else None,
                    "error": " ".join(errors) or None,
                    "chat_id": session.turns.chat.chat_id,
                    "message_ids": [m for m in session.turns.chat.ids[-2:] if m],
                    "assistant": session.turns.assistant.name
                    if session.turns.assistant
                    else BUILTIN,
                },
                ensure_ascii=False,
            )
        )
    else:
        for notice in notices:
            print(f"parley: {notice}", file=sys.stderr)
        if audio is not None:
            print(f"You: {result.transcript}")
        print(result.reply.strip())
    if errors:  # the reply is printed (never lost), but the command did not do all it was asked
        print(f"parley: {' '.join(errors)}", file=sys.stderr)
        return 1
    return 0


async def _speak_in_real_time(session: Session, audio: np.ndarray) -> None:
    """Play the file through the capture path at real-time pace, as if spoken with the key
    held (live transcription runs meanwhile), and let go at its last sample."""
    from app.audio.capture import Recorder
    from app.audio.fake import FakeAudioBackend

    backend = FakeAudioBackend(input_rate=STT_RATE)
    recorder = Recorder(backend)
    turn_id = session.turns.begin_listening(recorder)
    recorder.start()
    backend.feed(audio, STT_RATE)
    while backend.pending_input_seconds() > 0:
        await asyncio.sleep(0.005)
    session.turns.submit_audio(turn_id, recorder.stop(), from_file=True)
