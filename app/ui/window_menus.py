"""The window's menus part: Settings (and switching engines as they say), the welcome, the
Models panel, the keyboard shortcuts that open them, the tab order and what a screen reader
says of each control.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton, QWidget

from app.models.catalog import Catalog, CatalogEntry, models_dir
from app.models.errors import ModelError
from app.models.install import entry_status
from app.pipeline.hands_free_switch import HandsFreeSwitch
from app.session import Session
from app.ui.chat_view import ChatView
from app.ui.global_talk import GlobalTalkKey
from app.ui.model_panel import ModelPanel
from app.ui.portal_talk import PortalTalkKey
from app.ui.settings_dialog import SettingsDialog
from app.ui.sidebar import Sidebar
from app.ui.welcome import Welcome
from app.ui.widgets import TalkButton


class MenusPart:
    """Mixed into MainWindow (a QMainWindow): `_build_menus()` makes Settings and Models and
    their shortcuts; the rest open the panels and apply what they change."""

    # Made by the window's other parts:
    session: Session
    chat: ChatView
    input: QLineEdit
    send_button: QPushButton
    attach_button: QPushButton
    talk_button: TalkButton
    stop_button: QPushButton
    hands_free: HandsFreeSwitch
    hands_free_button: QPushButton
    mute_button: QPushButton
    new_chat_button: QPushButton
    chats_button: QPushButton
    assistant_box: QComboBox
    sidebar: Sidebar | None
    global_key: GlobalTalkKey | PortalTalkKey | None
    global_key_problem: str
    set_global_key: Callable[[str], bool]
    _show_audio_state: Callable[[], None]

    def _build_menus(self) -> None:
        self.settings_button = QPushButton("Settings")
        self.settings_button.setObjectName("settingsButton")
        self.settings_button.clicked.connect(self.open_settings)
        self.models_button = QPushButton("Models")
        self.models_button.setObjectName("modelsButton")
        self.models_button.setToolTip("The models in use; load another .gguf model")
        self.models_button.clicked.connect(self.open_models)
        self.model_panel: ModelPanel | None = None
        self._reloads: set[asyncio.Future[bool]] = set()
        QShortcut(QKeySequence("Ctrl+,"), self, activated=self.open_settings)  # type: ignore[call-overload]
        QShortcut(QKeySequence("F1"), self, activated=self.show_welcome)  # type: ignore[call-overload]
        self.welcome: Welcome | None = None

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.session.settings, self.session.backend, self)  # type: ignore[arg-type]
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
                self.session,
                self._download_in_panel,
                self,  # type: ignore[arg-type]
                talk_anywhere=anywhere,
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
            self.model_panel = ModelPanel(self.session, self)  # type: ignore[arg-type]
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
            self.hands_free.restart()  # the new microphone, and the new speaker's reference
            self._show_audio_state()
        return reloads

    # --- keyboard and screen reader ----------------------------------------------------------

    def _describe_controls(self) -> None:
        """What a screen reader says of each control: its name and what it does."""
        controls = {
            self.input: ("Message", "Type a message and press Enter; or hold Space to talk"),
            self.new_chat_button: ("New chat", "Start a new conversation (Ctrl+N)"),
            self.settings_button: ("Settings", "Devices, voice, instructions and models (Ctrl+,)"),
            self.send_button: ("Send", "Send the typed message (Enter)"),
            self.talk_button: ("Hold to talk", "Hold it, or Space, while you speak; let go"),
            self.hands_free_button: ("Hands-free", self.hands_free_button.toolTip()),
            self.mute_button: ("Mute", self.mute_button.toolTip()),
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

    def _tab_order(self) -> None:
        """Tab goes as the window is read: the message and what sends it, then the toolbar,
        then the conversation list (the talk button takes no focus: Space talks anywhere)."""
        chain: list[QWidget] = [
            self.input, self.send_button, self.attach_button, self.hands_free_button,
            self.mute_button, self.stop_button, self.chats_button, self.new_chat_button,
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
