"""The command line's speech-model choices checked before any model loads: a typo in
--stt-model or --stt-language would otherwise be reported only after the models loaded."""

from __future__ import annotations

from pathlib import Path

from app.models.errors import ModelError
from app.stt.languages import LANGUAGES, language_name


def speech_choice_problem(model: str, language: str) -> str:
    """Why `model` (a name or folder, "" for the default) with `language` (a Whisper code,
    "" to detect it) cannot work, or ''. Reads only file names and the vocabulary file."""
    from app.models.speech import DEFAULT_STT, MULTILINGUAL_STT, speech_model_multilingual

    spec = model.strip()
    code = language.strip().lower()
    if spec and spec not in (DEFAULT_STT, MULTILINGUAL_STT):
        from app.models.speech import resolve_stt_model

        try:
            folder = resolve_stt_model(spec)  # names only: never downloads for these
        except ModelError as exc:
            return str(exc)
        if not (Path(folder) / "model.bin").is_file():
            return (
                f"--stt-model {spec}: {folder} is not a faster-whisper model folder (it has no "
                "model.bin)."
            )
    if code and code not in LANGUAGES:
        return (
            f"--stt-language {language}: Whisper does not know the language code {code!r}. "
            'Use a two-letter code such as de, fr or es, or "" to detect the language.'
        )
    if code and code != "en" and speech_model_multilingual(spec) is False:
        name = spec or DEFAULT_STT
        return (
            f"The speech model {name} understands only English, so it cannot transcribe "
            f"{language_name(code)}: add --stt-model {MULTILINGUAL_STT} (multilingual), or "
            "leave out --stt-language."
        )
    return ""
