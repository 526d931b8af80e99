"""Settings and the places Parley keeps files.

Settings are a small JSON file in the user's config directory (platformdirs). Unknown keys are
ignored and bad values fall back to defaults, so an old or hand-edited file never stops the app;
but nothing is dropped without a word: a file that is not JSON is kept aside as
`settings.json.bad-<time>` (the next save would otherwise overwrite the user's remote URL, key
and instructions with defaults), and each value out of range or of the wrong kind is named.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from app.paths import config_dir as config_dir
from app.paths import data_dir as data_dir
from app.paths import history_dir as history_dir
from app.safety.aside import unused_name

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are Parley, a friendly voice assistant running privately on the user's computer. "
    "Your replies are spoken aloud, so answer in one to three short, plain sentences, "
    "the direct answer first, "
    "without lists, code blocks or emoji unless the user asks for them."
)


# The numbers a setting may take: (lowest, highest, what it is). Outside them a value is not
# used (llama.cpp, for one, reports an impossible context size as a damaged model).
LIMITS: dict[str, tuple[float, float, str]] = {
    "llm_context": (512, 131072, "tokens of context"),
    "llm_max_tokens": (1, 8192, "tokens in a reply"),
    "llm_temperature": (0.0, 2.0, "sampling temperature"),
    "llm_threads": (0, 256, "threads (0: chosen for you)"),
    "stt_threads": (0, 256, "threads (0: chosen for you)"),
    "llm_remote_context": (0, 10_000_000, "tokens (0: ask the server)"),
    "llm_remote_deadline": (5.0, 86400.0, "seconds"),
    "tts_first_clause_words": (0, 100, "words"),
    "tts_clause_words": (0, 100, "words"),
    "tts_first_max_words": (0, 100, "words"),
    "think_budget_tokens": (0, 4096, "tokens of reasoning"),
    "max_talk_seconds": (1.0, 3600.0, "seconds"),
}


def out_of_range(name: str, value: float) -> str | None:
    """Why `value` can't be the setting `name` (a sentence), or None when it can."""
    low, high, unit = LIMITS.get(name, (float("-inf"), float("inf"), ""))
    if low <= value <= high:
        return None
    return f"{name} must be from {low:g} to {high:g} {unit}, not {value:g}"


