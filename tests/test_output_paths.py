"""Output paths the user names are written the way they mean: a device or FIFO is written
into, a symlink followed, a regular file replaced whole with its permissions kept; never a
rename over a special file, and a write that fails is exit 1 (`--say`, `chats export -o`,
`export-dataset`). The real `parley` command; /dev/full reached only through a symlink, so
an old build that renames over its output replaces the link, never the device."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from app.audio.wavfile import write_wav
from app.storage.chats import ChatStore, MessageDetails
from tests.realtools import parley
from tests.remote_servers import ScriptedServer


def history() -> Path:
    return Path(os.environ["PARLEY_HISTORY_DIR"])


def a_chat() -> int:
    """A saved chat whose reply is rated up (so a dataset has a row)."""
    store = ChatStore(history())
    try:
        chat = store.new_chat(title="Packing list")
        asked = store.add_message(chat, "user", "What do I pack for Oslo in March?")
        system = store.keep_system_prompt("You are Parley.")
        meta = {"system": system, "context": [asked]}
        reply = store.add_message(
            chat, "assistant", "A warm coat, boots and gloves.", MessageDetails(meta=meta)
        )
        store.rate(reply, 1)
        return chat
    finally:
        store.close()


def link_to_full(folder: Path, name: str) -> Path:
    link = folder / name
    link.symlink_to("/dev/full")
    return link


def still_the_link(link: Path) -> None:
    assert link.is_symlink() and os.readlink(link) == "/dev/full", "the link was replaced"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


class FifoReader:
    """A program reading a FIFO: what it got, once the writer closes."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.data = b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with self.path.open("rb") as fh:
            self.data = fh.read()

    def got(self) -> bytes:
        self.thread.join(timeout=30)
        assert stat.S_ISFIFO(os.lstat(self.path).st_mode), "the FIFO became a file"
        return self.data


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    server.script.pieces = ["Take a warm coat."]
    yield server
    server.stop()


def test_a_failed_say_through_a_symlink_is_exit_1_and_the_link_stays(
    tmp_path: Path, scripted: ScriptedServer
) -> None:
    out = link_to_full(tmp_path, "reply.wav")
    run = parley("ask", "--no-save", "--no-tools", "--json", "--llm-url", f"{scripted.url}/v1",
                 "--text", "What do I pack?", "--say", str(out), timeout=120)  # fmt: skip
    result = json.loads(run.stdout)
    assert run.returncode == 1, run.stderr
    assert result["reply"] == "Take a warm coat." and result["say"] is None
    assert result["error"].endswith("reply.wav: the device is full.")  # plain words
    still_the_link(out)


def test_chats_export_goes_into_a_fifo_and_refuses_one_nobody_reads(tmp_path: Path) -> None:
    chat = a_chat()
    reader = FifoReader(tmp_path / "to-printer")
    run = parley("chats", "export", str(chat), "-o", str(reader.path), "--force", timeout=60)
    assert run.returncode == 0, run.stderr
    assert b"A warm coat, boots and gloves." in reader.got()
    lonely = tmp_path / "nobody-reads"
    os.mkfifo(lonely)
    run = parley("chats", "export", str(chat), "-o", str(lonely), "--force", timeout=30)
    assert run.returncode == 1 and "nobody is reading that pipe" in run.stderr, run.stderr
    assert run.stderr.count("nobody-reads") == 1 and "Errno" not in run.stderr, run.stderr
    assert stat.S_ISFIFO(os.lstat(lonely).st_mode)


def test_a_folder_as_the_output_is_named_as_one_without_force(tmp_path: Path) -> None:
    """A folder given as the output is no file --force could replace: said at once (it had
    been "already exists; ... add --force", and only then "it is a folder")."""
    chat = a_chat()
    for args in (("chats", "export", str(chat), "-o"), ("export-dataset",)):
        run = parley(*args, str(tmp_path), timeout=60)
        assert run.returncode == 2 and "it is a folder; give a file name" in run.stderr, run
        assert "--force" not in run.stderr, run.stderr


def test_export_dataset_writes_through_links_and_into_fifos(tmp_path: Path) -> None:
    a_chat()
    full = link_to_full(tmp_path, "rows.jsonl")
    run = parley("export-dataset", str(full), "--force", timeout=60)
    assert run.returncode == 1 and "rows.jsonl: the device is full" in run.stderr, run.stderr
    still_the_link(full)
    reader = FifoReader(tmp_path / "rows-pipe")
    run = parley("export-dataset", str(reader.path), "--force", timeout=60)
    assert run.returncode == 0, run.stderr
    row = json.loads(reader.got())
    assert row["messages"][-1]["content"] == "A warm coat, boots and gloves."


def test_a_wav_goes_through_a_symlink_and_keeps_the_files_permissions(tmp_path: Path) -> None:
    target = tmp_path / "shared" / "answer.wav"
    target.parent.mkdir()
    target.write_bytes(b"old")
    target.chmod(0o640)
    link = tmp_path / "answer.wav"
    link.symlink_to(target)
    write_wav(link, np.full(800, 0.25, np.float32), 16000)
    assert link.is_symlink() and os.readlink(link) == str(target)
    samples, rate = soundfile.read(str(target))
    assert rate == 16000 and len(samples) == 800
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["answer.wav"]  # no temporary left
