"""Downloading a catalog model from the window: a row with a progress bar, speed, time left
and a Cancel button.

The work runs in `app.models.install.InstallJob` on a worker thread; its callbacks arrive on
that thread and are re-emitted here as Qt signals of a QObject that lives on the GUI thread,
so Qt queues them to the GUI thread (widgets must never be touched from a worker).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.models.catalog import CatalogEntry
from app.models.download import DownloadProgress
from app.models.errors import ModelError
from app.models.install import InstallJob, InstallResult


def _mb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


class _Relay(QObject):
    """Signals emitted from the worker; connected to GUI-thread slots, so delivery is queued."""

    progress = Signal(object)  # DownloadProgress
    finished = Signal(object, object)  # InstallResult | None, ModelError | None


class DownloadRow(QWidget):
    """One model being downloaded. `done(entry_id, ok)` fires when it ends either way;
    `result` then holds the InstallResult (its `entry.settings()` selects the model)."""

    done = Signal(str, bool)

    def __init__(
        self,
        entry: CatalogEntry,
        parent: QWidget | None = None,
        *,
        root: Path | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.entry = entry
        self.root = root
        self.endpoint = endpoint
        self.result: InstallResult | None = None
        self.error: ModelError | None = None
        self.job: InstallJob | None = None

        self.title = QLabel(entry.name)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.detail = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(row)
        layout.addWidget(self.detail)

        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        self._relay.finished.connect(self._on_finished)

    def start(self) -> None:
        self.cancel_button.setEnabled(True)
        self.detail.setText("Connecting…")
        relay = self._relay

        def progress(p: DownloadProgress) -> None:
            try:
                relay.progress.emit(p)
            except RuntimeError:  # the row was closed: nobody is watching, stop downloading
                job.cancel()

        def finished(result: InstallResult | None, error: ModelError | None) -> None:
            # RuntimeError: the row was closed; the files (or the .part) are on disk anyway.
            with contextlib.suppress(RuntimeError):
                relay.finished.emit(result, error)

        job = InstallJob(self.entry, progress, finished, root=self.root, endpoint=self.endpoint)
        self.job = job
        job.start()

    @Slot()
    def cancel(self) -> None:
        if self.job is not None:
            self.detail.setText("Stopping…")
            self.job.cancel()

    @Slot(object)
    def _on_progress(self, p: DownloadProgress) -> None:
        if p.total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * p.done / p.total))
        else:
            self.bar.setRange(0, 0)  # size unknown: a busy bar
        what = p.label.removeprefix(self.entry.id).strip() or self.entry.id
        if p.phase == "downloading" and p.rate > 0:
            text = f"{what}: {_mb(p.done)}"
            if p.total:
                left = max(0.0, (p.total - p.done) / p.rate)
                text += f" of {_mb(p.total)} · {_mb(p.rate)}/s · {left:.0f} s left"
        elif p.phase in ("checking", "assembling"):
            text = f"{what}: {p.phase}…"
        else:
            text = f"{what}: {p.phase}"
        self.detail.setText(text)

    @Slot(object, object)
    def _on_finished(self, result: InstallResult | None, error: ModelError | None) -> None:
        self.result, self.error = result, error
        self.cancel_button.setEnabled(False)
        self.bar.setRange(0, 1000)
        if result is not None:
            self.bar.setValue(1000)
            self.detail.setText(f"Ready ({result.note}).")
        else:
            self.detail.setText(str(error))
        self.done.emit(self.entry.id, result is not None)
