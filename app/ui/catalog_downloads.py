"""The model panel's "Download a model" box: the catalog (`app.models.catalog`) with each
entry's state, and the chosen entry pulled by an `InstallJob` on its worker thread, shown as a
`DownloadRow` (progress, speed, Cancel). "Use this model" is the panel's: it loads the entry
just installed (`installed_entry`) through the same path as a chosen file.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models.catalog import ROLE_TITLES, Catalog, CatalogEntry, load_catalog, models_dir
from app.models.download import DownloadCancelled
from app.models.errors import ModelError
from app.models.install import entry_status
from app.ui.downloads import DownloadRow
from app.ui.style import set_style_property


class CatalogDownloads(QGroupBox):
    """The catalog list, its Download button, the running download and what became of it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Download a model", parent)
        self.catalog: Catalog | None = None
        self.download_row: DownloadRow | None = None
        self.installed_entry: CatalogEntry | None = None
        self.catalog_list = QListWidget()
        self.catalog_list.setObjectName("catalogList")
        self.catalog_list.currentRowChanged.connect(lambda _row: self._update_buttons())
        self.download_button = QPushButton("Download")
        self.download_button.setToolTip("Download the chosen model into Parley's data folder")
        self.download_button.clicked.connect(self.download_selected)
        self.use_button = QPushButton("Use this model")  # the panel connects and enables it
        self.use_button.hide()
        self.download_status = QLabel()
        self.download_status.setObjectName("downloadStatus")
        self.download_status.setWordWrap(True)
        self.download_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.download_status.hide()
        self._download_area = QVBoxLayout()
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.use_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.catalog_list, 1)
        layout.addLayout(buttons)
        layout.addLayout(self._download_area)
        layout.addWidget(self.download_status)

    def set_catalog(self, catalog: Catalog) -> None:
        """Offer `catalog`'s entries (the shipped catalog unless set)."""
        self.catalog = catalog
        self.refresh()

    def refresh(self) -> None:
        """List the catalog with each entry's state (sizes and stamps only: no hashing)."""
        if self.catalog is None:
            try:
                self.catalog = load_catalog()
            except ModelError as exc:
                self._says(str(exc), error=True)
                self.download_button.setEnabled(False)
                return
        root = models_dir()
        current = self.selected_id()
        self.catalog_list.clear()
        for entry in self.catalog:
            try:
                state = entry_status(entry, root).state.replace("-", " ")
            except OSError as exc:
                state = f"unknown ({exc.strerror or exc})"
            size = entry.approx_size_bytes
            text = (
                f"{entry.name}\n    {ROLE_TITLES.get(entry.role, entry.role)} · "
                f"{size / 1e6:,.0f} MB · RAM ~{entry.memory_mb:,} MB · {entry.licence} · {state}"
            )
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, entry.id)
            item.setToolTip(entry.checked)
            self.catalog_list.addItem(item)
            if entry.id == current:
                self.catalog_list.setCurrentItem(item)
        self._update_buttons()

    def selected_id(self) -> str | None:
        item = self.catalog_list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def select_entry(self, model_id: str) -> None:
        for i in range(self.catalog_list.count()):
            if self.catalog_list.item(i).data(Qt.ItemDataRole.UserRole) == model_id:
                self.catalog_list.setCurrentRow(i)
                return
        raise KeyError(model_id)

    def _downloading(self) -> bool:
        row = self.download_row
        return row is not None and row.job is not None and row.result is None and row.error is None

    def _update_buttons(self) -> None:
        self.download_button.setEnabled(
            self.catalog is not None and self.selected_id() is not None and not self._downloading()
        )

    def _says(self, text: str, error: bool = False) -> None:
        self.download_status.setText(text)
        self.download_status.setVisible(bool(text))
        set_style_property(self.download_status, "error", error)

    def download_selected(self) -> DownloadRow | None:
        """Start downloading the chosen entry on a worker thread; returns its row."""
        model_id = self.selected_id()
        if self.catalog is None or model_id is None or self._downloading():
            return None
        entry = self.catalog.get(model_id)
        if self.download_row is not None:
            self._download_area.removeWidget(self.download_row)
            self.download_row.deleteLater()
        self.installed_entry = None
        self.use_button.hide()
        row = DownloadRow(entry, self, root=models_dir())
        row.setObjectName("downloadRow")
        row.done.connect(self._done)
        self.download_row = row
        self._download_area.addWidget(row)
        row.show()
        self._says(f"Downloading {entry.name}…")
        row.start()  # the job runs on its own thread; progress arrives as queued signals
        self._update_buttons()
        return row

    def _done(self, model_id: str, ok: bool) -> None:
        row = self.download_row
        if row is None or row.entry.id != model_id:
            return
        entry = row.entry
        if ok:
            self.installed_entry = entry
            self._says(f"Installed: {entry.name}.")
            self.use_button.setVisible(entry.role in ("llm", "vision", "stt", "tts"))
        elif isinstance(row.error, DownloadCancelled):
            self._says(
                f"Download of {entry.name} stopped. Download it again to resume where it stopped.",
                error=True,
            )
        else:
            self._says(f"Could not download {entry.name}: {row.error}", error=True)
        self.refresh()
