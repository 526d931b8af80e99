"""The install's secret for attachment markers.

Each attachment's data block is fenced by a tag the text inside can't guess. Deriving the tag
from the attachment's content with this key keeps it unguessable and the same every time the
same attachment is asked about, so the model reads the same prompt and gives the same answer.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from app.paths import data_dir
from app.safety.aside import unused_name

log = logging.getLogger(__name__)

KEY_BYTES = 16
_key: bytes | None = None


def key_file() -> Path:
    return data_dir() / "marker.key"


def marker_key() -> bytes:
    """The key, read from `key_file()` or made and saved there. A file that holds no key is
    renamed aside; a key that can't be saved (read-only or full disk) still serves this run."""
    global _key
    if _key is None:
        _key = _load(key_file())
    return _key


def _load(path: Path) -> bytes:
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        if len(key) == KEY_BYTES:
            return key
        raise ValueError(f"{len(key)} bytes")
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as e:
        aside = unused_name(path, lambda stamp: f"{path.name}.bad-{stamp}")
        log.warning("marker key %s unreadable (%s); kept aside as %s", path, e, aside.name)
        try:
            path.rename(aside)
        except OSError:
            return secrets.token_bytes(KEY_BYTES)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # a secret: owner-only
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key.hex())
        os.replace(tmp, path)  # atomic: two Parleys starting at once each get a whole key
    except OSError as e:
        log.warning("marker key not saved (%s): tags change when Parley restarts", e)
    return key
