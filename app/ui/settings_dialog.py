"""Settings: microphone and speaker, speech model and language, voice, speaking replies, sound
cues, speculative replies, custom instructions, and a remote model (an OpenAI-compatible
server).

A changed speech model, language, voice or remote model is not written into the settings here:
`engine_changes()` hands it to the window, which reloads that engine on its worker
(Engines.reload) and keeps the settings as they were if the new one fails to load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.audio.backend import AudioBackend, AudioUnavailable, DeviceInfo
from app.config import Settings
from app.models.speech import DEFAULT_STT, speech_model_multilingual, speech_models
from app.stt.languages import LANGUAGES
from app.tts.factory import installed_voices

DEFAULT = "System default"
OTHER = "\x00other"  # the "Other…" entries' data: opens a file dialog
AUTO_LANGUAGE = "Automatic (detect the language)"


def _same_stt(a: str, b: str) -> bool:
    return (a.strip() or DEFAULT_STT) == (b.strip() or DEFAULT_STT)


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
        self.speak = _check("Speak replies aloud", settings.speak_replies)
        self.global_key = QLineEdit(settings.global_talk_key)
        self.global_key.setObjectName("globalTalkKey")
        self.global_key.setPlaceholderText("e.g. Ctrl+Alt+Space; empty: only in this window")
        self.global_key.setToolTip(
            "Hold this key combination in any application to talk to Parley (X11 desktops)"
        )
        self.global_key.setAccessibleName("Talk from any app")
        self.global_key.setAccessibleDescription(self.global_key.toolTip())
        self.cues = _check("Play a chime when listening starts and stops", settings.sound_cues)
        self.hands_free = _check(
            "Open in hands-free mode (talk without holding a key)",
            settings.hands_free,
            "handsFreeAtStart",
            "The microphone stays open and Parley answers when you stop talking. The switch "
            "beside the talk button turns it on and off for now.",
        )
        self.speculate = _check(
            "Start the answer at a pause, before the key is let go",
            settings.speculative_replies,
            "speculativeReplies",
            "Quicker replies. An answer started on words you then go on from is thrown away "
            "unseen, so this costs some processor time (and battery).",
        )
        self.tools = _check(
            "Let the model use the calculator and the calendar", settings.tools, "tools"
        )
        self.think = _check(
            "Think before answering (slower; the reasoning is kept apart)",
            settings.think_first,
            "thinkFirst",
            "The model reasons in a hidden scratchpad first. Only the answer is spoken; the "
            "reasoning can be shown under the reply. Adds seconds before the first word.",
        )
        self.stt_box = self._speech_box(settings.stt_model)
        self.stt_box.setObjectName("sttModel")
        self.language_box = QComboBox()
        self.language_box.setObjectName("sttLanguage")
        self.language_box.addItem(AUTO_LANGUAGE, "")
        for code, name in sorted(LANGUAGES.items(), key=lambda item: item[1]):
            self.language_box.addItem(f"{name} ({code})", code)
        self._language = settings.stt_language  # kept while an English-only model is shown
        self.language_box.activated.connect(
            lambda i: setattr(self, "_language", self.language_box.itemData(i) or "")
        )
        self._stt_index = self.stt_box.currentIndex()
        self.stt_box.activated.connect(self._speech_chosen)
        self._update_language()
        self.voice_box = self._voice_box(settings.tts_voice)
        self.voice_box.setObjectName("voice")
        self._voice_index = self.voice_box.currentIndex()
        self.voice_box.activated.connect(self._voice_chosen)
        self.prompt = QPlainTextEdit(settings.system_prompt)
        self.prompt.setObjectName("systemPrompt")
        self.prompt.setMinimumHeight(90)
        remote = self._remote_group(settings)

        form = QFormLayout()
        form.addRow("Microphone", self.input_box)
        form.addRow("Speaker", self.output_box)
        form.addRow("Speech model", self.stt_box)
        form.addRow("Language you speak", self.language_box)
        form.addRow("Voice", self.voice_box)
        form.addRow(self.speak)
        form.addRow(self.cues)
        form.addRow(self.hands_free)
        form.addRow("Talk from any app", self.global_key)
        form.addRow(self.tools)
        form.addRow(self.think)
        form.addRow(self.speculate)
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
        layout.addWidget(remote)
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

    # --- speech model, language, voice ----------------------------------------------------

    @staticmethod
    def _speech_box(current: str) -> QComboBox:
        box = QComboBox()
        for model in speech_models():
            box.addItem(model.label + (f"  ({model.note})" if model.note else ""), model.key)
            if not model.installed:
                box.model().item(box.count() - 1).setEnabled(False)  # type: ignore[attr-defined]
        index = next((i for i in range(box.count()) if _same_stt(box.itemData(i), current)), -1)
        if index < 0:  # a model folder chosen earlier
            box.addItem(current, current)
            index = box.count() - 1
        box.addItem("Other model folder…", OTHER)
        box.setCurrentIndex(index)
        return box

    def _speech_chosen(self, index: int) -> None:
        if self.stt_box.itemData(index) == OTHER:
            folder = QFileDialog.getExistingDirectory(self, "A faster-whisper model folder")
            if not folder:
                self.stt_box.setCurrentIndex(self._stt_index)
                return
            self.stt_box.insertItem(index, folder, folder)
            self.stt_box.setCurrentIndex(index)
        self._stt_index = self.stt_box.currentIndex()
        self._update_language()

    def _update_language(self) -> None:
        """English-only models (tiny.en) take no language: the choice is shown as English."""
        multilingual = speech_model_multilingual(self.stt_box.currentData() or "")
        if multilingual is False:
            self.language_box.setCurrentIndex(self.language_box.findData("en"))
            self.language_box.setEnabled(False)
            self.language_box.setToolTip("This speech model understands only English.")
        else:
            self.language_box.setCurrentIndex(max(self.language_box.findData(self._language), 0))
            self.language_box.setEnabled(True)
            self.language_box.setToolTip(
                "Choosing the language helps: detection can mistake one for another."
            )

    @staticmethod
    def _voice_box(current: str) -> QComboBox:
        box = QComboBox()
        box.addItem("Joe, US English (built in)", "")
        for path in installed_voices():
            box.addItem(path.stem, str(path))
        if current and box.findData(current) < 0:
            box.addItem(Path(current).stem + "  (chosen earlier)", current)
        box.addItem("Other voice file…", OTHER)
        box.setCurrentIndex(max(box.findData(current), 0))
        return box

    def _voice_chosen(self, index: int) -> None:
        if self.voice_box.itemData(index) == OTHER:
            path, _ = QFileDialog.getOpenFileName(
                self, "A piper voice (.onnx, with its .onnx.json next to it)", "",
                "piper voices (*.onnx)",
            )  # fmt: skip
            if not path:
                self.voice_box.setCurrentIndex(self._voice_index)
                return
            self.voice_box.insertItem(index, Path(path).stem, path)
            self.voice_box.setCurrentIndex(index)
        self._voice_index = self.voice_box.currentIndex()

    # --- remote model ---------------------------------------------------------------------

    def _remote_group(self, settings: Settings) -> QGroupBox:
        self.llm_url = QLineEdit(settings.llm_url)
        self.llm_url.setObjectName("llmUrl")
        self.llm_url.setPlaceholderText("e.g. http://192.168.1.20:8080/v1 (empty: this computer)")
        self.llm_remote_model = QLineEdit(settings.llm_remote_model)
        self.llm_remote_model.setObjectName("llmRemoteModel")
        self.llm_remote_model.setPlaceholderText("empty: the server's first model")
        self.llm_api_key = QLineEdit(settings.llm_api_key)
        self.llm_api_key.setObjectName("llmApiKey")
        self.llm_api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.llm_api_key.setPlaceholderText("if the server needs one")
        self.llm_remote_vision = QCheckBox("The model sees images (send them as pictures)")
        self.llm_remote_vision.setObjectName("llmRemoteVision")
        self.llm_remote_vision.setChecked(settings.llm_remote_vision)
        note = QLabel(
            "For models bigger than this computer: llama.cpp's server, vLLM, Ollama, LM Studio "
            "or any OpenAI-compatible server. Your words (and images) then go to that server. "
            "The key is kept in settings.json, readable only by you."
        )
        note.setWordWrap(True)
        group = QGroupBox("Remote model")
        form = QFormLayout(group)
        form.addRow(note)
        form.addRow("Server address", self.llm_url)
        form.addRow("Model name", self.llm_remote_model)
        form.addRow("API key", self.llm_api_key)
        form.addRow(self.llm_remote_vision)
        return group

    def _remote_values(self) -> dict[str, Any]:
        return {
            "llm_url": self.llm_url.text().strip(),
            "llm_remote_model": self.llm_remote_model.text().strip(),
            "llm_api_key": self.llm_api_key.text().strip(),
            "llm_remote_vision": self.llm_remote_vision.isChecked(),
        }

    def _remote_changed(self) -> tuple[dict[str, Any], bool]:
        """The remote settings that changed, and whether the LLM must be re-created for them
        (not while no server is set before or after: then they are only remembered)."""
        s = self.settings
        changed = {k: v for k, v in self._remote_values().items() if getattr(s, k) != v}
        return changed, bool(changed) and bool(s.llm_url.strip() or self.llm_url.text().strip())

    def engine_changes(self) -> dict[str, dict[str, Any]]:
        """Per engine ("stt", "tts", "llm"), the settings to reload it with; only changed ones."""
        s = self.settings
        changes: dict[str, dict[str, Any]] = {}
        stt_model = self.stt_box.currentData() or ""
        language = (self.language_box.currentData() or "") if self.language_box.isEnabled() else ""
        if stt_model == OTHER:
            stt_model = s.stt_model
        if not _same_stt(stt_model, s.stt_model) or language != s.stt_language:
            changes["stt"] = {"stt_model": stt_model, "stt_language": language}
        voice = self.voice_box.currentData() or ""
        if voice != OTHER and voice != s.tts_voice:
            changes["tts"] = {"tts_voice": voice}
        remote, reload = self._remote_changed()
        if reload:
            changes["llm"] = remote
        return changes

    def apply(self) -> bool:
        """Copy the choices into the settings (all but the engines': see engine_changes);
        True when the audio devices changed."""
        s = self.settings
        before = (s.input_device, s.output_device)
        s.input_device = self.input_box.currentData() or ""
        s.output_device = self.output_box.currentData() or ""
        s.speak_replies = self.speak.isChecked()
        s.sound_cues = self.cues.isChecked()
        s.hands_free = self.hands_free.isChecked()
        s.global_talk_key = self.global_key.text().strip()
        s.speculative_replies = self.speculate.isChecked()
        s.tools = self.tools.isChecked()
        s.think_first = self.think.isChecked()
        s.system_prompt = self.prompt.toPlainText().strip() or s.system_prompt
        remote, reload = self._remote_changed()
        if not reload:  # no server in use: nothing to load, just remember them
            for key, value in remote.items():
                setattr(s, key, value)
        return (s.input_device, s.output_device) != before


def _check(text: str, checked: bool, name: str = "", tip: str = "") -> QCheckBox:
    box = QCheckBox(text)
    box.setChecked(checked)
    if name:
        box.setObjectName(name)
    if tip:
        box.setToolTip(tip)
    return box
