"""The first-run welcome: what runs offline, a microphone test with the level meter, and a
better model for this computer from the catalog (downloaded in the Models panel).

Shown once, on the first start (Settings.welcomed); F1 shows it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.audio.backend import AudioUnavailable
from app.models.catalog import Catalog, CatalogEntry, load_catalog, models_dir
from app.models.defaults import builtin_llm_available
from app.models.errors import ModelError
from app.models.install import entry_status
from app.models.running import TITLES, privacy_sentence, running_models
from app.models.suggest import Machine, suggest_llm, this_machine, why
from app.ui.style import set_style_property
from app.ui.widgets import LevelMeter

if TYPE_CHECKING:
    from app.session import Session

log = logging.getLogger(__name__)

TEST_SECONDS = 5.0
HEARD_DBFS = -45.0  # louder than a quiet room through a laptop microphone


def _label(text: str, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    return label


@dataclass(frozen=True)
class SuggestFrom:
    """What the suggested model is chosen from. None: the shipped catalog, this computer, and
    whether the built-in model is here (tests pin them)."""

    catalog: Catalog | None = None
    machine: Machine | None = None
    have_builtin: bool | None = None


_LOOK_IT_UP = SuggestFrom()


class Welcome(QDialog):
    """`open_models(entry)` shows the Models panel downloading `entry` (the window's)."""

    def __init__(
        self,
        session: Session,
        open_models: Callable[[CatalogEntry, Catalog], object],
        parent: QWidget | None = None,
        *,
        talk_anywhere: str = "",
        suggest_from: SuggestFrom = _LOOK_IT_UP,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Parley")
        self.setObjectName("welcome")
        self.session = session
        self._open_models = open_models
        self.peak_dbfs = -120.0
        self._test_started = 0.0
        self.test_seconds = TEST_SECONDS

        intro = _label(
            "Hold Space, or the big button, while you speak, then let go: Parley answers out "
            "loud and on screen. You can also type, and drop images or documents on the window.",
            "welcomeIntro",
        )
        heading = QLabel("Welcome to Parley")
        heading.setObjectName("welcomeHeading")

        have_builtin = suggest_from.have_builtin
        if have_builtin is None:
            have_builtin = bool(session.settings.llm_model) or builtin_llm_available()
        models = running_models(session.settings, have_builtin)
        offline = QGroupBox("What runs where")
        offline_layout = QVBoxLayout(offline)
        for m in models:
            offline_layout.addWidget(_label(f"{TITLES[m.role]}: {m.name}, {m.where}."))
        self.privacy = _label(privacy_sentence(models), "privacy")
        offline_layout.addWidget(self.privacy)

        mic_box = QGroupBox("Your microphone")
        mic_layout = QVBoxLayout(mic_box)
        self.mic_device = _label(self._device_text(), "micDevice")
        self.meter = LevelMeter()
        self.meter.setAccessibleName("Microphone level")
        self.meter.setAccessibleDescription("How loud the microphone hears you during the test")
        self.test_button = QPushButton("Test microphone")
        self.test_button.setObjectName("micTestButton")
        self.test_button.setAccessibleDescription(
            f"Listen for {TEST_SECONDS:g} seconds and show the level; say something"
        )
        self.test_button.clicked.connect(self.toggle_test)
        self.test_button.setEnabled(session.recorder is not None)
        self.mic_result = _label("", "micResult")
        self.mic_result.hide()
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.meter, 1)
        mic_layout.addWidget(self.mic_device)
        mic_layout.addLayout(row)
        mic_layout.addWidget(self.mic_result)
        self.talk_anywhere = _label(talk_anywhere, "talkAnywhere")
        self.talk_anywhere.setVisible(bool(talk_anywhere))
        mic_layout.addWidget(self.talk_anywhere)
        self._timer = QTimer(self)
        self._timer.setInterval(33)
        self._timer.timeout.connect(self._poll)

        model_box = QGroupBox("A better model for this computer")
        model_layout = QVBoxLayout(model_box)
        self.catalog = suggest_from.catalog
        self.suggested: CatalogEntry | None = None
        self.model_text = _label("", "suggestion")
        self.download_button = QPushButton("Download…")
        self.download_button.setObjectName("suggestDownload")
        self.download_button.clicked.connect(self.download_suggested)
        model_layout.addWidget(self.model_text)
        model_layout.addWidget(self.download_button, 0, Qt.AlignmentFlag.AlignLeft)
        if not have_builtin:
            model_box.setTitle("A language model for this computer")
        self._suggest(suggest_from.machine or this_machine(), have_builtin)

        buttons = QDialogButtonBox()
        self.start_button = buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("welcomeStart")
        self.start_button.setAccessibleDescription("Close the welcome and start talking")
        buttons.accepted.connect(self.accept)

        layout = QVBoxLayout(self)
        for widget in (heading, intro, offline, mic_box, model_box):
            layout.addWidget(widget)
        layout.addStretch(1)  # spare height below, not between the lines
        layout.addWidget(buttons)
        self.start_button.setDefault(True)
        height = layout.totalHeightForWidth(520) if layout.hasHeightForWidth() else -1
        self.resize(520, height if height > 0 else self.sizeHint().height())

    # --- what runs offline ---------------------------------------------------------------

    def _device_text(self) -> str:
        recorder = self.session.recorder
        if recorder is None:
            problem = self.session.audio_error or "no microphone was found"
            return f"No microphone: {problem} You can still type."
        name = recorder.device.name if recorder.device is not None else "the default microphone"
        return f"Parley listens with: {name}. Change it in Settings (Ctrl+,)."

    # --- the microphone test -------------------------------------------------------------

    @property
    def testing(self) -> bool:
        return self._timer.isActive()

    def toggle_test(self) -> None:
        if self.testing:
            self.stop_test()
        else:
            self.start_test()

    def start_test(self) -> bool:
        recorder = self.session.recorder
        if recorder is None or self.testing:
            return False
        if recorder.recording:  # push-to-talk is listening in the window
            self._says("Parley is listening in the window; try again when it is done.", True)
            return False
        try:
            recorder.start()
        except AudioUnavailable as exc:
            self._says(f"{exc} You can still type.", True)
            return False
        self.peak_dbfs = -120.0
        self._test_started = time.monotonic()
        self.test_button.setText("Stop test")
        self._says(f"Say something… (listening for {self.test_seconds:g} seconds)", False)
        self._timer.start()
        return True

    def _poll(self) -> None:
        recorder = self.session.recorder
        if recorder is None:
            self.stop_test()
            return
        problem = recorder.trouble()  # it would not open, or its sound system hangs
        if problem:
            self.stop_test(problem)
            return
        level = recorder.level
        self.meter.set_level(level)
        self.peak_dbfs = max(self.peak_dbfs, level * 60 - 60)
        if time.monotonic() - self._test_started >= self.test_seconds:
            self.stop_test()

    def stop_test(self, problem: str = "") -> None:
        if not self.testing:
            return
        self._timer.stop()
        recorder = self.session.recorder
        if recorder is not None and recorder.recording:
            recorder.stop()
        self.meter.set_level(0.0)
        self.test_button.setText("Test microphone")
        if problem:
            self._says(problem, True)
        elif self.peak_dbfs >= HEARD_DBFS:
            self._says(f"Parley hears you (loudest: {self.peak_dbfs:.0f} dBFS).", False)
        else:
            self._says(
                "Nothing was heard. Check that the microphone is plugged in and not muted, or "
                "choose another one in Settings.",
                True,
            )

    def _says(self, text: str, problem: bool) -> None:
        self.mic_result.setText(text)
        self.mic_result.setVisible(bool(text))
        set_style_property(self.mic_result, "error", problem)

    # --- a better model ------------------------------------------------------------------

    def _suggest(self, machine: Machine, have_builtin: bool) -> None:
        if self.catalog is None:
            try:
                self.catalog = load_catalog()
            except ModelError as exc:
                self.model_text.setText(f"The model catalog could not be read: {exc}")
                self.download_button.hide()
                return
        entry = suggest_llm(self.catalog, machine, have_builtin)
        self.suggested = entry
        text = why(entry, machine, have_builtin)
        if entry is None:
            self.download_button.hide()
        else:
            state = entry_status(entry, models_dir()).state
            if state == "installed":
                text += " It is already downloaded: choose it in Models."
                self.download_button.setText("Open Models…")
            else:
                self.download_button.setText(f"Download {entry.name}…")
            self.download_button.setAccessibleDescription(
                "Open Models and download it; Parley keeps working meanwhile"
            )
        self.model_text.setText(text)

    def download_suggested(self) -> None:
        if self.suggested is not None and self.catalog is not None:
            self._open_models(self.suggested, self.catalog)

    # --- closing -------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        # Shown once: remembered as soon as it is on screen, even if Parley is quit meanwhile.
        self._remember()
        super().showEvent(event)

    def done(self, result: int) -> None:  # Qt API: Start, Esc and the close button end here
        self.stop_test()
        super().done(result)

    def _remember(self) -> None:
        settings = self.session.settings
        if settings.welcomed:
            return
        settings.welcomed = True
        try:
            settings.save()
        except OSError as exc:
            log.warning("could not save that the welcome was shown: %s", exc)