@dataclass
class Settings:
    """Everything the user can choose. Paths left empty mean 'the offline default'."""

    input_device: str = ""  # name (substring) or index; empty = system default
    output_device: str = ""
    stt_model: str = ""  # "tiny.en" (the default), "base" (multilingual) or a model folder
    stt_language: str = ""  # a Whisper code ("de"); empty = detect it (English for *.en models)
    llm_model: str = ""
    llm_mmproj: str = ""  # a vision model's image projector (.gguf) that goes with llm_model
    tts_voice: str = ""
    llm_context: int = 4096
    llm_max_tokens: int = 256
    llm_temperature: float = 0.3
    llm_threads: int = 0  # 0 = let the engine choose
    stt_threads: int = 0  # whisper's threads; 0 = half the cores
    # A remote LLM: any OpenAI-compatible server (llama.cpp, vLLM, Ollama, LM Studio). When
    # llm_url is set it replaces the local model. The key is kept in this file, which is
    # therefore written readable by the user only (0600); PARLEY_LLM_API_KEY works too.
    llm_url: str = ""  # e.g. http://192.168.1.20:8080/v1
    llm_remote_model: str = ""  # empty = the first model the server lists
    llm_api_key: str = field(default="", repr=False)  # never printed with the settings
    llm_remote_vision: bool = False  # the user says the remote model sees images
    llm_remote_context: int = 0  # tokens; 0 = ask the server, else 8192
    # The longest a remote reply may take, start to end: a server that trickles tokens (one
    # every 20 s is never idle long enough to time out) must not hold a turn for ever.
    llm_remote_deadline: float = 300.0
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    speak_replies: bool = True
    # Speak from the first clause of this many words, later clauses of this many (0: sentences).
    tts_first_clause_words: int = 3
    tts_clause_words: int = 8
    # ...and the first chunk even without a mark, once this long, before a phrase start (0: no)
    tts_first_max_words: int = 5
    live_transcription: bool = True  # transcribe at pauses while the key is held
    speculative_replies: bool = True  # and start the reply at a pause, before release
    speculative_audio: bool = True  # and synthesise that reply's first clause, too
    sound_cues: bool = True  # a short chime when listening starts and stops
    tools: bool = True  # the model may call the calculator and the calendar
    # Think first: reason in a hidden scratchpad before answering, at most this many tokens.
    think_first: bool = False
    think_budget_tokens: int = 200
    max_talk_seconds: float = 120.0  # a hold longer than this ends (a key stuck down)
    welcomed: bool = False  # the first-run welcome has been shown
    # Hold this in any application to talk (X11); empty: only in Parley's window.
    global_talk_key: str = "Ctrl+Alt+Space"
    # The window opens in hands-free mode: the microphone stays open and Parley answers when
    # you stop talking, no key held (`parley --hands-free` for one run).
    hands_free: bool = False

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        settings, problems = cls.load_checked(path)
        for problem in problems:
            log.warning("%s", problem)
        return settings

    @classmethod
    def load_checked(cls, path: Path | None = None) -> tuple[Settings, list[str]]:
        """The settings, and what in the file could not be used (sentences for the user)."""
        path = path or config_dir() / "settings.json"
        try:
            data = _settings_bytes(path)
        except FileNotFoundError:
            return cls(), []
        except OSError as exc:
            _not_to_overwrite.add(path.resolve())
            return cls(), [
                f"Your settings file {path} could not be read ({exc.strerror or exc}), so "
                "Parley uses its defaults for now and will not save over it."
            ]
        try:
            raw = json.loads(_decoded(data))
            if not isinstance(raw, dict):
                raise ValueError("it is not a JSON object")
        except (ValueError, UnicodeDecodeError) as exc:
            return cls(), [_kept_aside(path, exc)]
        defaults = cls()
        values, problems = {}, []
        for f in fields(cls):
            if f.name not in raw:
                continue
            value, kind = raw[f.name], type(getattr(defaults, f.name))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)  # a hand-written 1 means 1.0
            # bool is an int subclass, but `true` is not a context size (nor 1 a yes/no).
            if not (isinstance(value, kind) and (kind is bool) == isinstance(value, bool)):
                why = f"{f.name} should be {_KIND_WORDS.get(kind, kind.__name__)}, not {value!r}"
            elif kind in (int, float) and (bad := out_of_range(f.name, value)):
                why = bad
            else:
                values[f.name] = value
                continue
            default = getattr(defaults, f.name)
            problems.append(f"In your settings, {why}; Parley uses {default!r} instead.")
        return cls(**values), problems

    def save(self, path: Path | None = None) -> None:
        """Write the settings (atomically, owner-only). Raises OSError, and never writes, over
        a file that could not be read or kept aside when it was loaded."""
        path = path or config_dir() / "settings.json"
        if path.resolve() in _not_to_overwrite:
            raise PermissionError(
                f"{path} could not be read when Parley started; fix or move it, then restart "
                "Parley, so that what it holds is not lost."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        # Owner-only from the first byte: the file may hold the remote LLM's API key.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        if hasattr(os, "fchmod"):  # POSIX; an older .tmp left behind keeps its mode otherwise
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)  # atomic: a crash mid-write never leaves a half file


_not_to_overwrite: set[Path] = set()  # settings files loading could not read nor move aside
_KIND_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


# Far above any real settings file (a few KB with long instructions): a bigger one is not
# settings, and reading a 3 GB one whole took 37 s and 4 GB of memory.
MAX_SETTINGS_BYTES = 1_000_000


def _settings_bytes(path: Path) -> bytes:
    """The file's bytes; OSError (with a strerror naming what is wrong) for anything that is
    not a regular file of a plausible size. Opened without blocking: a FIFO waited forever."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a pipe, device or socket"
            raise OSError(0, f"it is {kind}, not a file")
        if st.st_size > MAX_SETTINGS_BYTES:
            raise OSError(0, f"it is {st.st_size:,} bytes, too big to be settings")
        return fh.read(MAX_SETTINGS_BYTES + 1)


def _decoded(data: bytes) -> str:
    """The settings file's text: UTF-8 with or without the byte-order mark Windows editors
    write, or UTF-16/32 (json.detect_encoding tells them apart, as RFC 8259 allows)."""
    return data.decode(json.detect_encoding(data))


def _kept_aside(path: Path, exc: Exception) -> str:
    """Rename a settings file that is not JSON out of the way, so that saving the defaults
    never overwrites what the user wrote there; say where it went."""
    aside = unused_name(path, lambda stamp: f"{path.name}.bad-{stamp}")
    try:
        os.replace(path, aside)
    except OSError as move:
        _not_to_overwrite.add(path.resolve())
        return (
            f"Your settings file {path} is damaged ({exc}) and could not be moved aside "
            f"({move.strerror or move}); Parley uses its defaults and will not save over it."
        )
    return (
        f"Your settings file was damaged ({exc}), so Parley started with its defaults. The "
        f"file is kept, untouched, as {aside}: copy anything you need (a server address, "
        "custom instructions) from it in Settings."
    )
