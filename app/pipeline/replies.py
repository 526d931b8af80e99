"""The generate stage as a turn runs it, on the LLM worker.

A turn's reply is streamed to its feed (ReplyFeed: the window and the voice): the reply
started at the pause while the key was held, when it answers this very question, else a new
one. A reply started at a pause (app/pipeline/speculation.py) is made the same way, from the
same instructions and tool choice (compose) and the same rounds (generate).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from app.bus import EventBus
from app.bus.events import Notice, PromptProgress
from app.config import Settings
from app.pipeline.compose import Compose, ModelInput
from app.pipeline.engines import Engines
from app.pipeline.generate import Prompt, ReplyRequest, ReplyTrace, consume, reply_stream
from app.pipeline.speak import splitter
from app.pipeline.speculation import Speculation
from app.pipeline.tool_use import ToolTurn
from app.pipeline.turn import Turn, outcome
from app.tools.registry import Confirm

log = logging.getLogger(__name__)

WHY = ("Can't answer", "The language model failed")  # what a failed reply is called


class Replies:
    def __init__(
        self,
        bus: EventBus,
        engines: Engines,
        settings: Settings,
        compose: Compose,
        confirm: Callable[[], Confirm | None],
    ) -> None:
        self.bus = bus
        self.engines = engines
        self.settings = settings
        self.compose = compose
        self._confirm = confirm  # asks the user before a tool that changes things

    async def reply(self, turn: Turn, given: ModelInput) -> str:
        """The reply to the question just recorded, streamed to the turn's feed; StageFailed
        worded for the user."""
        messages = list(self.compose.history.messages)
        feed, bus, spec = turn.feed, self.bus, turn.speculation
        tools = self.compose.tools_for(given.images, given.question)  # not what was read
        if spec is not None and not given.images and spec.matches(given.history_text, messages):
            log.debug("turn %d: the reply started at the pause is kept", turn.id)
            spec.adopt(feed.piece, feed.hold)  # the reply was started while the key was held
            turn.trace = spec.trace
            assert spec.future is not None
            return await outcome("llm", asyncio.wrap_future(spec.future), *WHY)
        if spec is not None:  # (the bench's turn logs say which, and so why a turn waited)
            log.debug("turn %d: the reply started at the pause is dropped", turn.id)
        turn.drop_speculation()
        system = self.compose.system_prompt()
        prompt = Prompt(messages, system, given.extra_budget, given.last)
        request = self._request(prompt, turn.trace, tools, turn.cancel.is_set)
        request.sources, request.greedy = given.sources, given.grounded
        request.progress = lambda done, total: bus.publish_threadsafe(
            PromptProgress(turn_id=turn.id, done=done, total=total)
        )
        request.notice = lambda text: bus.publish_threadsafe(Notice(turn_id=turn.id, message=text))

        def job() -> str:
            stream = reply_stream(self.engines.require("llm"), self.settings, request)
            return consume(stream, feed.piece, turn.cancel, feed.hold)

        return await outcome("llm", self.engines.worker("llm").run(job), *WHY)

    def early(self, turn: Turn, text: str, ahead: Callable[[Speculation, str], None]) -> None:
        """Live transcription heard `text` up to a pause: start its reply on the LLM worker,
        key still held. Its first clause goes to `ahead` (to be synthesised ahead) where the
        reply is spoken."""
        settings = self.settings
        if (
            not settings.speculative_replies
            or turn.images
            or self.compose.documents.all  # the passages to give depend on the final question
            or turn.stopped
        ):
            return
        if "input_end" in turn.marks:
            return  # released already: the real reply follows the final transcript
        turn.drop_speculation()
        log.debug("turn %d: a reply started at a pause, on %r", turn.id, text)
        messages = [*self.compose.history.messages, {"role": "user", "content": text}]
        system = self.compose.system_prompt()
        tools = self.compose.tools_for((), text)
        if tools is not None and not tools.registry.pure:
            return  # a call that changes something is never made before the user finished
        spoken = settings.speculative_audio and turn.speaking
        spec = Speculation(
            text,
            messages,
            splitter(settings) if spoken else None,
            (lambda clause: ahead(spec, clause)) if spoken else None,
        )
        request = self._request(Prompt(messages, system), spec.trace, tools, spec.cancelled.is_set)

        def job() -> str:
            if spec.cancelled.is_set():  # superseded while queued
                return ""
            return spec.run(reply_stream(self.engines.require("llm"), settings, request))

        spec.future = self.engines.worker("llm").submit(job)
        turn.speculation = spec

    def _request(
        self,
        prompt: Prompt,
        trace: ReplyTrace,
        tools: ToolTurn | None,
        stopped: Callable[[], bool],
    ) -> ReplyRequest:
        """A reply's request, as a turn and a speculation both make it."""
        secrets = self.compose.secrets()
        return ReplyRequest(prompt, trace, tools, self._confirm(), secrets, stopped=stopped)
