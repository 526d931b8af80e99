"""What the settings run, and where: the welcome tells a new user what stays on the computer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.config import Settings

_BUILTIN = {
    "stt": "Whisper tiny.en (built in)",
    "llm": "Qwen2.5-Coder 1.5B Instruct (built in)",
    "tts": "Piper voice Joe, US English (built in)",
}
_STT_NAMED = {"tiny.en": _BUILTIN["stt"], "base": "Whisper base, many languages (built in)"}
TITLES = {"stt": "Speech recognition", "llm": "Language model", "tts": "Voice"}


@dataclass(frozen=True, slots=True)
class Running:
    role: str  # stt | llm | tts
    name: str
    where: str  # "on this computer" or "on the server at HOST"

    @property
    def local(self) -> bool:
        return self.where == "on this computer"


def running_models(settings: Settings, have_builtin: bool = True) -> list[Running]:
    here = "on this computer"
    stt = _STT_NAMED.get(settings.stt_model or "tiny.en") or Path(settings.stt_model).name
    if settings.llm_url:
        host = urlsplit(settings.llm_url).hostname or settings.llm_url
        model = settings.llm_remote_model or "the server's model"
        llm = Running("llm", model, f"on the server at {host}")
    else:
        name = Path(settings.llm_model).name if settings.llm_model else _BUILTIN["llm"]
        if not settings.llm_model and not have_builtin:
            name = "none yet (download one below)"
        llm = Running("llm", name, here)
    voice = Path(settings.tts_voice).stem if settings.tts_voice else _BUILTIN["tts"]
    return [Running("stt", stt, here), llm, Running("tts", voice, here)]


def privacy_sentence(models: list[Running]) -> str:
    remote = [m for m in models if not m.local]
    if not remote:
        return (
            "Everything runs on this computer, without the internet: nothing you say, type or "
            "show Parley leaves it. Only downloading another model uses the network."
        )
    where = remote[0].where.removeprefix("on the server at ")
    return (
        f"Your messages, and the text of what you attach, go to {where} to be answered. Speech "
        "recognition and the voice stay on this computer."
    )
