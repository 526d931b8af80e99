"""The turn manager: owns turn ids and cancellation, and sequences one turn through its
stages: hear (audio -> text, app/pipeline/hear.py), compose (the model's input,
compose.py), generate (the model's rounds, generate.py), speak (clauses -> voice -> speaker,
speak.py) and record (history and store, record.py). A reply started at a pause while the key
is held (speculation.py) goes through the same stages.

Everything happens through bus events, so the GUI, the CLI and tests all drive the same code.
Blocking work runs on the engines' worker threads; lazy generators (the LLM stream, piper's
chunks) are consumed there, and results come back with `publish_threadsafe`.

Interrupting a turn (push-to-talk or stop while Parley is busy) cancels its id on the bus (late
tokens and audio of that turn are dropped from then on), sets its cancel token (workers stop
between tokens and chunks), silences the speaker, and keeps in the history only the part of
the reply the user actually heard.

A speaker that goes away (`speaker_lost`) is not an interruption: the reply goes on as text,
and the history keeps all of it, as shown, marked as not (all) heard.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from app.audio.capture import Recorder
from app.bus import EventBus
from app.bus.events import (
    ErrorRaised,
    Event,
    FilesRestored,
    LlmDelta,
    LlmDone,
    LlmSentence,
    Notice,
    PlaybackFinished,
    PlaybackStarted,
    RecordingStarted,
    SpeechEnded,
    TranscriptReady,
    TtsChunk,
    TtsDone,
    TurnCancelled,
    TurnFinished,
    UserTurn,
)
from app.config import Settings
from app.knowledge.context import AttachedFile
from app.logs import unexpected
from app.pipeline.chat_files import ChatFiles
from app.pipeline.chat_log import ChatLog
from app.pipeline.compose import Compose
from app.pipeline.engines import Engines
from app.pipeline.generate import reply_events
from app.pipeline.hear import NO_SPEECH, Hear
from app.pipeline.history import History
from app.pipeline.record import Record
from app.pipeline.replies import Replies
from app.pipeline.reply_feed import ReplyFeed
from app.pipeline.speak import Speak, splitter
from app.pipeline.thinking import system_with_thinking
from app.pipeline.turn import AudioSink, StageFailed, Turn, clip_to_heard
from app.storage.assistants import Assistant
from app.storage.chats import ChatStore, StoredMessage
from app.text import visible
from app.tools.registry import Confirm, Registry

log = logging.getLogger(__name__)


class TurnManager:
    def __init__(
        self,
        bus: EventBus,
        engines: Engines,
        settings: Settings,
        sink: AudioSink | None = None,
        store: ChatStore | None = None,
    ) -> None:
        self.bus = bus
        self.engines = engines
        self.settings = settings
        self.history = History(settings.system_prompt)
        self.chat = ChatLog(store, lambda text: bus.publish(Notice(message=text)))
        self.confirm: Confirm | None = None  # asks the user before a tool that changes things
        engines.warm_system_prompt = lambda s: system_with_thinking(s.system_prompt, s)
        self.current: Turn | None = None
        self.pending: deque[tuple[str, tuple[Any, ...]]] = deque()
        self.attachments: list[Any] = []  # images for the next turn, typed or spoken
        # Documents: context for the whole conversation (this chat's and the assistant's).
        self.documents = ChatFiles(
            self.chat,
            lambda: engines.worker("vision"),
            lambda text: bus.publish(Notice(message=text)),
            lambda files: bus.publish(FilesRestored(files=tuple(files))),
        )
        self.last_turn: Turn | None = None
        self._next_id = 1
        self._tasks: set[asyncio.Task[Any]] = set()
        # The stages a turn goes through.
        self.hear = Hear(engines, settings)
        self.compose = Compose(bus, engines, settings, self.history, self.documents)
        self.speak = Speak(bus, engines, self._spawn, self._turn, sink)
        self.replies = Replies(bus, engines, settings, self.compose, lambda: self.confirm)
        self.record = Record(bus, self.history, self.chat, self.documents, settings)
        handlers: list[tuple[type[Event], Callable[[Any], Any]]] = [
            (SpeechEnded, self._on_speech),
            (UserTurn, self._on_user_turn),
            (LlmDelta, self._on_delta),
            (LlmSentence, self._on_sentence),
            (LlmDone, self._on_llm_done),
            (TtsChunk, self.speak.on_chunk),
            (TtsDone, self.speak.on_done),
            (PlaybackStarted, self.speak.on_playing),
            (PlaybackFinished, self._on_playback_finished),
        ]
        self._unsubscribe = [bus.subscribe(t, h) for t, h in handlers]

    @property
    def sink(self) -> AudioSink | None:
        """Where reply audio goes (set later when the speaker opens late)."""
        return self.speak.sink

    @sink.setter
    def sink(self, sink: AudioSink | None) -> None:
        self.speak.sink = sink

    @property
    def tools(self) -> Registry:
        """The tools a question may be offered."""
        return self.compose.tools

    @tools.setter
    def tools(self, registry: Registry) -> None:
        self.compose.tools = registry

    # --- what the GUI and CLI call ----------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.current is not None and not self.current.finished

    def begin_listening(self, recorder: Recorder | None = None) -> int:
        """Push-to-talk went down: barge in on any running turn and start a spoken one.
        With the `recorder` that captures it, speech is transcribed while the key is held."""
        turn = self._new_turn(spoken_input=True)
        turn.images = self._take_attachments()
        self.hear.listen(
            turn,
            recorder,
            lambda text: self.replies.early(turn, text, self.speak.ahead),
            turn.drop_speculation,
        )
        self.bus.publish(RecordingStarted(turn_id=turn.id))
        return turn.id

    def submit_audio(self, turn_id: int, audio: np.ndarray, *, from_file: bool = False) -> None:
        """Push-to-talk was released with this 16 kHz mono audio (or, `from_file`, a recording
        was played in: only a recording can run past the talk limit and be a talk or meeting)."""
        log.debug("turn %d: released after %.2f s of audio", turn_id, audio.size / 16000)
        turn = self._turn(turn_id)
        if turn is not None:
            turn.from_file = from_file
        self.bus.publish(SpeechEnded(turn_id=turn_id, audio=audio))

    def ask(self, text: str) -> bool:
        """A typed question. Answered now (True) or, while a turn runs, queued (False)."""
        text = text.strip()
        if not visible(text):
            return False  # empty, or only invisible characters (zero-width spaces)
        return self._ask(text, self._take_attachments())

    def _ask(self, text: str, images: tuple[Any, ...]) -> bool:
        if self.busy:
            self.pending.append((text, images))
            self.bus.publish(Notice(message="I'll answer that as soon as I finish this reply."))
            return False
        turn = self._new_turn(spoken_input=False)
        turn.images = images
        self.bus.publish(UserTurn(turn_id=turn.id, text=text, images=images))
        return True

    def attach(self, image: Any) -> None:
        """An image (PreparedImage) for the next turn, whether typed or spoken."""
        self.attachments.append(image)

    @property
    def files(self) -> list[AttachedFile]:
        """The documents attached to this chat (not the assistant's knowledge)."""
        return self.documents.files

    def attach_file(self, file: AttachedFile) -> None:
        """A document (read and indexed: AttachedFile.prepare) for this conversation, kept
        with the chat in the store."""
        self.documents.attach(file)

    def detach_file(self, name: str) -> None:
        self.documents.detach(name)

    def detach(self, image: Any) -> None:
        if image in self.attachments:
            self.attachments.remove(image)

    def _take_attachments(self) -> tuple[Any, ...]:
        images, self.attachments = tuple(self.attachments), []
        return images

    def interrupt(self, reason: str = "interrupted", clear_pending: bool = False) -> bool:
        """Cut the running turn now. Returns whether there was one."""
        if clear_pending:
            self.pending.clear()
        turn = self.current
        if turn is None or turn.finished:
            return False
        self.bus.cancel_turn(turn.id)
        turn.cancel.set()
        if turn.live is not None:
            turn.live.cancel()
        heard = self.speak.silence() if turn.speaking else {}
        spoken = clip_to_heard(turn.sentences, heard) if turn.speaking else turn.reply
        self.bus.publish(TurnCancelled(turn_id=turn.id, reason=reason))
        self._finish(turn, interrupted=True, spoken=spoken)
        return True

    def speaker_lost(self) -> None:
        """The speaker went away (or would not open): the running turn goes on as text, and
        ends now if its text is all in (no audio will come to end it)."""
        turn = self.current
        if turn is None or turn.finished or not turn.speaking:
            return
        turn.speaking = False
        turn.unheard = True
        turn.feed.release()  # an LLM held for its first clause's audio goes on
        if "llm_done" in turn.marks:
            self._finish(turn)

    def reset(self) -> None:
        """Forget the conversation (a new chat); the old one stays in the store."""
        self.interrupt("new conversation", clear_pending=True)
        self.record.new_chat()

    @property
    def assistant(self) -> Assistant | None:
        """Who answers this chat (None: the built-in Parley)."""
        return self.record.assistant

    def use_assistant(self, assistant: Assistant | None) -> None:
        """Who answers the chats started from now on (None: the built-in Parley, with the
        instructions in Settings). The caller starts a new chat (reset) first."""
        self.record.use_assistant(assistant)

    def open_chat(self, chat_id: int) -> list[StoredMessage]:
        """Go on with a stored chat: its questions and answers become the LLM's history (as
        the model saw them; trimmed to the context as always). Returns its messages, for the
        screen; an unknown or deleted chat gives [] and changes nothing."""
        stored = self.record.stored(chat_id)
        if stored is None:
            return []
        self.interrupt("another conversation", clear_pending=True)
        self.record.go_on_with(chat_id, stored)
        return stored

    def close(self) -> None:
        if self.current is not None:  # a speculation waiting on the LLM worker must not
            self.current.drop_speculation()  # hold up the exit
            self.current.feed.release()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for task in list(self._tasks):
            task.cancel()

    # --- turn bookkeeping --------------------------------------------------------------------

    def _new_turn(self, spoken_input: bool) -> Turn:
        self.interrupt("barge-in")
        speaking = self.sink is not None and self.settings.speak_replies
        turn = Turn(id=self._next_id, spoken_input=spoken_input, speaking=speaking)
        turn.feed = ReplyFeed(self.bus, turn.id, splitter(self.settings), lambda: turn.speaking)
        self._next_id += 1
        self.current = turn
        return turn

    def _turn(self, turn_id: int) -> Turn | None:
        turn = self.current
        if turn is None or turn.id != turn_id or turn.finished:
            return None
        return turn

    def _spawn(self, coro: Any, turn: Turn) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(task: asyncio.Future) -> None:
            self._tasks.discard(task)
            exc = None if task.cancelled() else task.exception()
            if exc is not None and not turn.finished:
                # A stage's own failures are said where they happen; this is the net under
                # the rest, so that a bug ends the turn with a message instead of hanging it.
                log.error("turn %d failed", turn.id, exc_info=exc)
                self._fail(turn, "llm", f"Could not answer: {unexpected(exc)}.")

        task.add_done_callback(done)

    def _finish(self, turn: Turn, interrupted: bool = False, spoken: str | None = None) -> None:
        if turn.finished:
            return
        turn.finished = True
        turn.drop_speculation()  # an adopted one has finished by now, or must stop
        turn.feed.release()  # an LLM waiting for audio that will not come goes on (or stops)
        spoken = turn.reply if spoken is None else spoken
        self.record.reply(turn, spoken, interrupted)
        self.last_turn = turn
        self.bus.publish(
            TurnFinished(
                turn_id=turn.id,
                transcript=turn.transcript,
                reply=turn.reply,
                spoken=spoken,
                timings=turn.timings(),  # type: ignore[arg-type]
                interrupted=interrupted,
                unheard=turn.unheard,
            )
        )
        if self.current is turn:
            self.current = None
        if self.pending and not self.busy:
            asyncio.get_running_loop().call_soon(self._ask_next, *self.pending.popleft())

    def _ask_next(self, text: str, images: tuple[Any, ...]) -> None:
        if self.busy:  # someone started talking meanwhile; keep the question for later
            self.pending.appendleft((text, images))
        else:
            self._ask(text, images)

    def _fail(self, turn: Turn, source: str, message: str) -> None:
        """The turn cannot go on: say why, silence what it queued, and keep no half exchange
        in the history (the question was never answered)."""
        self.bus.publish(ErrorRaised(turn_id=turn.id, source=source, message=message))
        self.bus.cancel_turn(turn.id)
        turn.cancel.set()
        if turn.speaking:
            self.speak.silence()
        self.record.unanswered(turn)
        self._finish(turn)

    # --- the turn, stage by stage -------------------------------------------------------------

    def _on_speech(self, ev: SpeechEnded) -> None:
        turn = self._turn(ev.turn_id)
        if turn is None:
            return
        turn.mark("speech_end", ev.at)
        turn.mark("input_end", ev.at)
        turn.audio_seconds = ev.audio.size / ev.sample_rate
        self._spawn(self._transcribe(turn, ev.audio), turn)

    async def _transcribe(self, turn: Turn, audio: np.ndarray) -> None:
        try:
            text = await self.hear.transcribe(turn, audio)
        except StageFailed as failed:
            self._fail(turn, failed.source, failed.message)
            return
        if turn.cancel.is_set():
            return
        self.bus.publish(TranscriptReady(turn_id=turn.id, text=text))
        turn.mark("transcript", time.monotonic())
        if not text.strip():
            self.bus.publish(Notice(turn_id=turn.id, message=NO_SPEECH))
            self._finish(turn)
            return
        self.bus.publish(UserTurn(turn_id=turn.id, text=text, spoken=True, images=turn.images))

    def _on_user_turn(self, ev: UserTurn) -> None:
        turn = self._turn(ev.turn_id)
        if turn is None:
            return
        turn.transcript = ev.text
        turn.mark("input_end", ev.at)
        turn.mark("llm_start", ev.at)
        self._spawn(self._answer(turn, ev.text), turn)

    async def _answer(self, turn: Turn, text: str) -> None:
        """Compose the model's input, record the question, generate the reply."""
        try:
            given = await self.compose.model_input(turn, text)
            if given is None:
                return
            self.record.question(turn, text, given.history_text)
            reply = await self.replies.reply(turn, given)
        except StageFailed as failed:
            self._fail(turn, failed.source, failed.message)
            return
        if turn.stopped:
            return
        turn.feed.flush()
        for event in reply_events(turn.id, turn.trace, self.compose.secrets()):
            self.bus.publish(event)
        # Queued behind the last pieces and clauses, which the worker published the same way.
        self.bus.publish_threadsafe(LlmDone(turn_id=turn.id, text=reply, sentences=turn.feed.count))

    def _on_delta(self, ev: LlmDelta) -> None:
        turn = self._turn(ev.turn_id)
        if turn is None:
            return
        turn.mark("first_token", ev.at)
        turn.reply += ev.text

    def _on_sentence(self, ev: LlmSentence) -> None:
        turn = self._turn(ev.turn_id)
        if turn is None:
            return
        turn.mark("first_sentence", ev.at)
        turn.sentences.append(ev.text)
        if turn.speaking:
            self.speak.clause(turn, ev.index, ev.text)
        elif ev.index == 0:
            turn.feed.release()

    def _on_llm_done(self, ev: LlmDone) -> None:
        turn = self._turn(ev.turn_id)
        if turn is None:
            return
        turn.mark("llm_done", ev.at)
        if not turn.speaking:
            self._finish(turn)
            return
        self.speak.reply_done(turn.id)

    def _on_playback_finished(self, ev: PlaybackFinished) -> None:
        turn = self._turn(ev.turn_id)
        if turn is not None:
            self._finish(turn)
