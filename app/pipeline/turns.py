"""The turn manager: owns turn ids, drives one turn through STT -> LLM -> TTS -> speaker, and
handles barge-in.

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
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from app.audio.capture import Recorder
from app.bus import EventBus
from app.bus.events import (
    ChatSaved,
    ErrorRaised,
    Event,
    FilesRestored,
    LlmDelta,
    LlmDone,
    LlmSentence,
    Notice,
    PlaybackFinished,
    PlaybackStarted,
    PromptProgress,
    ReasoningDone,
    RecordingStarted,
    SourcesUsed,
    SpeechEnded,
    ToolUsed,
    TranscriptReady,
    TtsChunk,
    TtsDone,
    TurnCancelled,
    TurnFinished,
    UserTurn,
)
from app.config import DEFAULT_SYSTEM_PROMPT, Settings
from app.knowledge.citations import checked_citations
from app.knowledge.context import (
    AttachedFile,
    file_budget_chars,
    file_context,
    question_with_files,
)
from app.knowledge.long_text import LongText, split_long_text
from app.llm.base import ChatModel, Message
from app.logs import unexpected
from app.models.errors import ModelError
from app.pipeline.attachments import (
    IMAGE_TOKEN_BUDGET,
    READING_TEXT_ONLY,
    prepare_user_message,
    vision_content,
)
from app.pipeline.chat_files import ChatFiles
from app.pipeline.chat_log import ChatLog, history_messages
from app.pipeline.engines import Engines, EngineUnavailable
from app.pipeline.history import History
from app.pipeline.reply_feed import ReplyFeed
from app.pipeline.sentences import SentenceSplitter, speakable
from app.pipeline.speculation import Speculation, consume, fitted_prompt, stream_reply
from app.pipeline.thinking import (
    ReasoningGate,
    answer_messages,
    split_reasoning,
    system_with_thinking,
)
from app.pipeline.tool_use import ToolTurn, stream_with_tools, tool_instructions, with_result
from app.pipeline.withhold import (
    protected_terms,
    withheld,
    withheld_notice,
    withhold_text,
)
from app.storage.assistants import Assistant, AssistantError, Assistants
from app.storage.chats import ChatStore, Role, StoredMessage
from app.stt.base import SpeechToText
from app.stt.live import LiveTranscriber
from app.text import visible
from app.tools.cues import call_grammar, cue, direct_call
from app.tools.registry import Confirm, Registry, ToolOutcome
from app.tools.spoken import with_digits
from app.tts.base import TextToSpeech
from app.vision.untrusted import neutralise

log = logging.getLogger(__name__)

TIMING_KEYS = ("stt", "llm_first_token", "llm_total", "tts_first_audio", "first_audio")
WATERFALL_KEYS = (
    "t_transcript",
    "t_first_token",
    "t_first_clause",
    "t_first_chunk",
    "t_first_audio",
    "t_reply_done",
)
NO_SPEECH = "I didn't hear anything. Hold the talk button (or Space) while you speak."


class AudioSink(Protocol):
    """Where reply audio goes: the speaker (Player) or a file (CLI --say)."""

    def enqueue(self, turn_id: int, index: int, samples: np.ndarray, rate: int) -> None: ...
    def finish(self, turn_id: int) -> None: ...
    def stop(self) -> dict[int, float]: ...


@dataclass
class Turn:
    id: int
    spoken_input: bool
    speaking: bool
    cancel: threading.Event = field(default_factory=threading.Event)
    transcript: str = ""
    reply: str = ""
    sentences: list[str] = field(default_factory=list)
    feed: ReplyFeed = field(init=False)  # the LLM worker's side of the reply (see _new_turn)
    marks: dict[str, float] = field(default_factory=dict)
    finished: bool = False
    in_history: bool = False
    unheard: bool = False  # meant to be spoken, but the speaker went away: shown, not heard
    images: tuple[Any, ...] = ()
    audio_seconds: float = 0.0  # how long the spoken input was
    live: LiveTranscriber | None = None
    speculation: Speculation | None = None  # a reply started at a pause, key still held
    # What the model was given (see stream_reply), filled on the LLM worker.
    prompt_record: dict[str, Any] = field(default_factory=dict)
    tools: list[ToolOutcome] = field(default_factory=list)  # calls made for the reply
    reasoning: list[ReasoningGate] = field(default_factory=list)  # think-first scratchpads

    def mark(self, name: str, at: float) -> None:
        self.marks.setdefault(name, at)

    def notes(self) -> str:
        """The reply's hidden reasoning, every round's scratchpad ('' without think-first)."""
        return "\n\n".join(g.reasoning.strip() for g in self.reasoning if g.reasoning.strip())

    def timings(self) -> dict[str, float | None]:
        m = self.marks

        def span(a: str, b: str) -> float | None:
            return round(m[b] - m[a], 4) if a in m and b in m else None

        return {
            "stt": span("speech_end", "transcript"),
            "llm_first_token": span("llm_start", "first_token"),
            "llm_total": span("llm_start", "llm_done"),
            "tts_first_audio": span("first_sentence", "first_chunk"),
            "first_audio": span("input_end", "first_audio"),
            # The waterfall: each stage as seconds after the end of the user's input.
            "t_transcript": span("input_end", "transcript"),
            "t_first_token": span("input_end", "first_token"),
            "t_first_clause": span("input_end", "first_sentence"),
            "t_first_chunk": span("input_end", "first_chunk"),
            "t_first_audio": span("input_end", "first_audio"),
            "t_reply_done": span("input_end", "llm_done"),
        }


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
        self.sink = sink
        self.history = History(settings.system_prompt)
        self.assistant: Assistant | None = None  # None: the built-in Parley
        self.chat = ChatLog(store, lambda text: bus.publish(Notice(message=text)))
        self.tools = Registry.default()
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
        self._explained_ocr = False
        self.last_turn: Turn | None = None
        self._next_id = 1
        self._tasks: set[asyncio.Task[Any]] = set()
        handlers: list[tuple[type[Event], Callable[[Any], Any]]] = [
            (SpeechEnded, self._on_speech),
            (UserTurn, self._on_user_turn),
            (LlmDelta, self._on_delta),
            (LlmSentence, self._on_sentence),
            (LlmDone, self._on_llm_done),
            (TtsChunk, self._on_tts_chunk),
            (TtsDone, self._on_tts_done),
            (PlaybackStarted, self._on_playback_started),
            (PlaybackFinished, self._on_playback_finished),
        ]
        self._unsubscribe = [bus.subscribe(t, h) for t, h in handlers]

    # --- what the GUI and CLI call ----------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.current is not None and not self.current.finished

    def begin_listening(self, recorder: Recorder | None = None) -> int:
        """Push-to-talk went down: barge in on any running turn and start a spoken one.
        With the `recorder` that captures it, speech is transcribed while the key is held."""
        turn = self._new_turn(spoken_input=True)
        turn.images = self._take_attachments()
        stt = self.engines.stt
        if recorder is not None and stt is not None and self.settings.live_transcription:
            turn.live = LiveTranscriber(
                stt,
                self.engines.worker("stt"),
                recorder,
                on_partial=lambda text: self._speculate(turn, text),
                on_resumed=lambda: self._drop_speculation(turn),
            )
            turn.live.start()
        self.bus.publish(RecordingStarted(turn_id=turn.id))
        return turn.id

    def submit_audio(self, turn_id: int, audio: np.ndarray) -> None:
        """Push-to-talk was released with this 16 kHz mono audio."""
        log.debug("turn %d: released after %.2f s of audio", turn_id, audio.size / 16000)
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
        heard = self.sink.stop() if self.sink is not None and turn.speaking else {}
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
        self.history.clear()
        self.documents.clear()
        self.chat.forget()
        # A new chat gets the chosen assistant as it is now (an old chat may have been
        # answered by an older revision, or by one since removed).
        current = self.assistant
        if current is not None and self.chat.store is not None:
            try:
                latest = Assistants(self.chat.store).get_by_id(current.id)
            except AssistantError:
                latest = None
            self.use_assistant(None if latest is None or latest.builtin else latest)

    def use_assistant(self, assistant: Assistant | None) -> None:
        """Who answers the chats started from now on (None: the built-in Parley, with the
        instructions in Settings). The caller starts a new chat (reset) first."""
        self.assistant = assistant
        self.history.system_prompt = (
            self.settings.system_prompt if assistant is None else assistant.instructions
        )
        self.chat.assistant = None if assistant is None else (assistant.id, assistant.revision)
        self.documents.use_assistant(assistant)

    def open_chat(self, chat_id: int) -> list[StoredMessage]:
        """Go on with a stored chat: its questions and answers become the LLM's history (as
        the model saw them; trimmed to the context as always). Returns its messages, for the
        screen; an unknown or deleted chat gives [] and changes nothing."""
        store = self.chat.store
        if store is None or store.chat(chat_id) is None:
            return []
        stored = store.messages(chat_id)
        self.interrupt("another conversation", clear_pending=True)
        self.history.clear()
        # The revision that answered it goes on answering it, however it was edited since.
        recorded = store.chat_assistant(chat_id)
        self.use_assistant(Assistants(store).revision(*recorded) if recorded else None)
        kept = history_messages(stored)
        self.history.messages.extend(m for _, m in kept)
        self.chat.chat_id = chat_id
        self.chat.ids = [i for i, _ in kept]
        self.documents.restore(chat_id)
        return stored

    def close(self) -> None:
        if self.current is not None:  # a speculation waiting on the LLM worker must not
            self._drop_speculation(self.current)  # hold up the exit
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
        turn.feed = ReplyFeed(self.bus, turn.id, self._splitter(), lambda: turn.speaking)
        self._next_id += 1
        self.current = turn
        return turn

    def _splitter(self) -> SentenceSplitter:
        return SentenceSplitter(
            clause_words=self.settings.tts_clause_words or None,
            first_clause_words=self.settings.tts_first_clause_words or None,
            first_max_words=self.settings.tts_first_max_words or None,
        )

    def _turn(self, turn_id: int) -> Turn | None:
        turn = self.current
        if turn is None or turn.id != turn_id or turn.finished:
            return None
        return turn

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _finish(self, turn: Turn, interrupted: bool = False, spoken: str | None = None) -> None:
        if turn.finished:
            return
        turn.finished = True
        self._drop_speculation(turn)  # an adopted one has finished by now, or must stop
        turn.feed.release()  # an LLM waiting for audio that will not come goes on (or stops)
        spoken = turn.reply if spoken is None else spoken
        if turn.in_history:
            # What the user heard is what the assistant said, as far as the model is concerned.
            self.history.add_assistant(spoken.strip() or "…")
            meta = self.chat.reply_meta(turn.prompt_record)
            notes = turn.notes()
            if notes and meta is not None:
                meta["reasoning"] = notes  # kept apart: never in the text, the history or data
            if turn.unheard:
                meta = {**(meta or {}), "unheard": True}
            reply_id = self._save(
                turn, "assistant", spoken.strip() or "…", interrupted=interrupted, meta=meta
            )
            self.chat.ids.append(reply_id)
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

    def _system_prompt(self) -> str:
        """The instructions (and how to think first, when that is on). The tools are not
        described here: the system prompt stays the same turn after turn, so llama.cpp keeps
        it evaluated in its cache, and the model is not tempted to call a calculator for
        "How many legs does a spider have?" (it did, costing a second)."""
        return system_with_thinking(self.history.system_prompt, self.settings)

    def _tool_registry(self, images: tuple[Any, ...], question: str) -> ToolTurn | None:
        """The tools, for a question whose words read like a calculation, a date or a clock
        time (None: a plain reply). `question` is only what the user typed or said: text read
        from an image or a file never decides a tool (a receipt's date had made "What colour
        is this image?" a calendar call). Pixels in the prompt go through the vision handler:
        one round only."""
        if not (self.settings.tools and self.tools.tools) or images:
            return None
        wanted = cue(question)
        if not wanted:
            return None
        call = direct_call(question) if wanted.calculator else None
        return ToolTurn(self.tools, call, wanted)

    def _reply_stream(
        self,
        llm: ChatModel,
        messages: list[Message],
        extra: int,
        last: Any,
        system: str,
        record: dict[str, Any],
        tools: ToolTurn | None,
        outcomes: list[ToolOutcome],
        stopped: Callable[[], bool],
        reasoning: list[ReasoningGate],
        turn_id: int | None = None,
        greedy: bool = False,
    ) -> Any:
        """On the LLM worker: the reply's pieces, tool rounds included when tools are on.
        With `turn_id` (a turn the user is waiting on, not a speculation), the reading of a
        long prompt is reported and a question cut to fit is announced. `greedy`: the turn
        answers from attachments, so every round is decoded greedily (stream_reply)."""
        settings = self.settings
        rounds = [0]
        bus = self.bus
        progress = None
        if turn_id is not None:

            def progress(done: int, total: int) -> None:
                bus.publish_threadsafe(PromptProgress(turn_id=turn_id, done=done, total=total))

        if tools is not None and tools.call is not None and not settings.think_first:
            # A bare sum: the tool runs now and its result goes with the question, so the
            # one round reads little more than a plain question (see with_result). Thinking
            # first, the model reasons over a tool turn instead (it recomputed a bare result
            # in its scratchpad, wrongly: "nineteen plus twenty-three equals 15").
            outcome = tools.registry.run(tools.call, self.confirm)
            outcomes.append(outcome)
            log.debug("tool %s ran before the reply: %s", outcome.name, outcome.chip())
            # As the newest message (with any file passages): the exact prompt kept for
            # feedback says what the model was given. No pictures: a tool turn has none.
            last = with_result(last if isinstance(last, str) else messages[-1]["content"], outcome)
            tools = None
        # A calculation gets a tool call, not a guess: constrained by a grammar where the
        # engine takes one (the 1.5B model, left to choose, answered percentages and word
        # problems from memory); elsewhere the tools are described in the question. Thinking
        # first, the grammar lets a short scratchpad come before the call.
        think_chars = max(40, settings.think_budget_tokens) * 4
        forced = (
            call_grammar(min(600, think_chars - 1) if settings.think_first else 0, tools.wanted)
            if tools is not None and getattr(llm, "supports_grammar", False)
            else None
        )
        # A remote API with tool calling gets the tools as such; any other engine has them
        # described in the question.
        native = (
            tools.registry.schemas()
            if tools is not None and forced is None and getattr(llm, "supports_tools", False)
            else None
        )
        if tools is not None and forced is None and native is None and tools.call is None:
            described = f"{messages[-1]['content']}\n\n{tool_instructions(tools.registry)}"
            messages = [*messages[:-1], {"role": "user", "content": described}]

        def one_round(convo: list[Message]) -> Any:
            rounds[0] += 1
            if rounds[0] == 1:
                if tools is not None and tools.call is not None:
                    # The user's words are the call: no model round writes it (thinking
                    # first, the model then reasons over the result as it explains it).
                    fitted_prompt(llm, settings, messages, extra, system, record)
                    stream: Any = iter([tools.call_text()])
                else:
                    stream = stream_reply(
                        llm, settings, _numbers_as_digits(messages) if forced else messages,
                        extra, last, system, record, forced, progress, native, greedy,
                    )  # fmt: skip
                if turn_id is not None and "cut" in record:
                    bus.publish_threadsafe(Notice(turn_id=turn_id, message=cut_notice(llm)))
            else:
                if isinstance(last, str):  # later rounds keep the files' passages
                    convo = [*convo]
                    convo[len(messages) - 1] = {"role": "user", "content": last}
                stream = stream_reply(
                    llm, settings, convo, extra, None, system, None, None, progress, None, greedy
                )  # the tools' results are in: now the answer, not another call
            if not settings.think_first:
                return stream
            gate = ReasoningGate(think_chars)
            reasoning.append(gate)

            def answer(notes: str, convo: list[Message] = convo) -> Any:
                base = messages if rounds[0] == 1 else convo
                return stream_reply(
                    llm, settings, answer_messages(base, notes), 0, None, system, greedy=greedy
                )

            return split_reasoning(stream, gate, answer)

        if tools is None:
            stream = one_round(messages)
        else:
            stream = stream_with_tools(
                one_round, messages, tools.registry, outcomes.append, self.confirm, stopped
            )
        terms = self._protected_terms()
        if not terms:
            return stream
        return withheld(stream, terms, lambda found: record.__setitem__("withheld", found))

    def _protected_terms(self) -> list[str]:
        """What the instructions say to keep secret (see app/pipeline/withhold.py)."""
        return protected_terms(self.history.system_prompt, DEFAULT_SYSTEM_PROMPT)

    def _save(
        self, turn: Turn, role: Role, text: str, context: str | None = None, **kw: Any
    ) -> int | None:
        new = self.chat.chat_id is None
        if new and self.assistant is None and self.chat.store is not None:
            try:  # the built-in Parley's revision for the instructions it answers with
                parley = Assistants(self.chat.store).builtin(self.history.system_prompt)
                self.chat.assistant = (parley.id, parley.revision)
            except sqlite3.Error:
                self.chat.assistant = None
        message_id = self.chat.save(role, text, context, **kw)
        if new and self.chat.chat_id is not None:
            self.documents.chat_started()
        if message_id is not None and self.chat.chat_id is not None:
            title = self.chat.title() if new or role == "user" else ""
            self.bus.publish(
                ChatSaved(
                    turn_id=turn.id,
                    chat_id=self.chat.chat_id,
                    message_id=message_id,
                    role=role,
                    title=title,
                )
            )
        return message_id

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
        if self.sink is not None and turn.speaking:
            self.sink.stop()
        if turn.in_history:
            turn.in_history = False
            if self.history.messages and self.history.messages[-1]["role"] == "user":
                self.history.messages.pop()
                if self.chat.ids:
                    self.chat.ids.pop()
        self._finish(turn)

    async def _stage(
        self, turn: Turn, engine: str, job: Callable[[], str], *why: str
    ) -> str | None:
        """Run `job` on the engine's worker; on failure end the turn with a message (None)."""
        return await self._outcome(turn, engine, self.engines.worker(engine).run(job), *why)

    async def _outcome(
        self, turn: Turn, engine: str, work: Awaitable[str], unavailable: str, failed: str
    ) -> str | None:
        """The result of `engine`'s work; on failure end the turn with a message (None)."""
        try:
            return await work
        except (EngineUnavailable, ModelError) as exc:
            # A ModelError is already worded for the user (e.g. the remote LLM server is down).
            log.info("%s stage failed: %s", engine, exc)  # the user is told; no duplicate
            self._fail(turn, engine, f"{unavailable}: {exc}")
        except Exception as exc:
            log.exception("%s stage failed", engine)
            self._fail(turn, engine, f"{failed}: {unexpected(exc)}.")
        return None

    # --- stages ------------------------------------------------------------------------------

    def _on_speech(self, ev: SpeechEnded) -> None:
        turn = self._turn(ev.turn_id)
        if turn is None:
            return
        turn.mark("speech_end", ev.at)
        turn.mark("input_end", ev.at)
        turn.audio_seconds = ev.audio.size / ev.sample_rate
        self._spawn(self._transcribe(turn, ev.audio))

    async def _transcribe(self, turn: Turn, audio: np.ndarray) -> None:
        def job() -> str:
            stt: SpeechToText = self.engines.require("stt")
            return stt.transcribe(audio)

        if turn.live is not None:
            try:
                text: str | None = await turn.live.finish(audio)
            except Exception as exc:
                log.exception("live transcription failed")
                self._fail(turn, "stt", f"Transcription failed: {unexpected(exc)}.")
                return
        else:
            text = await self._stage(turn, "stt", job, "Can't transcribe", "Transcription failed")
        if text is None or turn.cancel.is_set():
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
        self._spawn(self._generate(turn, ev.text))

    async def _generate(self, turn: Turn, text: str) -> None:
        settings = self.settings
        bus = self.bus
        shown = text  # what the user wrote, as it is stored and shown
        # A recording longer than the talk limit is a talk or a meeting, not a question:
        # its transcript is read as a document, whatever its length, like a long paste.
        recorded = turn.audio_seconds > settings.max_talk_seconds
        if recorded:
            long = split_long_text(text, "your recording", force=True)
        else:
            long = split_long_text(text)
        if long is not None:
            # Too long to send whole (and minutes of prompt reading on a CPU): it is read
            # like a file, and only the parts that match the question go in.
            text = long.question
            pasted = await self.engines.worker("vision").run(AttachedFile.prepare, long.document)
            self.attach_file(pasted)
            bus.publish(Notice(turn_id=turn.id, message=long_text_notice(long, turn, settings)))
        try:
            message = await prepare_user_message(
                self.engines, text, turn.images, self._explained_ocr
            )
        except Exception as exc:
            log.exception("reading the attached images failed")
            self._fail(turn, "vision", f"Could not read the attached image: {exc}")
            return
        if turn.cancel.is_set() or turn.finished:
            return
        for notice in message.notices:
            self._explained_ocr = self._explained_ocr or notice == READING_TEXT_ONLY
            bus.publish(Notice(turn_id=turn.id, message=notice))
        last_text: str | None = None
        sources: list[tuple[str, str]] | None = None  # the passages given, for citations
        await self.documents.ready()
        if turn.cancel.is_set() or turn.finished:
            return
        if self.documents.all:
            files = self.documents.all
            budget = file_budget_chars(settings)
            context = await self.engines.worker("vision").run(
                file_context, message.history_text, files, budget
            )
            for notice in context.notices:
                bus.publish(Notice(turn_id=turn.id, message=notice))
            names = ", ".join(neutralise(f.name) for f in files)
            last_text = question_with_files(message.history_text, context)
            sources = context.sources
            message.history_text = f"{message.history_text}\n[Files: {names}]"
            bus.publish(
                SourcesUsed(
                    turn_id=turn.id,
                    sources=tuple(context.sources),
                    retrieved=context.retrieved,
                )
            )
        self.history.add_user(message.history_text)
        turn.in_history = True
        self.chat.ids.append(
            self._save(turn, "user", shown, message.history_text, images=turn.images)
        )
        messages = list(self.history.messages)
        images = message.images

        feed = turn.feed
        why = ("Can't answer", "The language model failed")
        spec = turn.speculation
        system = self._system_prompt()
        tools = self._tool_registry(images, text)  # the user's words, not what was read
        if spec is not None and not images and spec.matches(message.history_text, messages):
            log.debug("turn %d: the reply started at the pause is kept", turn.id)
            spec.adopt(feed.piece, feed.hold)  # the reply was started while the key was held
            turn.prompt_record = spec.record
            turn.tools = spec.tools
            turn.reasoning = spec.reasoning
            assert spec.future is not None
            reply = await self._outcome(turn, "llm", asyncio.wrap_future(spec.future), *why)
        else:
            if spec is not None:  # (the bench's turn logs say which, and so why a turn waited)
                log.debug("turn %d: the reply started at the pause is dropped", turn.id)
            self._drop_speculation(turn)

            def job() -> str:
                llm: ChatModel = self.engines.require("llm")
                # Only the newest message carries pixels; the history keeps their names.
                words = last_text if last_text is not None else text
                last = vision_content(words, images) if images else last_text
                extra = IMAGE_TOKEN_BUDGET * len(images)
                grounded = bool(turn.images) or last_text is not None  # read off attachments
                stream = self._reply_stream(
                    llm, messages, extra, last, system, turn.prompt_record, tools, turn.tools,
                    turn.cancel.is_set, turn.reasoning, turn.id, grounded,
                )  # fmt: skip
                if sources is not None:  # no citation of a file that was not given
                    record = turn.prompt_record
                    stream = checked_citations(
                        stream, sources, lambda c: record.__setitem__("citations_corrected", c)
                    )
                return consume(stream, feed.piece, turn.cancel, feed.hold)

            reply = await self._stage(turn, "llm", job, *why)
        if reply is None or turn.cancel.is_set() or turn.finished:
            return
        feed.flush()
        notes = turn.notes()
        found: list[str] = list(turn.prompt_record.get("withheld", ()))
        if notes:
            cut = any(g.over_budget for g in turn.reasoning)
            notes, in_notes = withhold_text(notes, self._protected_terms())
            found += in_notes
            bus.publish(ReasoningDone(turn_id=turn.id, text=notes, cut=cut))
        if found:
            bus.publish(Notice(turn_id=turn.id, message=withheld_notice(found)))
        for outcome in turn.tools:
            bus.publish(
                ToolUsed(
                    turn_id=turn.id,
                    name=outcome.name,
                    arguments=outcome.arguments,
                    result=outcome.result,
                    ok=outcome.ok,
                    chip=outcome.chip(),
                )
            )
        # Queued behind the last pieces and clauses, which the worker published the same way.
        bus.publish_threadsafe(LlmDone(turn_id=turn.id, text=reply, sentences=feed.count))

    def _speculate(self, turn: Turn, text: str) -> None:
        """Live transcription heard `text` up to a pause: start its reply, key still held."""
        if (
            not self.settings.speculative_replies
            or turn.images
            or self.documents.all  # the passages to give depend on the final question
            or self._turn(turn.id) is None
        ):
            return
        if "input_end" in turn.marks:
            return  # released already: the real reply follows the final transcript
        self._drop_speculation(turn)
        log.debug("turn %d: a reply started at a pause, on %r", turn.id, text)
        settings = self.settings
        messages = [*self.history.messages, {"role": "user", "content": text}]
        system = self._system_prompt()
        tools = self._tool_registry((), text)
        if tools is not None and not tools.registry.pure:
            return  # a call that changes something is never made before the user has finished
        ahead = settings.speculative_audio and turn.speaking
        spec = Speculation(
            text,
            messages,
            self._splitter() if ahead else None,
            (lambda clause: self._synthesize_ahead(spec, clause)) if ahead else None,
        )

        def job() -> str:
            if spec.cancelled.is_set():  # superseded while queued
                return ""
            llm: ChatModel = self.engines.require("llm")
            stream = self._reply_stream(
                llm,
                messages,
                0,
                None,
                system,
                spec.record,
                tools,
                spec.tools,
                spec.cancelled.is_set,
                spec.reasoning,
            )
            return spec.run(stream)

        spec.future = self.engines.worker("llm").submit(job)
        turn.speculation = spec

    def _synthesize_ahead(self, spec: Speculation, clause: str) -> None:
        """The speculative reply's first clause (from the LLM worker): synthesise it now on
        the TTS worker, which is idle while the key is held, and keep the audio."""
        log.debug("first clause ahead: %r", clause)

        def job() -> None:
            try:
                if spec.cancelled.is_set():
                    return
                tts: TextToSpeech = self.engines.require("tts")
                words = speakable(clause)
                chunks = []
                for samples in tts.synthesize(words) if words else ():
                    if spec.cancelled.is_set():
                        return
                    chunks.append(samples)
                spec.audio = (clause, chunks, tts.sample_rate)
            except Exception:  # the turn synthesises it again if it is wanted
                log.exception("synthesising the speculative first clause failed")
            finally:
                spec.audio_done.set()  # the speculative reply may go on

        try:
            self.engines.worker("tts").submit(job)
        except RuntimeError:  # shutting down
            spec.audio_done.set()

    @staticmethod
    def _drop_speculation(turn: Turn) -> None:
        if turn.speculation is not None:
            turn.speculation.cancel()
            turn.speculation = None

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
            self._synthesize(turn, ev.index, ev.text)
        elif ev.index == 0:
            turn.feed.release()

    def _synthesize(self, turn: Turn, index: int, text: str) -> None:
        """Queue the sentence on the TTS thread now, so sentences (and the TtsDone marker that
        follows them) are synthesised in order; await the result in a task."""
        bus = self.bus
        spec = turn.speculation if index == 0 else None

        def job() -> None:
            try:
                # Queued before a barge-in, or the speaker went away: nobody will hear it.
                if turn.cancel.is_set() or not turn.speaking:
                    return
                tts: TextToSpeech = self.engines.require("tts")
                words = speakable(text)
                if not words:
                    return
                # Synthesised while the key was held (queued before this job, so done by now).
                ahead = spec.audio_for(text) if spec is not None else None
                chunks, rate = ahead or (tts.synthesize(words), tts.sample_rate)
                for samples in chunks:
                    if turn.cancel.is_set() or not turn.speaking:
                        return
                    bus.publish_threadsafe(
                        TtsChunk(turn_id=turn.id, index=index, samples=samples, sample_rate=rate)
                    )
                    if index == 0:
                        turn.feed.release()  # the LLM may go on (see ReplyFeed)
            finally:
                if index == 0:
                    turn.feed.release()

        future = asyncio.wrap_future(self.engines.worker("tts").submit(job))
        self._spawn(self._after_tts(turn, future))

    async def _after_tts(self, turn: Turn, future: asyncio.Future[None]) -> None:
        bus = self.bus
        try:
            await future
        except EngineUnavailable as exc:
            if turn.speaking:  # say it once per turn, then carry on as text only
                turn.speaking = False
                bus.publish(
                    ErrorRaised(turn_id=turn.id, source="tts", message=f"Can't speak: {exc}")
                )
        except Exception as exc:
            log.exception("speech synthesis failed")
            bus.publish(
                ErrorRaised(
                    turn_id=turn.id, source="tts", message=f"Speech synthesis failed: {exc}"
                )
            )

    def _on_llm_done(self, ev: LlmDone) -> None:
        turn = self._turn(ev.turn_id)
        if turn is None:
            return
        turn.mark("llm_done", ev.at)
        if not turn.speaking:
            self._finish(turn)
            return
        # Queued behind every sentence on the TTS thread, so it fires after the last chunk.
        turn_id = turn.id
        self.engines.worker("tts").submit(self.bus.publish_threadsafe, TtsDone(turn_id=turn_id))

    def _on_tts_chunk(self, ev: TtsChunk) -> None:
        turn = self._turn(ev.turn_id)
        if turn is None or self.sink is None or not turn.speaking:
            return
        turn.mark("first_chunk", ev.at)
        self.sink.enqueue(ev.turn_id, ev.index, ev.samples, ev.sample_rate)

    def _on_tts_done(self, ev: TtsDone) -> None:
        if self._turn(ev.turn_id) is not None and self.sink is not None:
            self.sink.finish(ev.turn_id)

    def _on_playback_started(self, ev: PlaybackStarted) -> None:
        turn = self._turn(ev.turn_id)
        if turn is not None:
            turn.mark("first_audio", ev.at)

    def _on_playback_finished(self, ev: PlaybackFinished) -> None:
        turn = self._turn(ev.turn_id)
        if turn is not None:
            self._finish(turn)


def _numbers_as_digits(messages: list[Message]) -> list[Message]:
    """The question as the call round reads it: spoken numbers as digits (the default model,
    given "half past seven ... runs two hours ten minutes", wrote the time as 2:10)."""
    last = messages[-1]
    if not isinstance(last["content"], str):
        return messages
    return [*messages[:-1], {"role": last["role"], "content": with_digits(last["content"])}]


def clip_to_heard(sentences: list[str], heard: dict[int, float]) -> str:
    """The part of the reply that was played: whole sentences, then the heard share of the
    words of the sentence that was cut."""
    said: list[str] = []
    for index, sentence in enumerate(sentences):
        fraction = heard.get(index, 0.0)
        if fraction >= 0.999:
            said.append(sentence)
            continue
        words = sentence.split()
        keep = int(len(words) * fraction)
        if keep:
            said.append(" ".join(words[:keep]) + "…")
        break
    return " ".join(said)


def long_text_notice(long: LongText, turn: Turn, settings: Settings) -> str:
    """What the user is told when their message is read as a document: why, and which words
    were taken as the question (or that there were none)."""
    chars = sum(len(s.text) for s in long.document.sections)
    if turn.audio_seconds > settings.max_talk_seconds:
        minutes = f"{turn.audio_seconds / 60:.1f} minutes"
        limit = f"{settings.max_talk_seconds / 60:g} minutes"
        why = (
            f"The recording is {minutes} long, longer than the talk limit ({limit}), so Parley "
            "read its transcript as a document"
        )
    else:
        why = f"Your message is long ({chars:,} characters), so Parley read it as a document"
    if not long.found:
        return f"{why}. It found no question in it, so it asked for a summary."
    where = {
        "end": "at its end",
        "start": "at its start",
        "last paragraph": "in its last paragraph",
    }
    question = long.question if len(long.question) <= 160 else long.question[:159] + "…"
    return (
        f"{why} and gives the model the parts that match your question, found "
        f"{where[long.found]}: “{question}”."
    )


def cut_notice(llm: ChatModel) -> str:
    return (
        f"Your message is longer than {llm.name} can read at once ({llm.context_size:,} tokens "
        "with its reply), so its end was left out. Attach long text as a file, or shorten it."
    )
