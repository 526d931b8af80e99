"""Settings: microphone and speaker, speaking replies, sound cues, custom instructions."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.audio.backend import AudioBackend, AudioUnavailable, DeviceInfo
from app.config import Settings

DEFAULT = "System default"


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, backend: AudioBackend | None, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle("Parley settings")
        self.settings = settings
        devices: list[DeviceInfo] = []
        problem = ""
        if backend is not None:
            try:
                devices = backend.devices()
            except AudioUnavailable as exc:
                problem = str(exc)
        self.input_box = self._device_box(devices, "input", settings.input_device)
        self.output_box = self._device_box(devices, "output", settings.output_device)
        self.speak = QCheckBox("Speak replies aloud")
        self.speak.setChecked(settings.speak_replies)
        self.cues = QCheckBox("Play a chime when listening starts and stops")
        self.cues.setChecked(settings.sound_cues)
        self.prompt = QPlainTextEdit(settings.system_prompt)
        self.prompt.setObjectName("systemPrompt")
        self.prompt.setMinimumHeight(90)

        form = QFormLayout()
        form.addRow("Microphone", self.input_box)
        form.addRow("Speaker", self.output_box)
        form.addRow(self.speak)
        form.addRow(self.cues)
        form.addRow("Custom instructions", self.prompt)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if problem:
            note = QLabel(problem)
            note.setWordWrap(True)
            layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(buttons)

    @staticmethod
    def _device_box(devices: list[DeviceInfo], kind: str, current: str) -> QComboBox:
        box = QComboBox()
        box.addItem(DEFAULT, "")
        for d in devices:
            channels = d.max_input_channels if kind == "input" else d.max_output_channels
            if channels > 0:
                box.addItem(f"{d.name}  ({d.default_samplerate} Hz)", d.name)
        found = box.findData(current)
        if current and found < 0:  # a device set earlier that is not plugged in now
            box.addItem(f"{current}  (not found)", current)
            found = box.count() - 1
        box.setCurrentIndex(max(found, 0))
        return box

    def apply(self) -> bool:
        """Copy the choices into the settings; True when the audio devices changed."""
        s = self.settings
        before = (s.input_device, s.output_device)
        s.input_device = self.input_box.currentData() or ""
        s.output_device = self.output_box.currentData() or ""
        s.speak_replies = self.speak.isChecked()
        s.sound_cues = self.cues.isChecked()
        s.system_prompt = self.prompt.toPlainText().strip() or s.system_prompt
        return (s.input_device, s.output_device) != before
