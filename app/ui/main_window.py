"""The main window, built from its parts (each a mixin with a `_build_...()` step):

- app/ui/conversation.py: the bus events drawn into the chat view and the status line;
- app/ui/composer.py: the typed message, images and documents (Attach…, drop, paste);
- app/ui/talking.py: hold to talk (button, Space, a key held in any app), the meter, Stop;
- app/ui/hands_free_part.py: the hands-free switch, its mute and its state (no key held);
- app/ui/chat_list.py: the conversation list, New chat, the assistants, rating a reply;
- app/ui/window_menus.py: Settings, the welcome, Models, their shortcuts, the tab order.

What is the window's own stays here: the layout, its look (light or dark, as the desktop is),
its size, and its Qt events (Esc, focus lost, closing). Engines run on their worker threads;
the asyncio loop is qasync's, on this (the Qt) thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication, QIcon, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.bus.events import (
    AudioLost,
    ChatSaved,
    EngineStatus,
    ErrorRaised,
    FilesRestored,
    HandsFreeState,
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
from app.ui.chat_guard import ChatGuard
from app.ui.chat_list import ChatListPart
from app.ui.chat_view import ChatView
from app.ui.composer import ComposerPart
from app.ui.conversation import ConversationPart
from app.ui.hands_free_part import HandsFreePart
from app.ui.style import dark_palette, is_dark, stylesheet
from app.ui.talking import ASSETS, TalkPart
from app.ui.tray import Tray
from app.ui.widgets import StatusLine, Waterfall
from app.ui.window_menus import MenusPart


class MainWindow(
    ConversationPart, ComposerPart, TalkPart, HandsFreePart, ChatListPart, MenusPart, QMainWindow
):
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
        self.status = StatusLine()
        self.waterfall = Waterfall()
        self._build_conversation()
        self._build_composer()
        self._build_talk()
        self._build_hands_free()
        self._build_menus()
        self._build_chat_list()
        toolbar = self._lay_out()
        self._unsubscribe = self._subscribe()
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
        store = session.store
        if store is not None and store.problem:
            self.chat.add("error", store.problem)
        if session.settings.hands_free:  # `parley --hands-free`, or the setting
            QTimer.singleShot(0, lambda: self.set_hands_free(True))

    def _lay_out(self) -> QHBoxLayout:
        """The toolbar above the conversation, the composer and talk button below it, the
        conversation list beside it (where the history opened); the toolbar."""
        composer = QHBoxLayout()
        composer.addWidget(self.attach_button)
        composer.addWidget(self.input, 1)
        composer.addWidget(self.send_button)
        controls = QHBoxLayout()
        controls.addWidget(self.hands_free_button)
        controls.addWidget(self.talk_button, 1)
        controls.addWidget(self.stop_button)
        hands_free = QHBoxLayout()  # shown while hands-free is on: its state, and the mute
        hands_free.addWidget(self.hands_free_state, 1)
        hands_free.addWidget(self.mute_button)
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.chats_button)
        toolbar.addWidget(self.new_chat_button)
        if self.session.store is not None:
            toolbar.addWidget(self.assistant_box)
        toolbar.addStretch(1)
        toolbar.addWidget(self.models_button)
        toolbar.addWidget(self.settings_button)
        column = QVBoxLayout()
        column.setContentsMargins(8, 8, 8, 4)
        column.addLayout(toolbar)
        column.addWidget(self.chat, 1)
        column.addWidget(self.attachments)
        column.addWidget(self.file_chips)
        column.addLayout(composer)
        column.addLayout(hands_free)
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
        return toolbar

    def _subscribe(self) -> list[Callable[[], None]]:
        """The bus events the window shows; the calls that unsubscribe them (at close)."""
        subscribe = self.bus.subscribe
        return [
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
            subscribe(HandsFreeState, self._on_hands_free_state),
        ]

    # --- look and size -----------------------------------------------------------------------

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

    # --- Qt events ---------------------------------------------------------------------------

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
        self.hands_free.close()  # the open microphone closes before the session's devices
        self.guard.close()
        self.session.close()
        if self.session.store is not None:  # opened with the window (app.build_window)
            self.session.store.close()
        super().closeEvent(event)
