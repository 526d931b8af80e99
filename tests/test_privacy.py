"""The history is the user's alone: Parley's data, config and state folders are 0700 and its
files 0600, whether it creates them or finds an older install's (0644 conversations in a
0755 folder, readable by every user of the machine), through the real `parley` command. A
folder the user points Parley at keeps its own permissions; only Parley's files in it are
made private."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from app.storage.chats import DB_NAME, ChatStore
from tests.realtools import parley

OVERRIDES = ("PARLEY_DATA_DIR", "PARLEY_HISTORY_DIR", "PARLEY_CONFIG_DIR", "PARLEY_LOG_DIR")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def home_env(home: Path) -> dict[str, str]:
    """Parley in a fresh home: the platform's folders, none of PARLEY_*_DIR."""
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
    for var, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config"),
                     ("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache")):  # fmt: skip
        env[var] = str(home / sub)
    return env | {"HOME": str(home)}


def old_install(home: Path) -> list[Path]:
    """What an older Parley left: readable by all. The paths it made, folders first."""
    data, config = home / ".local/share/parley", home / ".config/parley"
    log = home / ".local/state/parley/log"
    for folder in (data / "attachments/3f", config, log):
        folder.mkdir(parents=True)
    with sqlite3.connect(data / DB_NAME) as db:
        db.execute("CREATE TABLE kept (text)")
        db.execute("INSERT INTO kept VALUES ('my doctor said')")
    (data / "attachments/3f/3f00.png").write_bytes(b"\x89PNG a photo")
    (data / "marker.key").write_text("00" * 16)
    (config / "settings.json").write_text('{"llm_url": "http://10.0.0.2:8080/v1"}')
    (log / "parley.log").write_text("a question and its answer\n")
    made = [data, data / "attachments", data / "attachments/3f", config, log.parent, log]
    made += [p for p in data.rglob("*") if p.is_file()] + [config / "settings.json"]
    made.append(log / "parley.log")
    for path in made:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return made


def test_an_older_install_is_made_private_at_start(tmp_path: Path) -> None:
    made = old_install(tmp_path)
    run = parley("chats", "list", env=home_env(tmp_path), timeout=60)
    assert run.returncode == 0, run.stderr
    wrong = {str(p.relative_to(tmp_path)): oct(mode(p)) for p in made if mode(p) & 0o077}
    assert not wrong, f"still readable by others: {wrong}"
    assert all(mode(p) == 0o700 for p in made if p.is_dir())
    with sqlite3.connect(made[0] / DB_NAME) as db:  # nothing lost on the way
        assert db.execute("SELECT text FROM kept").fetchall() == [("my doctor said",)]


def test_a_new_history_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    run = parley("chats", "list", env=home_env(tmp_path), timeout=60)
    assert run.returncode == 0, run.stderr
    data = tmp_path / ".local/share/parley"
    assert mode(data) == 0o700 and mode(tmp_path / ".config/parley") == 0o700
    assert mode(tmp_path / ".local/state/parley") == 0o700
    assert mode(data / DB_NAME) == 0o600
    store = ChatStore(data)  # open: its WAL and shared memory exist now
    try:
        store.add_message(store.new_chat(title="Health"), "user", "My blood test says...")
        sides = [data / (DB_NAME + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in sides)
        assert [oct(mode(p)) for p in sides] == [oct(0o600)] * 2
    finally:
        store.close()


def test_a_folder_the_user_chose_keeps_its_permissions(tmp_path: Path) -> None:
    shared = tmp_path / "Documents"
    shared.mkdir()
    shared.chmod(0o755)
    (shared / "recipes.txt").write_text("Flour, water.")
    (shared / "recipes.txt").chmod(0o644)
    env = home_env(tmp_path) | {"PARLEY_HISTORY_DIR": str(shared)}
    run = parley("chats", "list", env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert mode(shared) == 0o755 and mode(shared / "recipes.txt") == 0o644
    assert mode(shared / DB_NAME) == 0o600
