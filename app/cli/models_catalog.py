"""`parley models list | pull | verify`: the catalog on the command line.

Output for people goes to stdout, progress and errors to stderr (errors as one
`parley: …` line), so `parley models list --json | jq` and scripts work.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from app.models.catalog import ROLE_TITLES, ROLES, CatalogEntry, load_catalog
from app.models.download import DownloadProgress
from app.models.errors import ModelError


def _fail(message: str) -> int:
    print(f"parley: {message}", file=sys.stderr)
    return 1


def human_size(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.0f} MB"
    return f"{n / 1e3:.0f} kB"


def _size_text(entry: CatalogEntry) -> str:
    exact = entry.size_bytes
    return human_size(exact) if exact is not None else "~" + human_size(entry.approx_size_bytes)


def _entry_json(entry: CatalogEntry) -> dict[str, Any]:
    from app.models.install import entry_status

    status = entry_status(entry)
    return {
        "id": entry.id,
        "role": entry.role,
        "name": entry.name,
        "default": entry.default,
        "size_bytes": entry.size_bytes,
        "approx_size_bytes": entry.approx_size_bytes,
        "licence": entry.licence,
        "memory_mb": entry.memory_mb,
        "languages": list(entry.languages),
        "pinned": entry.pinned,
        "source": entry.source.repo or " ".join(entry.source.packages),
        "status": status.state,
        "installed": status.installed,
        "detail": status.detail,
        "settings": entry.settings(),
    }


def models_list(role: str | None = None, as_json: bool = False) -> int:
    from app.models.install import entry_status

    try:
        catalog = load_catalog()
    except ModelError as exc:
        return _fail(str(exc))
    roles = [role] if role else list(ROLES)
    if as_json:
        print(json.dumps({"models": [_entry_json(e) for r in roles for e in catalog.by_role(r)]}))
        return 0
    for r in roles:
        print(f"{ROLE_TITLES[r]}:")
        for e in catalog.by_role(r):
            status = entry_status(e)
            mark = "  [default]" if e.default else ""
            state = status.state.replace("-", " ")
            if status.state == "partial":
                state += f" ({human_size(status.present_bytes)} so far)"
            print(f"  {e.id}{mark}  {state}")
            facts = [
                e.name,
                _size_text(e),
                f"RAM ~{human_size(e.memory_mb * 1e6)}",
                ",".join(e.languages),
                e.licence,
            ]
            if not e.pinned:
                facts.append("sha256 not pinned")
            print("      " + " · ".join(facts))
            if not status.installed:
                print(f"      → {status.detail}")
        print()
    print("Download one with: parley models pull NAME")
    return 0


class ProgressLine:
    """One progress line on stderr: redrawn in place on a terminal, every 10% otherwise (so
    a log file gets a few lines, not thousands)."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_step: tuple[str, int] | None = None
        self.width = 0

    def __call__(self, p: DownloadProgress) -> None:
        if p.total:
            pct = int(100 * p.done / p.total)
            amount = f"{pct:3d}%  {human_size(p.done)} of {human_size(p.total)}"
        else:
            pct = -1
            amount = human_size(p.done)
        line = f"{p.label}: {p.phase} {amount}"
        if p.phase == "downloading" and p.rate > 0:
            line += f"  {human_size(p.rate)}/s"
            if p.total:
                line += f"  {max(0, p.total - p.done) / p.rate:.0f} s left"
        if self.tty:
            pad = max(0, self.width - len(line))
            self.stream.write("\r" + line + " " * pad)
            self.width = len(line)
            if p.phase == "done":
                self.stream.write("\n")
                self.width = 0
            self.stream.flush()
            return
        if p.phase == "connecting":
            return  # in a log, a line per attempt is noise; failures get their own line
        step = (p.label + p.phase, pct // 10 if pct >= 0 else 0)
        if step != self.last_step or p.phase == "done":
            self.last_step = step
            print(line, file=self.stream, flush=True)

    def end(self) -> None:
        if self.tty and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0


def models_pull(name: str, timeout: float = 30.0) -> int:
    from app.models.catalog import models_dir
    from app.models.download import Downloader
    from app.models.install import install

    try:
        entry = load_catalog().get(name)
    except ModelError as exc:
        return _fail(str(exc))
    line = ProgressLine()
    start = time.monotonic()
    try:
        result = install(entry, downloader=Downloader(models_dir(), timeout=timeout, progress=line))
    except KeyboardInterrupt:
        line.end()
        _fail(f"stopped; run `parley models pull {entry.id}` again to resume.")
        return 130  # the shell's code for Ctrl+C
    except ModelError as exc:
        line.end()
        return _fail(str(exc))
    line.end()
    seconds = time.monotonic() - start
    fetched = (
        f", {human_size(result.fetched)} downloaded in {seconds:.0f} s" if result.fetched else ""
    )
    print(f"{entry.id}: ready in {entry.folder()} ({result.note}{fetched})")
    for path in result.paths:
        print(f"  {path}")
    settings = entry.settings()
    shown = {k: v for k, v in settings.items() if v}
    if shown:
        print("Use it: set " + ", ".join(f"{k} = {v}" for k, v in shown.items()))
        print("        in settings.json, or choose it in the window's settings.")
    return 0


def models_verify(names: Sequence[str] = (), full: bool = False) -> int:
    from app.models.install import entry_status, verify_entry

    try:
        catalog = load_catalog()
        entries = [catalog.get(n) for n in names] if names else list(catalog)
    except ModelError as exc:
        return _fail(str(exc))
    checked = failed = 0
    for entry in entries:
        status = entry_status(entry)
        if not names and status.state in ("not-installed", "needs-packages"):
            continue  # nothing of it on disk: nothing to verify
        if status.state == "needs-packages":
            print(f"{entry.id}: not installed ({status.detail})")
            failed += 1
            continue
        checked += 1
        try:
            checks = verify_entry(entry, full=full)
        except OSError as exc:
            print(f"{entry.id}: FAILED: {exc}")
            failed += 1
            continue
        bad = [c for c in checks if not c.ok]
        if bad:
            failed += 1
            print(f"{entry.id}: FAILED")
            for c in bad:
                print(f"  {c.path}: {c.message}")
            print(f"  fix it with: parley models pull {entry.id}")
        else:
            how = sorted({c.message for c in checks})
            print(f"{entry.id}: ok ({'; '.join(how)})")
    if not checked and not failed:
        print("No catalog models are installed yet (see `parley models list`).")
    if failed:
        print(f"parley: {failed} model(s) failed verification.", file=sys.stderr)
        return 1
    return 0
