"""The user's folders are theirs alone: Parley's data, config and state folders are 0700 and
what it keeps in them 0600, on a shared machine too.

Conversations had been created 0644 in a 0755 folder, readable by every user of the computer,
while settings and attachments were owner-only. New files are made private where they are
created (the database, the log, the marker key, settings, attachments); `make_private` runs
at each start and fixes an older install's folders and files in place.

A folder named by PARLEY_DATA_DIR, PARLEY_HISTORY_DIR, PARLEY_CONFIG_DIR or PARLEY_LOG_DIR
may be one the user shares with other things, so there only Parley's own entries are fixed.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from app import APP_NAME

log = logging.getLogger(__name__)

# The entries Parley keeps in a folder (by the start of their names), fixed in any folder.
OWN_ENTRIES = ("conversations", "attachments", "marker.key", "settings.json", "parley.log")


@dataclass(frozen=True)
class Folder:
    path: Path
    own: bool  # Parley's own folder (the platform's default): all of it is fixed


def folders() -> list[Folder]:
    """Where Parley keeps things: each platform folder unless an environment variable
    points elsewhere (then that folder, not Parley's own)."""

    def pick(variable: str, default: str) -> Folder:
        override = os.environ.get(variable)
        return Folder(Path(override), False) if override else Folder(Path(default), True)

    data = pick("PARLEY_DATA_DIR", platformdirs.user_data_dir(APP_NAME))
    history = pick("PARLEY_HISTORY_DIR", "") if os.environ.get("PARLEY_HISTORY_DIR") else data
    config = pick("PARLEY_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME))
    # The log is in the state folder's log/ (PARLEY_LOG_DIR: the log folder itself).
    state = pick("PARLEY_LOG_DIR", str(Path(platformdirs.user_log_dir(APP_NAME)).parent))
    return list(dict.fromkeys([data, history, config, state]))


def make_private() -> None:
    """Create Parley's own folders owner-only, and take group and other permissions off
    every folder and file in them (in another folder, off Parley's entries only). Never
    raises: a folder that can't be fixed is logged and left to the command that uses it."""
    for folder in folders():
        try:
            if folder.own:
                folder.path.mkdir(mode=0o700, parents=True, exist_ok=True)
                _fix_tree(folder.path)
            elif folder.path.is_dir():
                for entry in os.scandir(folder.path):
                    if entry.name.startswith(OWN_ENTRIES):
                        _fix_entry(entry)
        except OSError as exc:
            log.info("could not make %s private: %s", folder.path, exc)


def private_file(path: Path) -> None:
    """Take group and other permissions off `path` if it is there (a file Parley made)."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISREG(mode) and stat.S_IMODE(mode) & 0o077:
            os.chmod(path, stat.S_IMODE(mode) & 0o700)
    except OSError:
        pass


def _fix_tree(folder: Path) -> None:
    """Make `folder` 0700 and fix what is in it. A sub-folder that is already owner-only
    shelters what it holds, so it is not walked: a start costs one listing, not a walk of
    every attachment."""
    _chmod(folder, os.lstat(folder).st_mode, True)
    for entry in os.scandir(folder):
        _fix_entry(entry)


def _fix_entry(entry: os.DirEntry[str]) -> None:
    mode = entry.stat(follow_symlinks=False).st_mode
    if stat.S_ISLNK(mode):
        return  # not Parley's to change: a link's target may be anywhere
    if stat.S_ISDIR(mode):
        if stat.S_IMODE(mode) & 0o077:
            _fix_tree(Path(entry.path))
    elif stat.S_ISREG(mode):
        _chmod(Path(entry.path), mode, False)


def _chmod(path: Path, mode: int, folder: bool) -> None:
    bits = stat.S_IMODE(mode)
    wanted = 0o700 if folder else bits & 0o700  # a file keeps what its owner may do
    if bits != wanted:
        os.chmod(path, wanted)
