"""Compose: the one place that builds what the model is given for a turn.

From the user's words and what came with them it makes a `ModelInput`: the message the history
keeps, the newest message as sent (pictures for a vision model, what the image reader found
for a text-only one, the passages of the chat's files that match the question), the room kept
for pictures, and whether the answer is read off attachments. A message too long to send whole
(a pasted article, a recording longer than the talk limit) is read like a file. The system
prompt, the words it keeps secret, and which tools a question is offered are decided here too.
The user is told, as it happens, what was read and how (notices, the sources used).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from app.bus import EventBus
from app.bus.events import Notice, SourcesUsed
from app.config import DEFAULT_SYSTEM_PROMPT, Settings
from app.knowledge.context import AttachedFile, file_budget_chars, file_context, question_with_files
from app.knowledge.long_text import LongText, split_long_text
from app.pipeline.attachments import (
    IMAGE_TOKEN_BUDGET,
    READING_TEXT_ONLY,
    prepare_user_message,
    vision_content,
)
from app.pipeline.capabilities import cannot_do_note
from app.pipeline.chat_files import ChatFiles
from app.pipeline.engines import Engines
from app.pipeline.hear import is_long_recording
from app.pipeline.history import History
from app.pipeline.thinking import system_with_thinking
from app.pipeline.tool_use import ToolTurn
from app.pipeline.turn import StageFailed, Turn
from app.safety.untrusted import neutralise
from app.safety.withhold import protected_terms
from app.tools.cues import cue, direct_call
from app.tools.registry import Registry

log = logging.getLogger(__name__)


@dataclass
class ModelInput:
    """What the model is given for one turn (besides the history before it)."""

    question: str  # the user's own words (a long text's question): they alone choose tools
    history_text: str  # the user's message as the history keeps it
    images: tuple[Any, ...] = ()  # pictures for a vision model, in the newest message only
    last: Any = None  # the newest message's content as sent (None: `history_text`)
    extra_budget: int = 0  # tokens kept in the context for the pictures
    grounded: bool = False  # read off attachments: decoded greedily (see stream_reply)
    sources: list[tuple[str, str]] | None = None  # the file passages given, for citations


class Compose:
    def __init__(
        self,
        bus: EventBus,
        engines: Engines,
        settings: Settings,
        history: History,
        documents: ChatFiles,
    ) -> None:
        self.bus = bus
        self.engines = engines
        self.settings = settings
        self.history = history
        self.documents = documents
        self.tools = Registry.default()
        self._explained_ocr = False

    def system_prompt(self) -> str:
        """The instructions (and how to think first, when that is on). The tools are not
        described here: the system prompt stays the same turn after turn, so llama.cpp keeps
        it evaluated in its cache, and the model is not tempted to call a calculator for
        "How many legs does a spider have?" (it did, costing a second)."""
        return system_with_thinking(self.history.system_prompt, self.settings)

    def secrets(self) -> list[str]:
        """What the instructions say to keep secret (see app/safety/withhold.py)."""
        return protected_terms(self.history.system_prompt, DEFAULT_SYSTEM_PROMPT)

    def tools_for(self, images: tuple[Any, ...], question: str) -> ToolTurn | None:
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
        return ToolTurn(self.tools, direct_call(question), wanted)

    async def model_input(self, turn: Turn, text: str) -> ModelInput | None:
        """The model's input for the user's `text` and the turn's attachments (None: the turn
        stopped meanwhile); StageFailed when an image cannot be read."""
        long = self._long_text(turn, text)
        if long is not None:
            # Too long to send whole (and minutes of prompt reading on a CPU): it is read
            # like a file, and only the parts that match the question go in.
            text = long.question
            pasted = await self.engines.worker("vision").run(AttachedFile.prepare, long.document)
            self.documents.attach(pasted)
            self._say(turn, long_text_notice(long, turn, self.settings))
        try:
            message = await prepare_user_message(
                self.engines, text, turn.images, self._explained_ocr
            )
        except Exception as exc:
            log.exception("reading the attached images failed")
            raise StageFailed("vision", f"Could not read the attached image: {exc}") from exc
        if turn.stopped:
            return None
        for notice in message.notices:
            self._explained_ocr = self._explained_ocr or notice == READING_TEXT_ONLY
            self._say(turn, notice)
        got = ModelInput(text, message.history_text, message.images)
        note = cannot_do_note(text)
        if note and isinstance(message.history_text, str):
            got.last = f"{message.history_text}\n{note}"  # the history keeps the user's words
        await self.documents.ready()
        if turn.stopped:
            return None
        if self.documents.all:
            await self._with_files(turn, got)
        if got.images:  # only the newest message carries pixels; the history keeps names
            words = got.last if got.last is not None else text
            got.last = vision_content(words, got.images)
            got.extra_budget = IMAGE_TOKEN_BUDGET * len(got.images)
        got.grounded = bool(turn.images) or got.sources is not None
        return got

    def _long_text(self, turn: Turn, text: str) -> LongText | None:
        # A recording longer than the talk limit is a talk or a meeting, not a question:
        # its transcript is read as a document, whatever its length, like a long paste.
        if is_long_recording(turn, self.settings):
            return split_long_text(text, "your recording", force=True)
        return split_long_text(text)

    async def _with_files(self, turn: Turn, got: ModelInput) -> None:
        """The passages of the chat's files that match the question go with it."""
        files = self.documents.all
        budget = file_budget_chars(self.settings)
        context = await self.engines.worker("vision").run(
            file_context, got.history_text, files, budget
        )
        for notice in context.notices:
            self._say(turn, notice)
        names = ", ".join(neutralise(f.name) for f in files)
        got.last = question_with_files(got.history_text, context)
        got.sources = context.sources
        got.history_text = f"{got.history_text}\n[Files: {names}]"
        self.bus.publish(
            SourcesUsed(
                turn_id=turn.id, sources=tuple(context.sources), retrieved=context.retrieved
            )
        )

    def _say(self, turn: Turn, message: str) -> None:
        self.bus.publish(Notice(turn_id=turn.id, message=message))


def long_text_notice(long: LongText, turn: Turn, settings: Settings) -> str:
    """What the user is told when their message is read as a document: why, and which words
    were taken as the question (or that there were none)."""
    chars = sum(len(s.text) for s in long.document.sections)
    if is_long_recording(turn, settings):
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
