"""The bad-input checklist, run as a hostile new user would run it: audio, images, text,
documents, models, settings, storage and network. Each case runs the real `parley` command
and must end in time (no hang) with the exit code it names, one `parley: ...` line that
says what to do (no traceback), and nothing of the user's changed or lost.

Cases that need a model loaded are few here; the rest of the checklist's expensive cases
live beside the code they test (test_bad_input, test_bad_models, test_real_audio, ...)."""

# ruff: noqa: E501  (the checklist is a table, a case a line)
from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import socket
import sqlite3
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.realtools import parley

GGUF = b"GGUF" + struct.pack("<I", 3)


def _png_bomb(path: Path) -> None:
    """A 40,000 x 40,000 PNG in a few kilobytes: decoding it would take 4.8 GB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (3 * 40000 + 1), 9)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def _wav(path: Path, samples: np.ndarray) -> None:
    soundfile.write(str(path), samples.astype(np.float32), 16000)


def make_inputs(d: Path) -> None:
    """The files a hostile new user hands Parley."""
    (d / "notes.txt").write_text("Buy milk.\n")
    (d / "text.wav").write_text("hello")
    (d / "empty.wav").write_bytes(b"")
    (d / "header.wav").write_bytes(b"RIFF" + struct.pack("<I", 1000) + b"WAVEfmt ")
    _wav(d / "silence.wav", np.zeros(32000))
    # A recording cut short: its header says 10 s, 0.05 s of it is there.
    full = d / "whole.wav"
    soundfile.write(str(full), np.full(160000, 0.2, np.float32), 16000, subtype="PCM_16")
    (d / "truncated.wav").write_bytes(full.read_bytes()[: 44 + 1600])
    full.unlink()
    _wav(d / "noise.wav", np.random.default_rng(1).standard_normal(32000) * 0.3)
    (d / "text.png").write_text("not an image")
    (d / "empty.png").write_bytes(b"")
    (d / "cut.png").write_bytes(
        (Path(__file__).parent.parent / "assets" / "icon.png").read_bytes()[:100]
    )
    _png_bomb(d / "bomb.png")
    (d / "fake.pdf").write_bytes(b"%PDF-1.4\n garbage")
    (d / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (d / "empty.txt").write_text("")
    (d / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (d / "portal.gguf").write_text("<html><body>Log in to the Wi-Fi</body></html>")
    (d / "cut.gguf").write_bytes(GGUF + b"\x00" * 60)
    (d / "voice.onnx").write_bytes(b"not a voice")
    (d / "folder").mkdir()
    for name in ("pipe.wav", "pipe.txt", "pipe.gguf"):
        os.mkfifo(d / name)  # a FIFO nobody writes: reading one waits forever
    (d / "zero.wav").symlink_to("/dev/zero")  # a device that never ends, behind a link
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(d / "sock"))  # a socket file: nothing can be written into it
    from tests.tiny_vlm import build_tiny_vlm

    model, _ = build_tiny_vlm(d / "vlm")  # a real model and its projector, a few hundred KB
    whole = model.read_bytes()
    (d / "half.gguf").write_bytes(whole[: len(whole) // 2])
    (d / "id3.wav").write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x21" + b"\xff\xfb\x90\x64" * 200)
    (d / "fake.docx").write_bytes(b"Minutes of the meeting, not a zip package")
    # For the runs without permission to read or write (Case.unprivileged): root-owned,
    # and the run has no right to override file permissions, as any user would not.
    for name, data in (
        ("locked.md", b"# Plans\n"),
        ("locked.flac", b"fLaC"),
        ("locked.jpg", b"\xff\xd8\xff"),
    ):
        (d / name).write_bytes(data)
        (d / name).chmod(0)
    (d / "sealed").mkdir(mode=0)
    (d / "readonly").mkdir(mode=0o555)


def _sparse_wav(path: Path, minutes: int, rate: int, channels: int) -> None:
    """A 16-bit WAV of `minutes` of silence, sparse on disk: its header tells the length."""
    size = minutes * 60 * rate * channels * 2
    fmt = struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16)
    with path.open("wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + fmt)
        f.write(b"data" + struct.pack("<I", size))
        f.truncate(44 + size)


def _big_text(path: Path, megabytes: float, line: str) -> None:
    path.write_text(line * int(megabytes * 1e6 / len(line)))


MAKERS: dict[str, Callable[[Path], None]] = {
    "long audio": lambda d: _sparse_wav(d / "lecture.wav", 41, 8000, 2),
    "big markdown": lambda d: _big_text(d / "manual.md", 12.5, "## Step\nTurn the valve left.\n"),
    "big code": lambda d: _big_text(d / "dump.py", 11, "values = [1, 2, 3]  # generated\n"),
}


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    code: int
    says: str  # a regex the one line must match
    settings: str | bytes | None = None  # settings.json's content before the run (bytes: raw)
    history: str | None = None  # "damaged": a conversations.db that is no database; "file";
    # "locked": another program holds it locked for the whole run
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 60
    unprivileged: bool = False  # run without root's right to read and write any file
    make: str = ""  # a big input only this case needs (MAKERS), kept out of the others


# Root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH obeys file permissions like any user.
UNPRIVILEGED = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


ASK = ("ask", "--no-save", "--text", "Hello")
CASES = [
    # audio
    Case("audio: missing file", ("ask", "--audio", "gone.wav"), 2, r"gone\.wav does not exist"),
    Case("audio: text file", ("ask", "--audio", "text.wav"), 2, r"not an audio file Parley can read"),
    Case("audio: empty file", ("ask", "--audio", "empty.wav"), 2, r"not an audio file"),
    Case("audio: cut-off header", ("ask", "--audio", "header.wav"), 2, r"not an audio file"),
    Case("audio: a folder", ("ask", "--audio", "folder"), 2, r"folder"),
    Case("audio: realtime, no file", (*ASK, "--realtime"), 2, r"--realtime needs --audio"),
    Case("audio: silence", ("ask", "--no-save", "--audio", "silence.wav"), 3, r"didn't hear any speech in silence\.wav: .*--text", timeout=120),
    Case("audio: white noise", ("ask", "--no-save", "--audio", "noise.wav"), 3, r"didn't hear any speech in noise\.wav(?!.*talk button)", timeout=120),
    Case("audio: a web address", ("ask", "--audio", "https://example.org/question.wav"), 2, r"--audio https://example\.org/question\.wav is a web address, not a file"),
    Case("audio: --say to a web address", (*ASK, "--say", "http://example.org/reply.wav"), 2, r"--say http://example\.org/reply\.wav is a web address"),
    Case("audio: --input-device to ask", (*ASK, "--input-device", "1"), 2, r"`ask` does not use --input-device: .*--text or --audio"),
    Case("audio: --output-device to ask", (*ASK, "--output-device", "pulse"), 2, r"`ask` does not use --output-device: .*--say"),
    Case("audio: --say into a folder", (*ASK, "--say", "folder"), 2, r"folder"),
    Case("audio: a FIFO", ("ask", "--audio", "pipe.wav"), 2, r"pipe\.wav is a pipe \(FIFO\), not an audio file", timeout=30),
    Case("audio: a device behind a link", ("ask", "--audio", "zero.wav"), 2, r"zero\.wav is a device", timeout=30),
    Case("audio: --say into a socket", (*ASK, "--say", "sock"), 2, r"sock: it is a socket, not a file", timeout=30),
    Case("history: export into a socket", ("chats", "export", "1", "-o", "sock", "--force"), 2, r"sock: it is a socket", history="one chat", timeout=30),
    Case("audio: --say onto the question", ("ask", "--audio", "silence.wav", "--say", "silence.wav"), 2, r"would overwrite silence\.wav"),
    Case("audio: --say onto a text file", (*ASK, "--say", "notes.txt"), 2, r"would overwrite notes\.txt, which is not a WAV file", timeout=30),
    Case("audio: --say onto an image", (*ASK, "--say", "cut.png"), 2, r"would overwrite cut\.png, which is not a WAV file", timeout=30),
    Case("audio: silence, said before any model loads", ("ask", "--no-save", "--audio", "silence.wav", "--llm-model", "gone.gguf"), 3, r"didn't hear any speech in silence\.wav", timeout=30),
    Case("audio: a recording cut short", ("ask", "--no-save", "--audio", "truncated.wav", "--llm-model", "gone.gguf"), 3, r"didn't hear any speech in truncated\.wav", timeout=30),
    Case("audio: --say into a full device", (*ASK, "--max-tokens", "8", "--say", "/dev/full"), 1, r"^parley: Could not write the spoken reply to /dev/full: the device is full\.$", timeout=180),
    Case("audio: --say into a FIFO nobody reads", (*ASK, "--max-tokens", "8", "--say", "pipe.wav"), 1, r"^parley: Could not write the spoken reply to pipe\.wav: nobody is reading that pipe \(FIFO\)(?!.*(?:pipe\.wav|Errno))", timeout=180),
    Case("audio: 41 minutes of recording", ("ask", "--no-save", "--audio", "lecture.wav"), 2, r"lecture\.wav is 41 min 0 s long; .*up to 30 minutes", timeout=30, make="long audio"),
    # images
    Case("image: missing", (*ASK, "--image", "gone.png"), 2, r"was not found"),
    Case("image: text file", (*ASK, "--image", "text.png"), 2, r"looks like a text file"),
    Case("image: empty", (*ASK, "--image", "empty.png"), 2, r"is empty \(0 bytes\)"),
    Case("image: cut off", (*ASK, "--image", "cut.png"), 2, r"damaged or incomplete"),
    Case("image: decompression bomb", (*ASK, "--image", "bomb.png"), 2, r"too large .*megapixels"),
    Case("image: a folder", (*ASK, "--image", "folder"), 2, r"folder"),
    Case("image: a web address", (*ASK, "--image", "https://example.org/cat.png"), 2, r"https://example\.org/cat\.png is a web address, not a file"),
    # text
    Case("text: empty", ("ask", "--text", ""), 2, r"question is empty"),
    Case("text: spaces only", ("ask", "--text", "  \t "), 2, r"question is empty"),
    Case("text: invisible characters only", ("ask", "--text", "\u200b\u200d\ufeff"), 2, r"question is empty"),
    Case("text: --max-tokens 0", (*ASK, "--max-tokens", "0"), 2, r"from 1"),
    Case("text: --max-tokens words", (*ASK, "--max-tokens", "lots"), 2, r"whole number"),
    Case("text: no question at all", ("ask",), 2, r"One of the arguments --text --audio is required"),
    Case("text: unknown option", (*ASK, "--temperature", "9"), 2, r"Unrecognized arguments: --temperature 9"),
    # documents
    Case("file: missing", (*ASK, "--file", "gone.pdf"), 2, r"gone\.pdf does not exist"),
    Case("file: not really a PDF", (*ASK, "--file", "fake.pdf"), 2, r"not a readable PDF"),
    Case("file: binary", (*ASK, "--file", "binary.txt"), 2, r"binary file"),
    Case("file: empty", (*ASK, "--file", "empty.txt"), 2, r"no text Parley could read"),
    Case("file: unknown kind", (*ASK, "--file", "photo.heic"), 2, r"can't read photo\.heic: it reads .* not \.heic files"),
    Case("file: a folder", (*ASK, "--file", "folder"), 2, r"is a folder; attach the files in it"),
    Case("file: a FIFO", (*ASK, "--file", "pipe.txt"), 2, r"pipe\.txt is a pipe \(FIFO\), not a document", timeout=30),
    Case("file: a device", (*ASK, "--file", "/dev/urandom"), 2, r"/dev/urandom is a device", timeout=30),
    Case("file: a file: address", (*ASK, "--file", "file:///etc/hostname"), 2, r"file:///etc/hostname is a web address"),
    Case("model: a web address", (*ASK, "--llm-model", "https://example.org/m/q4.gguf"), 2, r"--llm-model https://example\.org/m/q4\.gguf is a web address.*parley models"),
    Case("file: 12 MB of Markdown", (*ASK, "--file", "manual.md"), 2, r"manual\.md is 12 MB of text; .*up to 10 MB", timeout=30, make="big markdown"),
    Case("file: 11 MB of code", (*ASK, "--file", "dump.py"), 2, r"dump\.py is 11 MB of text", timeout=30, make="big code"),
    # models
    Case("model: missing", (*ASK, "--llm-model", "gone.gguf"), 1, r"does not exist"),
    Case("model: an HTML page", (*ASK, "--llm-model", "portal.gguf"), 1, r"not a GGUF model file"),
    Case("model: cut off", (*ASK, "--llm-model", "cut.gguf"), 1, r"cut\.gguf"),
    Case("model: a text file", (*ASK, "--llm-model", "notes.txt"), 1, r"not a GGUF model file"),
    Case("model: bad projector", (*ASK, "--mmproj", "portal.gguf"), 1, r"not a GGUF file"),
    Case("model: a projector as the model", (*ASK, "--llm-model", "vlm/mmproj-tiny-llava.gguf"), 1, r"mmproj-tiny-llava\.gguf is an image projector \(mmproj\), not a language model"),
    Case("model: cut short mid-weights", (*ASK, "--llm-model", "half.gguf"), 1, r"half\.gguf is incomplete: it is [\d,]+ bytes but its header describes"),
    Case("model: unknown speech model", ("ask", "--audio", "silence.wav", "--stt-model", "huge"), 2, r"tiny\.en", timeout=30),
    Case("model: speech model folder without a model", ("ask", "--audio", "silence.wav", "--stt-model", "./folder"), 2, r"not a faster-whisper model folder", timeout=30),
    Case("model: unknown language code", ("ask", "--audio", "silence.wav", "--stt-language", "tlh"), 2, r"does not know the language code 'tlh'", timeout=30),
    Case("model: Spanish for an English-only model", ("ask", "--audio", "noise.wav", "--stt-model", "tiny.en", "--stt-language", "ES"), 2, r"only English, so it cannot transcribe Spanish", timeout=30),
    Case("model: --llm-vision without a server", (*ASK, "--llm-vision"), 2, r"--llm-vision is for a model on a server", timeout=30),
    Case("model: a FIFO", (*ASK, "--llm-model", "pipe.gguf"), 1, r"pipe\.gguf is a pipe \(FIFO\)", timeout=30),
    Case("model: a FIFO for a projector", (*ASK, "--mmproj", "pipe.gguf"), 1, r"pipe\.gguf is a pipe \(FIFO\)", timeout=30),
    Case("model: info on a device", ("models", "info", "/dev/zero"), 1, r"/dev/zero is a device", timeout=30),
    Case("model: voice that is no voice", (*ASK, "--voice", "voice.onnx", "--say", "out.wav"), 1, r"voice", timeout=120),
    # settings
    Case("settings: syntax error", ("assistants", "list"), 0, r"damaged .*kept, untouched", settings='{"llm_url": "http://h:8080/v1",}'),
    Case("settings: not an object", ("assistants", "list"), 0, r"not a JSON object", settings="[1, 2]"),
    Case("settings: not text", ("assistants", "list"), 0, r"damaged", settings=b"\xff\xfe\x00garbage"),
    Case("settings: wrong types", ("assistants", "list"), 0, r"llm_context should be a whole number", settings='{"llm_context": "big"}'),
    Case("settings: out of range", ("assistants", "list"), 0, r"llm_context must be from 512", settings='{"llm_context": 10}'),
    Case("assistants: import from a FIFO", ("assistants", "import", "pipe.txt"), 2, r"pipe\.txt is a pipe \(FIFO\), not an assistant file", timeout=30),
    # storage
    Case("history: damaged database", ("chats", "list"), 0, r"could not be read .*kept, untouched", history="damaged"),
    Case("history: a file where its folder goes", ("chats", "list"), 1, r"it is a file", history="file"),
    Case("history: locked by another program", ("chats", "list"), 1, r"database is locked\. Another program .* is holding the history(?!.*disk)", history="locked", timeout=90),
    Case("data: a file where the model folder goes", ASK, 1, r"Not a directory .*PARLEY_DATA_DIR", env={"PARLEY_DATA_DIR": "notes.txt"}),
    # network
    Case("remote: nothing listening", (*ASK, "--llm-url", "http://127.0.0.1:9/v1"), 1, r"connection refused"),
    Case("remote: not http", (*ASK, "--llm-url", "ftp://host/v1"), 2, r"must start with http"),
    Case("remote: a port past 65535", (*ASK, "--llm-url", "http://127.0.0.1:70000/v1"), 2, r"has an invalid port"),
    Case("remote: captive portal", (*ASK, "--llm-url", "{html}"), 1, r"not an OpenAI-style reply"),
    Case("remote: wrong key", (*ASK, "--llm-url", "{401}"), 1, r"needs an API key"),
    Case("remote: server error", (*ASK, "--llm-url", "{500}"), 1, r"HTTP 500"),
    Case("remote: broken JSON", (*ASK, "--llm-url", "{json}"), 1, r"not an OpenAI-style reply"),
    Case("remote: unclosed IPv6 address", (*ASK, "--llm-url", "http://[::1:8080/v1"), 2, r"The LLM server address http://\[::1:8080/v1 is not a valid address(?!.*Invalid)"),
    Case("remote: a space in the host", (*ASK, "--llm-url", "http://gpu box:8080/v1"), 2, r"The LLM server address 'http://gpu box:8080/v1' contains a space"),
    Case("remote: events of the wrong shape", (*ASK, "--llm-url", "{shapes}"), 1, r"not an OpenAI-style reply.*\{\"choices\": \{", timeout=30),
    Case("remote: a number for the text", (*ASK, "--llm-url", "{number}"), 1, r"not an OpenAI-style reply.*\"content\": 7", timeout=30),
    Case("remote: a stream with no text", (*ASK, "--llm-url", "{silent}"), 1, r"sent an empty reply", timeout=30),
    Case("remote: a compressed body", (*ASK, "--llm-url", "{deflate}"), 1, r"compressed reply \(deflate\)", timeout=30),
    Case("remote: an event that never ends", (*ASK, "--llm-url", "{endless}"), 1, r"more than 8 MB for one reply", timeout=60),
    # commands
    Case("chats: no command", ("chats",), 2, r"`parley chats` needs a command: list, show, .* or restore(?!.*chats_command)"),
    Case("assistants: no command", ("assistants",), 2, r"`parley assistants` needs a command: list, show"),
    Case("models: no command", ("models",), 2, r"`parley models` needs a command: list, pull, verify or info"),
    Case("chats: an id in words", ("chats", "show", "first"), 2, r"ID must be a whole number, not 'first'"),
    Case("feedback: a reply id in words", ("rate", "last", "up"), 2, r"MESSAGE_ID must be a whole number, not 'last'(?!.*message_id)"),
    Case("assistants: import a text file", ("assistants", "import", "notes.txt"), 2, r"notes\.txt is not a readable assistant file: it is not valid JSON \(line 1, column 1\)"),
    Case("assistants: import a binary file", ("assistants", "import", "binary.txt"), 2, r"binary\.txt is not a readable assistant file: it is not text"),
    Case("assistants: 96,000 characters of instructions", ("assistants", "add", "Scholar", "--instructions", "Answer as a scholar. " * 4800), 2, r"instructions can be at most 8,000 characters, not 100,800"),
    # permissions (as a user who may not read or write them)
    Case("file: no permission to read", (*ASK, "--file", "locked.md"), 2, r"can't read locked\.md: you don't have permission.*chmod u\+r", unprivileged=True),
    Case("audio: no permission to read", ("ask", "--no-save", "--audio", "locked.flac"), 2, r"can't read locked\.flac: you don't have permission", unprivileged=True),
    Case("image: no permission to read", (*ASK, "--image", "locked.jpg"), 2, r"can't read “locked\.jpg”: you don't have permission", unprivileged=True),
    Case("assistants: add-file without permission", ("assistants", "add-file", "Parley", "locked.md"), 2, r"can't read locked\.md: you don't have permission", unprivileged=True),
    Case("audio: --say into a folder you can't enter", (*ASK, "--say", "sealed/reply.wav"), 2, r"sealed/reply\.wav: Permission denied\. Choose a folder", unprivileged=True),
    Case("audio: --say into a read-only folder", (*ASK, "--say", "readonly/reply.wav"), 2, r"may not write into the folder .*readonly; choose a folder", unprivileged=True),
    Case("history: export into a read-only folder", ("chats", "export", "1", "-o", "readonly/trip.md"), 2, r"may not write into the folder .*readonly", history="one chat", unprivileged=True),
    # numbers, names and text from the command line
    Case("history: an ID past 64 bits", ("chats", "show", "123456789012345678901234567890"), 2, r"ID is too large"),
    Case("text: --chat far below zero", (*ASK[:-3], "--text", "Hi", "--chat", "-99999999999999999999"), 2, r"--chat is too large"),
    Case("text: a question that starts with a dash", ("ask", "--no-save", "--text", "-v"), 2, r"write --text=-v"),
    Case("file: a name that starts with a dash", (*ASK, "--file", "-draft.md"), 2, r"write --file \./-draft\.md"),
    Case("text: bytes that are not UTF-8", ("ask", "--no-save", "--text", "caf\udce9 au lait?"), 2, r"--text holds bytes that are not UTF-8"),
    Case("assistants: a name that is not UTF-8", ("assistants", "add", "R\udcf6sti", "--instructions", "Be brief."), 2, r"NAME holds bytes that are not UTF-8"),
    Case("history: rename to nothing", ("chats", "rename", "1", " \t "), 2, r"title can't be empty", history="one chat"),
    # formats
    Case("settings: UTF-8 with a byte-order mark", ("assistants", "list"), 0, r"llm_context must be from 512", settings=b'\xef\xbb\xbf{"llm_context": 10}'),
    Case("settings: UTF-16", ("assistants", "list"), 0, r"llm_context must be from 512", settings='{"llm_context": 64}'.encode("utf-16")),
    Case("model: info on a header without weights", ("models", "info", "cut.gguf"), 1, r"cut\.gguf holds no model weights"),
    Case("audio: MP3 bytes named .wav", ("ask", "--no-save", "--audio", "id3.wav"), 2, r"id3\.wav is not an audio file Parley can read: it is not WAV, FLAC or OGG"),
    Case("file: a DOCX that is no package", (*ASK, "--file", "fake.docx"), 2, r"fake\.docx is not a readable Word document: it is damaged.*word processor"),
]  # fmt: skip

BODIES = {
    "html": (200, "text/html", b"<html><body>Log in to the Wi-Fi</body></html>"),
    "401": (401, "application/json", b'{"error": {"message": "Invalid API key"}}'),
    "500": (500, "text/plain", b"Internal error"),
    "json": (200, "application/json", b'{"data": [{"id": '),
}


def _event(delta: object) -> bytes:
    return b"data: " + json.dumps({"choices": [{"index": 0, "delta": delta}]}).encode() + b"\n\n"


# Streamed replies (HTTP/1.0: the body ends when the connection closes).
STREAMS: dict[str, list[bytes]] = {
    "shapes": [b'data: {"choices": {"text": "hi"}}\n\n', b"data: [DONE]\n\n"],
    "number": [_event({"content": 7}), b"data: [DONE]\n\n"],
    "silent": [_event({"role": "assistant"}), b": ping\n\n", _event({}), b"data: [DONE]\n\n"],
    "endless": [b"data: " + b"z" * 999 + b"\n"] * 9000,  # 9 MB and no blank line ending it
}


class _BadServer(http.server.BaseHTTPRequestHandler):
    """Answers every request the way its path's first part says: /html/v1/..., /401/..."""

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        mode = self.path.strip("/").split("/")[0]
        if mode in STREAMS or mode in ("deflate", "trickle", "flood"):
            return self._stream(mode)
        status, kind, body = BODIES[mode]
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def _stream(self, mode: str) -> None:
        if self.command == "GET":  # /v1/models, /props: a server that lacks them
            self.send_error(404)
            return
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        if mode == "deflate":
            self.send_header("Content-Encoding", "deflate")
        self.end_headers()
        if mode == "deflate":
            self.wfile.write(zlib.compress(_event({"content": "Hi"}) * 50000))
            return
        if mode in ("trickle", "flood"):
            self._forever(mode)
            return
        for part in STREAMS[mode]:
            self.wfile.write(part)

    def _forever(self, mode: str) -> None:
        """Streams past any max_tokens until the client goes: a word every 0.2 s, or 1000
        characters an event as fast as it can."""
        piece = _event({"content": " word" if mode == "trickle" else "lorem ipsum " * 84})
        try:
            for _ in range(200_000):
                self.wfile.write(piece)
                self.wfile.flush()
                if mode == "trickle":
                    time.sleep(0.2)
        except OSError:
            pass  # the client closed the connection: what it should do


