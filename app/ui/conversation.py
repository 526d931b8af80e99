"""The window's conversation part: the session's bus events drawn into the chat view (what
was heard, the reply as it streams, reading progress, tool chips, sources, reasoning, errors
and notices) and into the status line.

Every handler here only updates widgets; engines run on their worker threads and the asyncio
loop is qasync's, on this (the Qt) thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer

from app.bus.events import (
    AudioLost,
    ChatSaved,
    EngineStatus,
    ErrorRaised,
    LlmDelta,
    Notice,
    PromptProgress,
    ReasoningDone,
    RecordingStarted,
    SourcesUsed,
    ToolUsed,
    TurnCancelled,
    TurnFinished,
    UserTurn,
)
from app.session import Session
from app.ui.attachments import THUMB
from app.ui.chat_guard import ChatGuard
from app.ui.chat_view import Bubble, ChatView
from app.ui.push_to_talk import HoldToTalk
from app.ui.sidebar import Sidebar
from app.ui.widgets import StatusLine, TalkButton, Waterfall

UNHEARD = "Shown, not spoken: the speaker was unavailable."


class ConversationPart:
    """Mixed into MainWindow (a QMainWindow): `_build_conversation()` makes what the handlers
    keep between events (replies not yet drawn, each turn's notes until it finishes)."""

    # Made by the window's other parts:
    session: Session
    chat: ChatView
    guard: ChatGuard
    status: StatusLine
    waterfall: Waterfall
    talk_button: TalkButton
    hold: HoldToTalk
    sidebar: Sidebar | None
    _listening_turn: int
    stop_talking: Callable[[str], None]
    _update_buttons: Callable[[], None]
    _rate: Callable[[Bubble, int], None]
    _correct: Callable[[Bubble], None]

    def _build_conversation(self) -> None:
        self._pending_bubbles: list[Bubble] = []
        # Reply text not yet on screen: drawn once per frame, not once per token (a reply
        # started early arrives as two dozen tokens at once, and laying the bubble out for
        # each kept the event loop from handing its first clause to the voice).
        self._unshown: dict[int, str] = {}
        self._show_timer = QTimer(self)  # type: ignore[call-overload]
        self._show_timer.setSingleShot(True)
        self._show_timer.setInterval(16)
        self._show_timer.timeout.connect(self._show_deltas)
        self._sources: dict[int, tuple[tuple[str, str], ...]] = {}  # turn: file passages given
        self._reading: dict[int, Bubble] = {}  # turn: the "Reading… n%" notice of a long prompt
        self._tool_chips: dict[int, list[str]] = {}  # turn: "4821 × 37 = 178,377", ...
        self._reasoning: dict[int, str] = {}  # turn: its hidden scratchpad

    def _on_engine_status(self, ev: EngineStatus) -> None:
        self.status.set_state(ev.engine, ev.state, ev.detail, ev.progress)
        if ev.engine == "audio":  # a microphone found late (the sound system started late)
            self.talk_button.setEnabled(self.session.recorder is not None)
        elif ev.state == "error":  # a lost device says so itself (AudioLost)
            self.chat.add("error", ev.detail)

    def _on_audio_lost(self, ev: AudioLost) -> None:
        self.chat.add("error", ev.message)
        if ev.kind == "input" and self._listening_turn:
            self.hold.reset()  # the key's release, still to come, has nothing left to end
            self.stop_talking("microphone lost")

    def _show_audio_state(self) -> None:
        state, detail = self.session.audio_state()
        self.status.set_state("audio", state, detail)
        if state == "error":
            self.chat.add("error", detail)
        self.talk_button.setEnabled(self.session.recorder is not None)

    def _on_recording_started(self, ev: RecordingStarted) -> None:
        self._update_buttons()

    def _on_user_turn(self, ev: UserTurn) -> None:
        if ev.spoken:
            bubble = self.chat.add("user", ev.text, ev.turn_id)
            if ev.images:
                bubble.add_images([img.thumbnail(THUMB * 2) for img in ev.images])
            return
        for bubble in self._pending_bubbles:
            if bubble.text == ev.text:
                bubble.turn_id = ev.turn_id
                bubble.set_dimmed(False)
                self._pending_bubbles.remove(bubble)
                break
        self._update_buttons()

    def _on_delta(self, ev: LlmDelta) -> None:
        self._unshown[ev.turn_id] = self._unshown.get(ev.turn_id, "") + ev.text
        if not self._show_timer.isActive():
            self._show_timer.start()

    def _show_deltas(self) -> None:
        unshown, self._unshown = self._unshown, {}
        for turn_id, text in unshown.items():
            bubble = self.chat.find("assistant", turn_id)
            if bubble is None:
                bubble = self.chat.add("assistant", "", turn_id)
            bubble.append(text)

    def _on_prompt_progress(self, ev: PromptProgress) -> None:
        """A long prompt being read: one notice per turn, updated, gone once it is read."""
        bubble = self._reading.get(ev.turn_id)
        if ev.done >= ev.total:
            if bubble is not None:
                self.chat.remove(self._reading.pop(ev.turn_id))
            return
        text = f"Reading your message and files… {100 * ev.done // max(ev.total, 1)}%"
        if bubble is None:
            bubble = self._reading[ev.turn_id] = self.chat.add("notice", text, ev.turn_id)
            bubble.setObjectName("promptProgress")
        else:
            bubble.set_text(text)

    def _drop_reading(self, turn_id: int) -> None:
        bubble = self._reading.pop(turn_id, None)
        if bubble is not None:
            self.chat.remove(bubble)

    def _on_cancelled(self, ev: TurnCancelled) -> None:
        self._drop_reading(ev.turn_id)
        self._update_buttons()

    def _on_turn_finished(self, ev: TurnFinished) -> None:
        self._drop_reading(ev.turn_id)
        self._show_deltas()
        bubble = self.chat.find("assistant", ev.turn_id)
        if bubble is not None:
            if ev.interrupted:
                # Only what the user heard stays, as in the model's history (all that was
                # shown, when the speaker went away: see TurnManager.speaker_lost).
                bubble.set_text((ev.spoken or "…") + "\n\n*— interrupted*")
                bubble.setProperty("interrupted", True)
            else:
                bubble.set_text(ev.reply.strip())
            if ev.unheard:
                bubble.add_note(UNHEARD).setObjectName("unheard")
            notes = self._reasoning.pop(ev.turn_id, "")
            if notes:
                bubble.add_reasoning(notes)
            chips = self._tool_chips.pop(ev.turn_id, [])
            if chips:
                bubble.add_note("  ·  ".join(chips)).setObjectName("toolChips")
            sources = self._sources.pop(ev.turn_id, ())
            if sources:
                bubble.add_note("From: " + "; ".join(f"{f}, {w}" for f, w in sources[:4]))
        if not ev.interrupted:
            self.status.set_timings(ev.timings)
            self.waterfall.set_timings(ev.timings)
        QTimer.singleShot(0, self._update_buttons)

    def _on_error(self, ev: ErrorRaised) -> None:
        self.chat.add("error", ev.message, ev.turn_id)

    def _on_notice(self, ev: Notice) -> None:
        self.chat.add("notice", ev.message, ev.turn_id)

    def _on_reasoning(self, ev: ReasoningDone) -> None:
        self._reasoning[ev.turn_id] = ev.text + ("\n(cut at the thinking budget)" if ev.cut else "")

    def _on_tool(self, ev: ToolUsed) -> None:
        self._tool_chips.setdefault(ev.turn_id, []).append(ev.chip)

    def _on_sources(self, ev: SourcesUsed) -> None:
        self._sources[ev.turn_id] = ev.sources

    def _on_chat_saved(self, ev: ChatSaved) -> None:
        if ev.chat_id == self.session.turns.chat.chat_id:  # started here: kept as created
            self.guard.show(ev.chat_id)
        if ev.role == "assistant":
            self._show_deltas()  # the reply's bubble may be waiting for the next frame
            bubble = self.chat.find("assistant", ev.turn_id)
            if bubble is not None:
                bubble.enable_feedback(ev.message_id, 0, self._rate, self._correct)
        if self.sidebar is None:
            return
        self.sidebar.current = ev.chat_id
        if not self.sidebar.model.query:  # a search being read is left as it is
            self.sidebar.refresh()
