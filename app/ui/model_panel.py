"""The model panel: what is loaded (language model and image projector, speech model, voice)
with what each file is, and loading another local .gguf while Parley runs.

Choosing files (the buttons) and dropping them on the main window both end in `load_files`.
"Download a model" (`CatalogDownloads`) lists the catalog and pulls the chosen entry on a
worker thread; once it is installed, "Use this model" loads it through the same path as a
chosen file.
Headers are read on a worker thread and the model is loaded by `Engines.reload` on the LLM
worker, so the window never waits; the model in use keeps answering until the new one is
ready, and stays in use if the new one fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.bus.events import EngineStatus
from app.llm.vision import pair_files
from app.models.catalog import Catalog, CatalogEntry, models_dir
from app.models.errors import ModelError
from app.models.gguf_info import GgufInfo, describe_gguf, format_info
from app.session import Session
from app.stt.languages import language_name
from app.ui.catalog_downloads import CatalogDownloads
from app.ui.downloads import DownloadRow
from app.ui.style import set_style_property

log = logging.getLogger(__name__)

MODEL_FILTER = "GGUF models (*.gguf);;All files (*)"
_STATE_TEXT = {"loading": "loading…", "ready": "ready", "error": "error", "unavailable": "off"}


def is_model_file(path: Path) -> bool:
    """Dropped or pasted files that go to the model panel rather than to image attachments."""
    return path.suffix.lower() == ".gguf"


class ModelPanel(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Parley models")
        self.setObjectName("modelPanel")
        self.session = session
        self.engines = session.engines
        self.states: dict[str, str] = {}
        self.loading = False
        self._tasks: set[asyncio.Future[Any]] = set()
        self._infos: dict[tuple[str, int, int], GgufInfo | str] = {}
        self._unsubscribe: Callable[[], None] | None = None
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        def info_label(name: str) -> QLabel:
            label = QLabel()
            label.setObjectName(name)
            label.setFont(fixed)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            return label

        self.llm_state = QLabel()
        self.llm_info = info_label("llmInfo")
        self.mmproj_info = info_label("mmprojInfo")
        self.load_button = QPushButton("Load model…")
        self.load_button.setToolTip("Load a local .gguf language model (llama.cpp)")
        self.load_button.clicked.connect(self.choose_model)
        self.projector_button = QPushButton("Add image projector…")
        self.projector_button.setToolTip(
            "Let the loaded model see images: choose the mmproj .gguf published with it"
        )
        self.projector_button.clicked.connect(self.choose_projector)
        self.remove_projector_button = QPushButton("Remove projector")
        self.remove_projector_button.clicked.connect(self.remove_projector)
        self.default_button = QPushButton("Use built-in model")
        self.default_button.clicked.connect(self.use_builtin_model)
        buttons = QHBoxLayout()
        for b in (
            self.load_button,
            self.projector_button,
            self.remove_projector_button,
            self.default_button,
        ):
            buttons.addWidget(b)
        buttons.addStretch(1)
        llm_box = QGroupBox("Language model")
        llm_layout = QVBoxLayout(llm_box)
        llm_layout.addWidget(self.llm_state)
        llm_layout.addWidget(self.llm_info)
        llm_layout.addWidget(self.mmproj_info)
        llm_layout.addLayout(buttons)

        self.stt_info = info_label("sttInfo")
        stt_box = QGroupBox("Speech recognition")
        QVBoxLayout(stt_box).addWidget(self.stt_info)
        self.tts_info = info_label("ttsInfo")
        tts_box = QGroupBox("Voice")
        QVBoxLayout(tts_box).addWidget(self.tts_info)

        self.downloads = CatalogDownloads()
        self.downloads.use_button.clicked.connect(self.use_downloaded)

        self.message = QLabel()
        self.message.setObjectName("modelMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        hint = QLabel(
            "Drop a .gguf file (and its mmproj) on the main window to load it. Speech model, "
            "language and voice are in Settings."
        )
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addWidget(llm_box)
        layout.addWidget(stt_box)
        layout.addWidget(tts_box)
        layout.addWidget(self.downloads)
        layout.addWidget(self.message)
        layout.addWidget(hint)
        layout.addWidget(close)
        self.resize(620, 820)

    # --- what is loaded ---------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        if self._unsubscribe is None:
            self._unsubscribe = self.session.bus.subscribe(EngineStatus, self._on_status)
        self.refresh()
        self.downloads.refresh()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 (Qt API)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        super().hideEvent(event)

    def _on_status(self, ev: EngineStatus) -> None:
        if ev.engine in ("stt", "llm", "tts"):
            self.states[ev.engine] = ev.state
            if ev.state != "loading" or ev.progress is None:
                self.refresh()

    def refresh(self) -> None:
        """Show the engines in use now; what their GGUF files are comes from a worker."""
        llm = self.engines.llm
        state = self.states.get("llm", "ready" if llm is not None else "")
        name = getattr(llm, "name", "") or "none"
        self.llm_state.setText(f"{name} — {_STATE_TEXT.get(state, state or 'not loaded')}")
        set_style_property(self.llm_state, "state", state)
        model: Path | None = getattr(llm, "model_path", None)
        mmproj: Path | None = getattr(llm, "mmproj_path", None)
        if llm is None:
            self.llm_info.setText(self.engines.errors.get("llm", "No language model is loaded."))
        elif model is None:
            self.llm_info.setText(f"{name} (not a local file)")
        else:
            self.llm_info.setText(self._info_text(model))
        self.mmproj_info.setVisible(mmproj is not None)
        if mmproj is not None:
            self.mmproj_info.setText("Image projector\n" + self._info_text(mmproj))
        self.stt_info.setText(self._stt_text())
        self.tts_info.setText(self._tts_text())
        self._update_buttons()
        missing = [p for p in (model, mmproj) if p is not None and self._key(p) not in self._infos]
        if missing:
            self._spawn(self._describe(missing))

    @staticmethod
    def _key(path: Path) -> tuple[str, int, int]:
        try:
            st = path.stat()
        except OSError:
            return (str(path), -1, -1)
        return (str(path), st.st_size, st.st_mtime_ns)

    def _info_text(self, path: Path) -> str:
        info = self._infos.get(self._key(path))
        if info is None:
            return f"{path}\nreading…"
        return info if isinstance(info, str) else format_info(info)

    async def _describe(self, paths: list[Path]) -> None:
        def read() -> dict[tuple[str, int, int], GgufInfo | str]:
            out: dict[tuple[str, int, int], GgufInfo | str] = {}
            for p in paths:
                try:
                    out[self._key(p)] = describe_gguf(p)
                except ModelError as exc:
                    out[self._key(p)] = str(exc)
            return out

        self._infos.update(await self.engines.worker("vision").run(read))
        self.refresh()

    def _stt_text(self) -> str:
        stt = self.engines.stt
        if stt is None:
            return self.engines.errors.get("stt", "Not loaded yet.")
        language = getattr(stt, "language", None)
        multilingual = getattr(stt, "multilingual", None)
        rows = [f"name:      {stt.name}"]
        rows.append(
            "language:  "
            + (language_name(language) if language else "detected from the speech")
            + ("" if multilingual else "  (this model understands only English)")
        )
        folder = getattr(stt, "model_dir", None)
        if folder is not None:
            rows.append(f"folder:    {folder}")
        return "\n".join(rows)

    def _tts_text(self) -> str:
        tts = self.engines.tts
        if tts is None:
            return self.engines.errors.get("tts", "Not loaded yet.")
        rows = [f"name:        {tts.name}", f"sample rate: {tts.sample_rate} Hz"]
        path = getattr(tts, "model_path", None)
        if path is not None:
            rows.append(f"file:        {path}")
        return "\n".join(rows)

    def _update_buttons(self) -> None:
        local = getattr(self.engines.llm, "model_path", None) is not None
        has_projector = getattr(self.engines.llm, "mmproj_path", None) is not None
        self.load_button.setEnabled(not self.loading)
        self.projector_button.setEnabled(not self.loading and local)
        self.remove_projector_button.setEnabled(not self.loading and has_projector)
        builtin = not self.session.settings.llm_model and not has_projector
        self.default_button.setEnabled(not self.loading and not (builtin and local))
        self.downloads.use_button.setEnabled(not self.loading)

    def say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        set_style_property(self.message, "error", error)

    # --- loading ----------------------------------------------------------------------------

    def choose_model(self) -> None:
        # Several files may be picked: a model and its image projector together.
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Load a language model (and its image projector)", "", MODEL_FILTER
        )
        if paths:
            self.load_files([Path(p) for p in paths])

    def choose_projector(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Add the model's image projector (mmproj)", "", MODEL_FILTER
        )
        if path:
            self.load_files([Path(path)])

    def load_files(self, paths: Sequence[Path]) -> asyncio.Future[bool]:
        """Load the language model and/or image projector among `paths` (chosen or dropped):
        a projector alone goes with the loaded model. Resolves to whether it worked."""
        return self._spawn(self._load_files([Path(p) for p in paths]))

    def remove_projector(self) -> asyncio.Future[bool]:
        """The same model, text only."""
        model = getattr(self.engines.llm, "model_path", None)
        builtin = not self.session.settings.llm_model
        return self._spawn(self._reload_llm(None if builtin else model, None))

    def use_builtin_model(self) -> asyncio.Future[bool]:
        return self._spawn(self._reload_llm(None, None))

    def _spawn(self, coro: Any) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _load_files(self, paths: list[Path]) -> bool:
        if self.loading:
            self.say("A model is still loading; try again when it is ready.", error=True)
            return False
        current = getattr(self.engines.llm, "model_path", None)
        try:
            # Header reads only, but a slow disk must not stall the window either.
            model, mmproj = await self.engines.worker("vision").run(pair_files, paths, current)
        except ModelError as exc:
            self.say(str(exc), error=True)
            return False
        return await self._reload_llm(model, mmproj)

    async def _reload_llm(self, model: Path | None, mmproj: Path | None) -> bool:
        """Load `model` (None: the built-in one) with `mmproj` on the LLM worker."""
        what = (model.name if model else "the built-in model") + (
            f" with {mmproj.name}" if mmproj else ""
        )
        changes: dict[str, Any] = {
            "llm_model": str(model) if model else "",
            "llm_mmproj": str(mmproj) if mmproj else "",
        }
        if getattr(self.session.settings, "llm_url", ""):
            changes["llm_url"] = ""  # a local file replaces the remote server
        sees = " It can see images." if mmproj else ""
        return await self._reload(
            "llm",
            changes,
            loading=f"Loading {what}… The current model answers until it is ready.",
            kept="the previous model",
            loaded=f"Loaded {what}.{sees}",
        )

    async def _reload(
        self, role: str, changes: dict[str, Any], loading: str, kept: str, loaded: str
    ) -> bool:
        """Re-create the `role` engine with `changes` on its worker; the old one answers until
        the new one is ready, and stays if it fails. Saved so the next start loads the same."""
        if self.loading:
            self.say("A model is still loading; try again when it is ready.", error=True)
            return False
        self.loading = True
        self._update_buttons()
        self.say(loading)
        try:
            await asyncio.wrap_future(self.engines.reload(role, **changes))  # type: ignore[arg-type]
        except ModelError as exc:
            self.say(f"{exc}\n\nStill using {kept}.", error=True)
            return False
        finally:
            self.loading = False
            self._update_buttons()
        try:
            self.session.settings.save()
        except OSError as exc:
            log.warning("could not save the settings: %s", exc)
        self.say(loaded)
        self.refresh()
        return True

    # --- downloading from the catalog (the window's welcome asks through these) ------------

    @property
    def catalog(self) -> Catalog | None:
        return self.downloads.catalog

    def set_catalog(self, catalog: Catalog) -> None:
        """Offer `catalog`'s entries (the shipped catalog unless set)."""
        self.downloads.set_catalog(catalog)

    def select_entry(self, model_id: str) -> None:
        self.downloads.select_entry(model_id)

    def download_selected(self) -> DownloadRow | None:
        """Start downloading the chosen entry on a worker thread; returns its row."""
        return self.downloads.download_selected()

    def use_downloaded(self) -> asyncio.Future[bool] | None:
        """Load the model just installed, as choosing its files would."""
        entry = self.downloads.installed_entry
        if entry is None:
            return None
        values = entry.settings(models_dir())
        if entry.role in ("llm", "vision"):
            model = Path(values["llm_model"]) if values.get("llm_model") else None
            mmproj = Path(values["llm_mmproj"]) if values.get("llm_mmproj") else None
            return self._spawn(self._reload_llm(model, mmproj))
        return self._spawn(self._reload_other(entry, values))

    async def _reload_other(self, entry: CatalogEntry, values: dict[str, str]) -> bool:
        """Switch the speech model or the voice to `entry` on its worker."""
        return await self._reload(
            entry.role,
            dict(values),
            loading=f"Loading {entry.name}…",
            kept="the previous one",
            loaded=f"Loaded {entry.name}.",
        )