@pytest.fixture(scope="module")
def bad_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BadServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _prepare(case: Case, tmp: Path, dirs: Path) -> tuple[dict[str, str], Callable[[], None]]:
    """The environment for the run (settings, history and log in `dirs`, apart from the
    user's files in `tmp`), and a check that nothing of the user's was lost."""
    own = {name: str(dirs / name.lower()) for name in ISOLATED}
    env = os.environ.copy() | own | {k: str(tmp / v) for k, v in case.env.items()}
    config = Path(env["PARLEY_CONFIG_DIR"])
    history = Path(env["PARLEY_HISTORY_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    before_settings = case.settings
    if isinstance(before_settings, str):
        before_settings = before_settings.encode()
    if before_settings is not None:
        (config / "settings.json").write_bytes(before_settings)
    if case.history == "damaged":
        history.mkdir(parents=True, exist_ok=True)
        (history / "conversations.db").write_bytes(b"my chats, in a format Parley can't read")
    elif case.history == "one chat":
        from app.storage.chats import ChatStore

        store = ChatStore(history)
        store.add_message(store.new_chat(title="Trip"), "user", "Where to?")
        store.close()
    elif case.history == "file":
        if history.is_dir():
            history.rmdir()
        history.write_text("not a folder")
    lock: sqlite3.Connection | None = None
    if case.history == "locked":  # as another program writing to it would hold it
        history.mkdir(parents=True, exist_ok=True)
        lock = sqlite3.connect(history / "conversations.db", isolation_level=None)
        lock.execute("CREATE TABLE IF NOT EXISTS mine (x)")
        lock.execute("BEGIN EXCLUSIVE")
    inputs = _fingerprint(tmp)
    damaged = (history / "conversations.db").read_bytes() if case.history == "damaged" else None

    def nothing_lost() -> None:
        if lock is not None:
            lock.rollback()
            lock.close()
        after = _fingerprint(tmp)
        changed = [name for name, digest in inputs.items() if after.get(name) != digest]
        assert not changed, f"changed or lost: {changed}"
        if before_settings is not None:
            kept = [p.read_bytes() for p in config.glob("settings.json*")]
            assert before_settings in kept, "the settings file was lost"
        if damaged is not None:
            kept = [p.read_bytes() for p in history.glob("conversations*")]
            assert damaged in kept, "the damaged history was deleted"

    return env, nothing_lost


ISOLATED = ("PARLEY_CONFIG_DIR", "PARLEY_HISTORY_DIR", "PARLEY_LOG_DIR")


@dataclass
class Outcome:
    run: subprocess.CompletedProcess[str]
    lost: str  # what nothing_lost() found changed or lost ("" when all was kept)


def _run_case(case: Case, root: Path, bad_server: str) -> Outcome:
    """One case, start to end, in a folder of its own: the user's files in root/work (also
    the working directory), settings, history and log beside it."""
    tmp = root / "work"
    tmp.mkdir(parents=True)
    make_inputs(tmp)
    if case.make:
        MAKERS[case.make](tmp)
    args = tuple(
        re.sub(r"\{(\w+)\}", lambda m: f"{bad_server}/{m.group(1)}/v1", a) for a in case.args
    )
    env, nothing_lost = _prepare(case, tmp, root)
    prefix = UNPRIVILEGED if case.unprivileged else ()
    try:
        # A hang fails here.
        run = parley(*args, env=env, timeout=case.timeout, cwd=tmp, prefix=prefix)
    finally:
        try:
            nothing_lost()  # also lets go of a lock the case held on the history
            lost = ""
        except AssertionError as exc:
            lost = str(exc)
    return Outcome(run, lost)


@pytest.fixture(scope="module")
def checklist_runs(
    request: pytest.FixtureRequest, bad_server: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Future[Outcome]]:
    """The selected cases, run side by side a few at a time. Each is a process of its own in
    folders of its own, and most of its time is Python starting up, so on two cores they
    take half the time they took one after another; each test below checks its own case."""
    chosen = [
        item.callspec.params["case"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_checklist"
    ]
    pool = ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) + 1)
    request.addfinalizer(lambda: pool.shutdown(cancel_futures=True))
    root = tmp_path_factory.mktemp("checklist")
    return {
        case.name: pool.submit(_run_case, case, root / f"case{i}", bad_server)
        for i, case in enumerate(chosen)
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_checklist(case: Case, checklist_runs: dict[str, Future[Outcome]]) -> None:
    outcome = checklist_runs[case.name].result()
    run = outcome.run
    assert run.returncode == case.code, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr and "Error:" not in run.stderr.split("parley:")[0]
    said = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(said) == 1 and said[0].startswith("parley: "), run.stderr
    assert re.search(case.says, said[0]), said[0]
    assert not outcome.lost, outcome.lost


@pytest.mark.parametrize("mode", ["trickle", "flood"])
def test_a_server_streaming_past_max_tokens_is_cut_off(mode: str, bad_server: str) -> None:
    """--max-tokens holds for a remote model too: a server that trickles words forever, or
    floods long events, gives a reply of at most that many tokens (and 16 characters each),
    in seconds rather than never."""
    url = f"{bad_server}/{mode}/v1"
    run = parley(*ASK, "--llm-url", url, "--max-tokens", "7", timeout=60)
    assert run.returncode == 0, run.stderr
    reply = run.stdout.strip()
    assert reply and len(reply) <= 7 * 16, len(reply)
    if mode == "trickle":
        assert reply.split() == ["word"] * 7, reply


def test_the_details_of_a_failure_go_to_the_log_file_not_the_terminal(tmp_path: Path) -> None:
    """The user reads one line; the traceback a bug report needs is in Parley's log."""
    (tmp_path / "notes.txt").write_text("not a folder")
    env = os.environ | {"PARLEY_DATA_DIR": str(tmp_path / "notes.txt")}
    run = parley(*ASK, env=env, timeout=60)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    log = (Path(env["PARLEY_LOG_DIR"]) / "parley.log").read_text()
    assert "Traceback" in log and "NotADirectoryError" in log


def test_verbose_shows_parleys_steps_not_library_debug_lines(tmp_path: Path) -> None:
    """--verbose is for what Parley did; PIL's "STREAM b'IHDR' 16 13" lines (one a PNG
    chunk) are noise there. Parley's own lines and its one-line message stay."""
    make_inputs(tmp_path)
    run = parley("--verbose", *ASK, "--image", "cut.png", cwd=tmp_path, timeout=60)
    assert run.returncode == 2, run.stderr
    assert "PIL" not in run.stderr and "STREAM" not in run.stderr, run.stderr
    assert "app.vision.images" in run.stderr  # Parley's own log line
    assert run.stderr.rstrip().splitlines()[-1].startswith("parley: “cut.png” is damaged")


# The hostile pass's wrong answers, by class: each question reaches the tool that answers it,
# with the short reply limit it was asked with, and the reply states the tool's result.
TOOL_CASES = [
    ("How many days are there from 15 February 2027 to 30 April 2027?", "calendar", "74", ["74"]),
    ("What day of the week was 9 November 1989?", "calendar", "Thursday", ["Thursday"]),
    ("What date is ninety days after 2027-01-10?", "calendar", "2027-04-10", ["2027-04-10", "April 10", "10 April"]),
    ("Wie viel ist neun mal acht?", "calculator", "72", ["72"]),
    ("¿Cuánto son siete por seis?", "calculator", "42", ["42"]),
    ("Combien font quarante-deux moins dix-sept ?", "calculator", "25", ["25", "vingt-cinq"]),
    ("What is an 18% tip on 62.50?", "calculator", "11.25", ["11.25"]),
    ("The concert begins at 8:15 pm and lasts 95 minutes. When does it end?", "calendar", "9:50 pm", ["9:50"]),
    ("What time will it be in 4 hours?", "calendar", "now", []),
]  # fmt: skip


@pytest.mark.models
@pytest.mark.parametrize(
    ("question", "tool", "result", "said"), TOOL_CASES, ids=[c[0][:40] for c in TOOL_CASES]
)
def test_a_question_reaches_the_tool_that_answers_it(
    question: str, tool: str, result: str, said: list[str]
) -> None:
    run = parley(
        "ask", "--no-save", "--json", "--max-tokens", "40", "--text", question, timeout=300
    )
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert "could not finish" not in answer["reply"], answer
    [used] = answer["tools"]
    assert used["name"] == tool, answer
    if result == "now":  # from the time now: the reply says the time the tool gave
        assert used["arguments"]["time"] == "now" and used["arguments"]["hours"] == 4, used
        said = re.findall(r"\d{1,2}:\d{2}", used["result"])[:2]  # 19:25 (7:25 pm)
    else:
        assert result in used["result"], used
    assert any(s.lower() in answer["reply"].lower() for s in said), answer
