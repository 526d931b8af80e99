"""Settings and the places Parley keeps files.

Settings are a small JSON file in the user's config directory (platformdirs). Unknown keys are
ignored and bad values fall back to defaults, so an old or hand-edited file never stops the app.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs

from app import APP_NAME

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are Parley, a friendly voice assistant running privately on the user's computer. "
    "Your replies are spoken aloud, so answer in one to three short, plain sentences, "
    "the direct answer first, "
    "without lists, code blocks or emoji unless the user asks for them."
)


def data_dir() -> Path:
    """Where models and other large files live; PARLEY_DATA_DIR overrides (tests, portable use)."""
    override = os.environ.get("PARLEY_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def history_dir() -> Path:
    """Where conversations and their attachments are kept: the data directory, or
    PARLEY_HISTORY_DIR (tests, or keeping them on another disk)."""
    override = os.environ.get("PARLEY_HISTORY_DIR")
    return Path(override) if override else data_dir()


def config_dir() -> Path:
    override = os.environ.get("PARLEY_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


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

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or config_dir() / "settings.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable settings file %s: %s", path, exc)
            return cls()
        if not isinstance(raw, dict):
            log.warning("ignoring settings file %s: not a JSON object", path)
            return cls()
        defaults = cls()
        values = {}
        for f in fields(cls):
            if f.name not in raw:
                continue
            value, kind = raw[f.name], type(getattr(defaults, f.name))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)  # a hand-written 1 means 1.0
            # bool is an int subclass, but `true` is not a context size (nor 1 a yes/no).
            if isinstance(value, kind) and (kind is bool) == isinstance(value, bool):
                values[f.name] = value
            else:
                log.warning("ignoring setting %s=%r: expected %s", f.name, value, kind.__name__)
        return cls(**values)

    def save(self, path: Path | None = None) -> None:
        path = path or config_dir() / "settings.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        # Owner-only from the first byte: the file may hold the remote LLM's API key.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        if hasattr(os, "fchmod"):  # POSIX; an older .tmp left behind keeps its mode otherwise
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)  # atomic: a crash mid-write never leaves a half file
