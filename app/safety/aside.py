"""A free name beside a file, to keep the file aside rather than lose it: a settings file
that is not JSON, a damaged database, an unreadable key."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def unused_name(path: Path, name: Callable[[str], str]) -> Path:
    """A free path beside `path`, called `name(stamp)` with the time as stamp (and -2, -3...
    after it when that is taken): where a file the user must not lose is kept aside."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = path.with_name(name(stamp)), 1
    while target.exists():
        n += 1
        target = path.with_name(name(f"{stamp}-{n}"))
    return target
