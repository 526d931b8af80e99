"""The main window: conversation, composer, push-to-talk, stop, status.

Every bus handler here only updates widgets; engines run on their worker threads and the
asyncio loop is qasync's, on this (the Qt) thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, QTimer
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QKeyEvent,
    QKeySequence,
    QPalette,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.audio.backend import AudioUnavailable
from app.audio.wavfile import AudioFileError, read_audio
from app.bus.events import (
    AudioLost,
    ChatSaved,
    EngineStatus,
    ErrorRaised,
    FilesRestored,
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
from app.knowledge.context import AttachedFile
from app.knowledge.extract import FileError, kind_of
from app.models.catalog import Catalog, CatalogEntry, models_dir
from app.models.errors import ModelError
from app.models.install import entry_status
from app.pipeline.assistant_choice import EngineChoice, engine_choice
from app.pipeline.attachments import load_attachment
from app.session import Session
from app.storage.assistants import Assistant, AssistantError, Assistants
from app.storage.database import storage_advice
from app.text import visible
from app.ui.assistant_dialog import AssistantDialog
from app.ui.attachments import (
    FILE_FILTER,
    THUMB,
    AttachmentStrip,
    pixmap_from_png,
    qimage_to_png,
    sources_from_mime,
)
from app.ui.chat_guard import ChatGuard
from app.ui.chat_view import Bubble, ChatView
from app.ui.file_chips import FileChips
from app.ui.global_talk import GlobalTalkKey, ShortcutError
from app.ui.model_panel import ModelPanel, is_model_file
from app.ui.portal_talk import PortalTalkKey
from app.ui.push_to_talk import HoldToTalk
from app.ui.settings_dialog import SettingsDialog
from app.ui.sidebar import Sidebar
from app.ui.style import dark_palette, is_dark, stylesheet
from app.ui.tray import Tray
from app.ui.welcome import Welcome
from app.ui.widgets import LevelMeter, StatusLine, TalkButton, Waterfall
from app.ui.x11_keyboard import X11Keyboard
from app.vision.images import ImageError

log = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"
UNHEARD = "Shown, not spoken: the speaker was unavailable."


class MainWindow(QMainWindow):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.bus = session.bus
        self.setWindowTitle("Parley")
        self.setObjectName("mainWindow")
        icon = ASSETS / "icon.png"
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))
        self.resize(820, 720)
        self._look: tuple[bool, float] | None = None
        self._own_palette: QPalette | None = None  # the desktop's, while ours is dark
        self._apply_look()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme)

        self.chat = ChatView()
        self.input = QLineEdit()
        self.input.setObjectName("composer")
        self.input.setPlaceholderText("Type a message and press Enter — or hold Space to talk")
        self.input.returnPressed.connect(self.send_typed)
        self.attach_button = QPushButton("Attach…")
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setToolTip(
            "Attach images or documents (Ctrl+O; or drop them on the window, or paste)"
        )
        self.attach_button.clicked.connect(self.choose_images)
        self.attachments = AttachmentStrip(self.session.turns.detach)
        self.file_chips = FileChips(self.session.turns.detach_file)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.clicked.connect(self.send_typed)
        self.talk_button = TalkButton()
        self.keyboard = X11Keyboard(QApplication.instance())
        # PARLEY_X11_AUTOREPEAT=plain leaves the server's fake releases on (the key-state check
        # alone then tells them apart; tests cover both ways).
        plain = os.environ.get("PARLEY_X11_AUTOREPEAT") == "plain"
        if not plain and self.keyboard.detectable_autorepeat():
            log.info("X11: detectable autorepeat is on (no fake key releases)")
        self.hold = HoldToTalk(
            self,
            self.start_talking,
            self.stop_talking,
            self.keyboard,
            session.settings.max_talk_seconds,
        )
        self.global_key: GlobalTalkKey | PortalTalkKey | None = None
        self.global_key_problem = ""
        self.set_global_key(session.settings.global_talk_key)
        self.talk_button.held.connect(self.hold.button_pressed)
        self.talk_button.let_go.connect(self.hold.button_released)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop speaking and generating (Esc)")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.settings_button = QPushButton("Settings")
        self.settings_button.setObjectName("settingsButton")
        self.settings_button.clicked.connect(self.open_settings)
        self.models_button = QPushButton("Models")
        self.models_button.setObjectName("modelsButton")
        self.models_button.setToolTip("The models in use; load another .gguf model")
        self.models_button.clicked.connect(self.open_models)
        self.model_panel: ModelPanel | None = None
        self._reloads: set[asyncio.Future[bool]] = set()
        self.new_chat_button = QPushButton("New chat")
        self.new_chat_button.setObjectName("newChatButton")
        self.new_chat_button.clicked.connect(self.new_chat)
        self.meter = LevelMeter()
        self.status = StatusLine()
        self.waterfall = Waterfall()

        composer = QHBoxLayout()
        composer.addWidget(self.attach_button)
        composer.addWidget(self.input, 1)
        composer.addWidget(self.send_button)
        controls = QHBoxLayout()
        controls.addWidget(self.talk_button, 1)
        controls.addWidget(self.stop_button)
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.new_chat_button)
        toolbar.addStretch(1)
        toolbar.addWidget(self.models_button)
        toolbar.addWidget(self.settings_button)
        self.sidebar: Sidebar | None = None
        self.chats_button = QPushButton("Chats")
        self.chats_button.setObjectName("chatsButton")
        self.chats_button.setCheckable(True)
        self.chats_button.setToolTip("Show or hide your conversations (Ctrl+K searches them)")
        self._sidebar_auto = True  # shown or hidden by the window's width until the user says
        store = session.store
        if store is not None:
            self.sidebar = Sidebar(store)
            self.sidebar.open_requested.connect(self.open_chat)
            self.sidebar.deleted.connect(self._on_chat_deleted)
            self.chats_button.setChecked(True)
            self.chats_button.toggled.connect(self._toggle_sidebar)
            QShortcut(QKeySequence("Ctrl+K"), self, activated=self._search_chats)
        else:
            self.chats_button.setEnabled(False)
            self.chats_button.setToolTip("The conversation history could not be opened")
        toolbar.insertWidget(0, self.chats_button)
        QShortcut(QKeySequence("Ctrl+N"), self, activated=self.new_chat)
        QShortcut(QKeySequence("Ctrl+,"), self, activated=self.open_settings)
        QShortcut(QKeySequence("Ctrl+O"), self, activated=self.choose_images)
        QShortcut(QKeySequence("F1"), self, activated=self.show_welcome)
        self.welcome: Welcome | None = None
        self.assistant_box = QComboBox()
        self.assistant_box.setObjectName("assistantBox")
        self.assistant_box.setToolTip("Who answers: a new chat starts with the one you choose")
        self._overrides: dict[str, dict[str, Any]] = {}  # an assistant's own voice / model
        if store is not None:
            self.assistants = Assistants(store)
            self._fill_assistants()
            self.assistant_box.activated.connect(self._assistant_chosen)
            toolbar.insertWidget(2, self.assistant_box)
        column = QVBoxLayout()
        column.setContentsMargins(8, 8, 8, 4)
        column.addLayout(toolbar)
        column.addWidget(self.chat, 1)
        column.addWidget(self.attachments)
        column.addWidget(self.file_chips)
        column.addLayout(composer)
        column.addLayout(controls)
        column.addWidget(self.meter)
        column.addWidget(self.waterfall)
        column.addWidget(self.status)
        central = QWidget()
        central.setLayout(column)
        if self.sidebar is not None:
            splitter = QSplitter(Qt.Orientation.Horizontal)
            splitter.setObjectName("mainSplitter")
            splitter.addWidget(self.sidebar)
            splitter.addWidget(central)
            splitter.setStretchFactor(1, 1)
            splitter.setCollapsible(1, False)
            splitter.setSizes([240, 580])
            self.setCentralWidget(splitter)
        else:
            self.setCentralWidget(central)

        self._listening_turn = 0
        self._pending_bubbles: list[Bubble] = []
        # Reply text not yet on screen: drawn once per frame, not once per token (a reply
        # started early arrives as two dozen tokens at once, and laying the bubble out for
        # each kept the event loop from handing its first clause to the voice).
        self._unshown: dict[int, str] = {}
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.setInterval(16)
        self._show_timer.timeout.connect(self._show_deltas)
        self._cues: dict[str, tuple[np.ndarray, int]] = {}
        self._sources: dict[int, tuple[tuple[str, str], ...]] = {}  # turn: file passages given
        self._reading: dict[int, Bubble] = {}  # turn: the "Reading… n%" notice of a long prompt
        self._tool_chips: dict[int, list[str]] = {}  # turn: "4821 × 37 = 178,377", ...
        self._reasoning: dict[int, str] = {}  # turn: its hidden scratchpad
        self._level_timer = QTimer(self)
        self._level_timer.setInterval(33)
        self._level_timer.timeout.connect(self._update_level)
        self.setAcceptDrops(True)
        self._image_loads: set[asyncio.Future[None]] = set()
        self._key_filter = PushToTalkKeys(self)
        QApplication.instance().installEventFilter(self._key_filter)

        subscribe = self.bus.subscribe
        self._unsubscribe = [
            subscribe(EngineStatus, self._on_engine_status),
            subscribe(AudioLost, self._on_audio_lost),
            subscribe(RecordingStarted, self._on_recording_started),
            subscribe(UserTurn, self._on_user_turn),
            subscribe(LlmDelta, self._on_delta),
            subscribe(TurnCancelled, self._on_cancelled),
            subscribe(TurnFinished, self._on_turn_finished),
            subscribe(ErrorRaised, self._on_error),
            subscribe(Notice, self._on_notice),
            subscribe(ChatSaved, self._on_chat_saved),
            subscribe(SourcesUsed, self._on_sources),
            subscribe(FilesRestored, self._on_files_restored),
            subscribe(PromptProgress, self._on_prompt_progress),
            subscribe(ToolUsed, self._on_tool),
            subscribe(ReasoningDone, self._on_reasoning),
        ]
        self._show_audio_state()
        self.guard = ChatGuard(self)  # the chat shown is this window's to write
        self.tray = Tray(
            self,
            new_chat=self.new_chat,
            shortcut=lambda: self.global_key.shortcut if self.global_key is not None else None,
        )
        self._describe_controls()
        self._tab_order()
        self._fit_narrow(toolbar)
        self._fit_screen()
        if store is not None and store.problem:
            self.chat.add("error", store.problem)

    def _apply_look(self) -> None:
        """Light or dark as the desktop is, sized from its font; again whenever either
        changes (the scheme hint, the palette or the font)."""
        dark = is_dark()
        app = QApplication.instance()
        if dark and not is_dark(QGuiApplication.palette()):
            # The scheme says dark but the platform gave a light palette (xcb without a
            # desktop theme): dialogs and lists would stay white.
            self._own_palette = QGuiApplication.palette()
            app.setPalette(dark_palette())
        elif not dark and self._own_palette is not None:
            app.setPalette(self._own_palette)
            self._own_palette = None
        look = (dark, QGuiApplication.font().pointSizeF())
        if look != self._look:
            self._look = look
            self.setStyleSheet(stylesheet(dark))

    def _on_scheme(self, _scheme: Qt.ColorScheme) -> None:
        self._apply_look()

    def _describe_controls(self) -> None:
        """What a screen reader says of each control: its name and what it does."""
        controls = {
            self.input: ("Message", "Type a message and press Enter; or hold Space to talk"),
            self.new_chat_button: ("New chat", "Start a new conversation (Ctrl+N)"),
            self.settings_button: ("Settings", "Devices, voice, instructions and models (Ctrl+,)"),
            self.send_button: ("Send", "Send the typed message (Enter)"),
            self.talk_button: ("Hold to talk", "Hold it, or Space, while you speak; let go"),
        }
        if self.sidebar is not None:
            search = ("Search chats", "Find a conversation by its words (Ctrl+K)")
            controls[self.sidebar.search] = search
        for widget, (name, description) in controls.items():
            widget.setAccessibleName(name)
            widget.setAccessibleDescription(description)
        for widget in (self.chats_button, self.models_button, self.attach_button,
                       self.stop_button, self.assistant_box):  # fmt: skip
            widget.setAccessibleDescription(widget.toolTip())

    def set_global_key(self, shortcut: str) -> bool:
        """Hold `shortcut` in any application to talk ("" turns it off); whether it took (on
        Wayland the portal answers later: a refusal then arrives as a notice). A shortcut that
        cannot be had is said in the welcome, and Parley works without it."""
        if self.global_key is not None:
            self.global_key.release_grab()
            self.global_key = None
        self.global_key_problem = ""
        if not shortcut:
            return True
        app = QApplication.instance()
        wayland = app.platformName().startswith("wayland")
        if wayland or os.environ.get("PARLEY_SHORTCUTS") == "portal":
            portal = PortalTalkKey(shortcut)
            portal.pressed.connect(self.hold.global_pressed)
            portal.released.connect(self.hold.global_released)
            portal.failed.connect(partial(self._portal_failed, portal))
            portal.start()
            self.global_key = portal
            return True
        key = GlobalTalkKey(app, shortcut, self.hold.global_pressed, self.hold.global_released)
        try:
            key.grab()
        except ShortcutError as exc:
            self._no_global_key(shortcut, str(exc))
            return False
        self.global_key = key
        return True

    def _portal_failed(self, portal: PortalTalkKey, reason: str) -> None:
        if self.global_key is not portal:
            return  # an older one, replaced meanwhile
        self.global_key = None
        self._no_global_key(portal.shortcut, reason)

    def _no_global_key(self, shortcut: str, reason: str) -> None:
        self.global_key_problem = f"Hold {shortcut} in any app to talk: not available ({reason})."
        log.info("%s", self.global_key_problem)

    def _tab_order(self) -> None:
        """Tab goes as the window is read: the message and what sends it, then the toolbar,
        then the conversation list (the talk button takes no focus: Space talks anywhere)."""
        chain: list[QWidget] = [
            self.input, self.send_button, self.attach_button, self.stop_button,
            self.chats_button, self.new_chat_button,
        ]  # fmt: skip
        if self.session.store is not None:
            chain.append(self.assistant_box)
        chain += [self.models_button, self.settings_button]
        if self.sidebar is not None:
            chain += [self.sidebar.search, self.sidebar.list]
        chain.append(self.chat)
        for before, after in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(before, after)
        # The first focus is the conversation, not a text box: Space held at start-up talks.
        self.chat.setFocus()

    def _fit_narrow(self, toolbar: QHBoxLayout) -> None:
        """Usable from 400 px wide (a phone-sized side panel, a tiled half of a small
        screen): buttons as narrow as their words, not the style's 80 px, and the conversation
        list folded away below 640 px (resizeEvent)."""
        in_toolbar = [toolbar.itemAt(i).widget() for i in range(toolbar.count())]
        for button in [*in_toolbar, self.attach_button, self.send_button]:
            if isinstance(button, QPushButton):
                words = button.fontMetrics().horizontalAdvance(button.text())
                button.setMinimumWidth(words + 18)
        self.assistant_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.assistant_box.setMinimumContentsLength(7)
        self.setMinimumSize(400, 480)

    def _fit_screen(self) -> None:
        """No bigger than the screen: at 820 px on an 800 px screen, Settings, Send and Stop
        were cut off at the right edge."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        self.resize(min(self.width(), area.width()), min(self.height(), area.height()))

    # --- user actions ------------------------------------------------------------------------

    def send_typed(self) -> None:
        text = visible(self.input.text())  # zero-width spaces alone are no question
        images = list(self.session.turns.attachments)
        if not text and images:
            text = "What is in this image?" if len(images) == 1 else "What is in these images?"
        if not text or self.guard.refuses():
            return
        self.input.clear()
        bubble = self.chat.add("user", text)
        if images:
            bubble.add_images([img.thumbnail(THUMB * 2) for img in images])
        # Pending until its UserTurn claims it (at once, or when a queued question's turn
        # comes).
        self._pending_bubbles.append(bubble)
        started = self.session.turns.ask(text)
        self.attachments.clear()  # the turn (or the queue) has taken them
        if not started:
            bubble.set_dimmed(True)  # queued: shown at once, answered after the current reply
        self._update_buttons()

    def start_talking(self) -> bool:
        """Push-to-talk went down (HoldToTalk calls this once per hold); whether it listens."""
        if self._listening_turn:
            return True
        if self.guard.refuses():
            return False
        recorder = self.session.recorder
        if recorder is None:
            self.chat.add(
                "error",
                "No microphone is available"
                + (f": {self.session.audio_error}" if self.session.audio_error else ".")
                + " You can type instead.",
            )
            return False
        turn_id = self.session.turns.begin_listening(recorder)
        self.attachments.clear()  # the spoken turn has taken them
        try:
            recorder.start()
        except AudioUnavailable as exc:
            self.session.turns.interrupt("no microphone")
            self.session.microphone_failed(str(exc))
            self.chat.add("error", f"{exc} You can type instead.")
            return False
        self._listening_turn = turn_id
        self.tray.say("Listening… let go to send")
        self._cue("listen-start")
        self.talk_button.set_listening(True)
        self._level_timer.start()
        self._update_buttons()
        return True

    def stop_talking(self, reason: str = "released") -> None:
        """Push-to-talk came up (or the hold ended: focus lost, too long): send the audio."""
        turn_id, self._listening_turn = self._listening_turn, 0
        if not turn_id or self.session.recorder is None:
            return
        audio = self.session.recorder.stop()
        self._level_timer.stop()
        self.meter.set_level(0.0)
        self.talk_button.set_listening(False)
        self.tray.say("Parley")
        self._cue("listen-stop")
        if reason == "too long":
            seconds = self.session.settings.max_talk_seconds
            self.chat.add("notice", f"Stopped listening after {seconds:g} seconds.")
        elif reason == "focus lost":
            self.chat.add("notice", "Stopped listening: the window lost focus.")
        # "microphone lost": AudioLost has said why; what was heard until then is answered
        self.session.turns.submit_audio(turn_id, audio)

    def stop(self) -> None:
        self.hold.reset()
        if self._listening_turn and self.session.recorder is not None:
            self._listening_turn = 0
            self.session.recorder.stop()
            self._level_timer.stop()
            self.meter.set_level(0.0)
            self.talk_button.set_listening(False)
        self.session.turns.interrupt("stopped", clear_pending=True)
        for bubble in self._pending_bubbles:
            if bubble.property("dimmed"):
                bubble.append("  (not sent: stopped)")
        self._pending_bubbles = [b for b in self._pending_bubbles if not b.property("dimmed")]
        self._update_buttons()

    # --- images ------------------------------------------------------------------------------

    def choose_images(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach", "", FILE_FILTER)
        for path in paths:
            self.add_source(Path(path))

    def add_source(self, path: Path) -> None:
        """A document (text, PDF, ...) for the chat, or an image for the next question."""
        if kind_of(path) is not None:
            self.add_file(path)
        else:
            self.add_image(path, path.name)

    def add_file(self, path: Path) -> None:
        """Read and index the document on a worker thread; attach it or say why not."""
        if self.guard.refuses():  # kept with the chat: written to it
            return
        future = asyncio.ensure_future(self._load_file(path))
        self._image_loads.add(future)
        future.add_done_callback(self._image_loads.discard)

    async def _load_file(self, path: Path) -> None:
        from app.pipeline.file_reader import read_attached

        reading = self.chat.add("notice", f"Reading {path.name}…")
        try:
            file = await self.session.engines.worker("vision").run(read_attached, path)
        except FileError as exc:
            self.chat.remove(reading)
            self.chat.add("error", str(exc))
            return
        self.chat.remove(reading)
        self.session.turns.attach_file(file)
        self._show_file(file)
        for notice in file.doc.notices:
            self.chat.add("notice", notice)

    def _show_file(self, file: AttachedFile) -> None:
        self.file_chips.add(
            file.name, f"{len(file.chunks)} passages, {file.doc.chars:,} characters"
        )

    def _on_files_restored(self, ev: FilesRestored) -> None:
        for file in ev.files:
            self._show_file(file)

    def add_image(self, source: Path | bytes, name: str) -> None:
        """Decode and check the image on a worker thread; attach it or say why not."""
        future = asyncio.ensure_future(self._load_image(source, name))
        self._image_loads.add(future)
        future.add_done_callback(self._image_loads.discard)

    async def _load_image(self, source: Path | bytes, name: str) -> None:
        # A plain worker thread, not qasync's default executor (its QThreads abort the process
        # if still alive at exit).
        worker = self.session.engines.worker("vision")
        try:
            image = await worker.run(partial(load_attachment, source, name))
        except ImageError as exc:
            self.chat.add("error", str(exc))
            return
        self.session.turns.attach(image)
        self.attachments.add(image)

    def attach_from_mime(self, mime: QMimeData) -> bool:
        """Images are attached; .gguf model files go to the model panel to be loaded."""
        sources = sources_from_mime(mime)
        models = [s for s, _ in sources if isinstance(s, Path) and is_model_file(s)]
        for source, name in sources:
            if isinstance(source, Path) and kind_of(source) is not None:
                self.add_file(source)
            elif not (isinstance(source, Path) and is_model_file(source)):
                self.add_image(source, name)
        if models:
            self.open_models().load_files(models)
        return bool(sources)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        mime = event.mimeData()
        if mime.hasImage() or any(u.isLocalFile() for u in mime.urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        if self.attach_from_mime(event.mimeData()):
            event.acceptProposedAction()

    def new_chat(self) -> None:
        self.stop()
        self.session.turns.reset()
        self.chat.clear()
        self.file_chips.clear()
        self._pending_bubbles.clear()
        self.guard.show(None)
        if self.sidebar is not None:
            self.sidebar.set_current(None)

    def open_chat(self, chat_id: int) -> bool:
        """Show a saved chat and go on with it: its bubbles, its images, its context."""
        store = self.session.store
        if store is None or store.chat(chat_id) is None:
            return False
        self.stop()
        messages = self.session.turns.open_chat(chat_id)
        self.chat.clear()
        self.file_chips.clear()  # the chat's own files come back with FilesRestored
        self._pending_bubbles.clear()
        for m in messages:
            text = m.text + ("\n\n*— interrupted*" if m.interrupted else "")
            bubble = self.chat.add(m.role, text)
            if m.meta.get("unheard"):
                bubble.add_note(UNHEARD).setObjectName("unheard")
            if m.role == "assistant" and m.meta.get("reasoning"):
                bubble.add_reasoning(m.meta["reasoning"])
            if m.role == "assistant":
                rated = store.rating(m.id)
                bubble.enable_feedback(m.id, rated[0] if rated else 0, self._rate, self._correct)
            thumbs = [store.image_bytes(img) for img in m.images]
            if any(thumbs):
                bubble.add_images([self._thumbnail(t) for t in thumbs if t])
        if self.sidebar is not None:
            self.sidebar.set_current(chat_id)
        self.guard.show(chat_id)
        self._apply_engines(self.session.turns.assistant)
        self._fill_assistants()
        return True

    @staticmethod
    def _thumbnail(data: bytes) -> bytes:
        """A stored image fitted into the bubble's thumbnail box (PNG bytes)."""
        side = THUMB * 2
        small = pixmap_from_png(data).scaled(
            side,
            side,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        return qimage_to_png(small.toImage())

    # --- assistants and feedback ------------------------------------------------------------

    _EDIT = "Edit assistants…"

    def _fill_assistants(self) -> None:
        self.assistant_box.blockSignals(True)
        self.assistant_box.clear()
        try:
            self.assistants.builtin(self.session.settings.system_prompt)
            names = [a.name for a in self.assistants.list()]
        except (AssistantError, OSError) as exc:
            log.warning("assistants: %s", exc)
            names = ["Parley"]
        self.assistant_box.addItems(names)
        self.assistant_box.insertSeparator(len(names))
        self.assistant_box.addItem(self._EDIT)
        current = self.session.turns.assistant
        name = current.name if current is not None and not current.builtin else names[0]
        self.assistant_box.setCurrentIndex(max(0, self.assistant_box.findText(name)))
        self.assistant_box.blockSignals(False)

    def _assistant_chosen(self, index: int) -> None:
        text = self.assistant_box.itemText(index)
        if text == self._EDIT:
            self.edit_assistants()
            return
        self.choose_assistant(text)

    def choose_assistant(self, name: str) -> Assistant | None:
        """A new chat, answered by `name` (with its own voice and model, where they exist)."""
        try:
            chosen = self.assistants.get(name)
        except AssistantError as exc:
            self.chat.add("error", str(exc))
            return None
        wanted = None if chosen.builtin else chosen
        if self.session.turns.chat.chat_id is not None or self.chat.bubbles:
            self.new_chat()
        self.session.turns.use_assistant(wanted)
        self._apply_engines(wanted)
        self._fill_assistants()
        return chosen

    def _apply_engines(self, assistant: Assistant | None) -> None:
        """Load the assistant's own voice and model, or go back to the user's."""
        choice = engine_choice(assistant) if assistant is not None else EngineChoice()
        for notice in choice.notices:
            self.chat.add("notice", notice)
        for name, changes in (("tts", choice.tts), ("llm", choice.llm)):
            if changes == self._overrides.get(name, {}):
                continue
            self._overrides[name] = changes
            future = self.session.engines.reload(name, persist=False, **changes)  # type: ignore[arg-type]
            future.add_done_callback(lambda f: f.exception())  # a failure is said by its status

    def edit_assistants(self) -> None:
        from app.pipeline.file_reader import read_attached

        worker = self.session.engines.worker("vision")
        dialog = AssistantDialog(self.assistants, self, lambda p: worker.submit(read_attached, p))
        dialog.exec()
        # Parley's instructions are the custom instructions in Settings.
        parley = self.assistants.list()[0]
        settings = self.session.settings
        if parley.builtin and parley.instructions != settings.system_prompt:
            settings.system_prompt = parley.instructions
            if self.session.turns.assistant is None:
                self.session.turns.history.system_prompt = parley.instructions
            try:
                settings.save()
            except OSError as exc:
                self.chat.add("error", f"Could not save the settings: {exc.strerror or exc}.")
        self._fill_assistants()

    def _rate(self, bubble: Bubble, rating: int) -> None:
        store = self.session.store
        if store is None or not bubble.message_id:
            return
        current = store.rating(bubble.message_id)
        if current is not None and current[0] == rating:
            rating = 0  # pressed again: no rating
        try:
            store.rate(bubble.message_id, rating)
        except KeyError:  # its chat was deleted meanwhile
            self.chat.add("error", "Could not save your rating: that reply is no longer saved.")
            return
        except sqlite3.Error as exc:
            self.chat.add("error", f"Could not save your rating ({exc}): {storage_advice(exc)}.")
            return
        bubble.show_rating(rating)

    def _correct(self, bubble: Bubble) -> None:
        store = self.session.store
        if store is None or not bubble.message_id:
            return
        current = store.rating(bubble.message_id)
        text, ok = QInputDialog.getMultiLineText(
            self,
            "Correct the reply",
            "What should Parley have said? (kept with your ratings, for fine-tuning)",
            (current[1] if current and current[1] else "") or bubble.text,
        )
        if not ok or not text.strip():
            return
        try:
            store.rate(bubble.message_id, -1, text)
        except KeyError:  # its chat was deleted meanwhile
            self.chat.add("error", "Could not save your correction: that reply is no longer saved.")
            return
        except sqlite3.Error as exc:
            self.chat.add(
                "error", f"Could not save your correction ({exc}): {storage_advice(exc)}."
            )
            return
        bubble.show_rating(-1)

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

    def _on_chat_deleted(self, chat_id: int) -> None:
        if self.session.turns.chat.chat_id == chat_id:
            self.new_chat()

    def _search_chats(self) -> None:
        if self.sidebar is not None:
            self._sidebar_auto = False
            self.chats_button.setChecked(True)
            self.sidebar.focus_search()

    def _toggle_sidebar(self, shown: bool) -> None:
        if self.sidebar is not None:
            self._sidebar_auto = False
            self.sidebar.setVisible(shown)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        # Narrow, the chat gets the whole width; the Chats button still opens the list.
        if self.sidebar is not None and self._sidebar_auto:
            wide = event.size().width() >= 640
            self.sidebar.setVisible(wide)
            self.chats_button.blockSignals(True)
            self.chats_button.setChecked(wide)
            self.chats_button.blockSignals(False)
        super().resizeEvent(event)

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.session.settings, self.session.backend, self)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        self.apply_settings(dialog)

    def show_welcome(self) -> Welcome:
        """The first-run welcome (F1 shows it again); not modal: the models load meanwhile."""
        if self.welcome is None:
            anywhere = self.global_key_problem or (
                f"In any application, hold {self.global_key.shortcut} to talk to Parley."
                if self.global_key is not None
                else ""
            )
            self.welcome = Welcome(
                self.session, self._download_in_panel, self, talk_anywhere=anywhere
            )
        self.welcome.show()
        self.welcome.raise_()
        self.welcome.activateWindow()
        return self.welcome

    def _download_in_panel(self, entry: CatalogEntry, catalog: Catalog) -> ModelPanel:
        panel = self.open_models()
        if panel.catalog is not catalog:
            panel.set_catalog(catalog)
        panel.select_entry(entry.id)
        if entry_status(entry, models_dir()).state != "installed":
            panel.download_selected()
        return panel

    def open_models(self) -> ModelPanel:
        if self.model_panel is None:
            self.model_panel = ModelPanel(self.session, self)
        self.model_panel.show()
        self.model_panel.raise_()
        self.model_panel.activateWindow()
        return self.model_panel

    def reload_engine(self, name: str, changes: dict[str, Any]) -> asyncio.Future[bool]:
        """Switch an engine (another speech model, language or voice) on its worker; the
        settings are saved once it works. A failure is reported by its EngineStatus."""

        async def reload() -> bool:
            try:
                await asyncio.wrap_future(self.session.engines.reload(name, **changes))  # type: ignore[arg-type]
            except ModelError:
                return False  # said in the conversation by the engine's error status
            try:
                self.session.settings.save()
            except OSError as exc:
                self.chat.add("error", f"Could not save the settings: {exc.strerror or exc}.")
            return True

        future = asyncio.ensure_future(reload())
        self._reloads.add(future)
        future.add_done_callback(self._reloads.discard)
        return future

    def apply_settings(self, dialog: SettingsDialog) -> list[asyncio.Future[bool]]:
        """Apply the dialog's choices; the futures of the engines being switched."""
        reloads = [
            self.reload_engine(name, changes) for name, changes in dialog.engine_changes().items()
        ]
        shortcut = self.session.settings.global_talk_key
        devices_changed = dialog.apply()
        wanted = self.session.settings.global_talk_key
        if wanted != shortcut and not self.set_global_key(wanted):
            self.chat.add("error", self.global_key_problem)
        chosen = self.session.turns.assistant
        if chosen is None or chosen.builtin:  # another assistant keeps its own instructions
            self.session.turns.history.system_prompt = self.session.settings.system_prompt
        try:
            self.session.settings.save()
        except OSError as exc:
            self.chat.add("error", f"Could not save the settings: {exc.strerror or exc}.")
        if devices_changed:
            self.session.reopen_audio()
            self._show_audio_state()
        return reloads

    # --- bus events --------------------------------------------------------------------------

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

    # --- helpers -----------------------------------------------------------------------------

    def _cue(self, name: str) -> None:
        if not self.session.settings.sound_cues or self.session.player is None:
            return
        sound = self._cues.get(name)
        if sound is None:
            try:
                sound = self._cues[name] = read_audio(ASSETS / "sounds" / f"{name}.wav")
            except AudioFileError:
                log.warning("sound %s is missing", name)
                return
        self.session.player.play_cue(*sound)

    def _update_level(self) -> None:
        if self.session.recorder is not None:
            self.meter.set_level(self.session.recorder.level)

    def _update_buttons(self) -> None:
        self.stop_button.setEnabled(bool(self._listening_turn) or self.session.turns.busy)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self.hold.focus_lost()  # the key's release would go to another window
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            QTimer.singleShot(0, self._apply_look)  # not inside the change being delivered
        super().changeEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        if event.key() == Qt.Key.Key_Escape:
            self.stop()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        QApplication.instance().removeEventFilter(self._key_filter)
        if self.global_key is not None:
            self.global_key.release_grab()
        self.tray.close()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._level_timer.stop()
        self.guard.close()
        self.session.close()
        if self.session.store is not None:  # opened with the window (app.build_window)
            self.session.store.close()
        super().closeEvent(event)


class PushToTalkKeys(QObject):
    """Hold Space to talk, anywhere in the window except while typing in the text box
    (HoldToTalk tells a real release from autorepeat)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        key_event: QKeyEvent = event  # type: ignore[assignment]
        if (
            kind == QEvent.Type.KeyPress
            and key_event.matches(QKeySequence.StandardKey.Paste)
            and self.window.isActiveWindow()
        ):
            # Images (data or copied files) are attached; plain text pastes as usual.
            return self.window.attach_from_mime(QApplication.clipboard().mimeData())
        if key_event.key() != Qt.Key.Key_Space or not self.window.isActiveWindow():
            return False
        hold = self.window.hold
        if kind == QEvent.Type.KeyRelease:
            if hold.held_by != "key":
                return False  # e.g. the end of a space typed in the text box
            hold.key_released(key_event)  # wherever the focus has moved meanwhile
            return True
        if isinstance(QApplication.focusWidget(), QLineEdit):
            return False
        hold.key_pressed(key_event)
        return True
