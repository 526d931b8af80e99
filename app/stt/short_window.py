"""Whisper on a window sized to the utterance instead of a fixed 30 seconds.

Whisper's encoder always reads 30 s of audio, padded with silence, and for a spoken question of
two or three seconds that padding is most of the work: with tiny.en here, 0.39 s per pass
(median). CTranslate2's encoder also takes a shorter window. With the audio plus at least 3 s of
silence, and never less than 10 s (shorter windows make whisper repeat itself), the same model
takes 0.09 s, and on 40 spoken questions (piper's voice, two passes) the word error rate was no
worse: 5.0 % against 5.3 % for the 30 s window; on espeak-ng's voice 9.1 % against 18.9 %.

It is used for utterances up to 20 s with English-only models (tiny.en, the default). With
the multilingual base model and a set language it was also 3x faster (0.26 s against 0.78 s)
at the same overall word error rate on espeak-ng's German, French and Spanish
(bench/stt_window.py), but it changed single sentences, and espeak's voices in those languages
are too poor (about 60 % WER either way) to show it is no worse on real speech; so not there.
A result that looks like a hallucination (repetitive text) goes to the standard 30 s pass; a
window that whisper judges to hold no speech gives "".
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np

from app.audio.capture import STT_RATE

MAX_SECONDS = 20.0  # longer utterances take the standard (30 s, VAD-cut) path
MIN_WINDOW_SECONDS = 10.0
SILENCE_AFTER_SECONDS = 3.0
# faster-whisper's defaults for "this window is silence" and "this text is a loop".
NO_SPEECH_PROB = 0.6
LOG_PROB = -1.0
COMPRESSION_RATIO = 2.4


def window_seconds(audio_seconds: float, minimum: float = MIN_WINDOW_SECONDS) -> float:
    return float(max(minimum, math.ceil(audio_seconds + SILENCE_AFTER_SECONDS)))


def transcribe_short(
    model: Any,
    tokenizer: Any,
    audio: np.ndarray,
    min_window: float = MIN_WINDOW_SECONDS,
    prompt_text: str = "",
) -> str | None:
    """The text of `audio` (16 kHz mono, at most MAX_SECONDS) from a short window, "" for no
    speech, or None where the standard pass should decide (a looping result). `prompt_text`
    is given to whisper as the text before it (words it should expect)."""
    import ctranslate2

    seconds = audio.size / STT_RATE
    padded = np.zeros(int(window_seconds(seconds, min_window) * STT_RATE), np.float32)
    padded[: audio.size] = audio
    features = model.feature_extractor(padded)
    frames = min(3000, features.shape[-1] - features.shape[-1] % 2)  # the conv has stride 2
    batch = np.ascontiguousarray(features[None, :, :frames], dtype=np.float32)
    before = (
        [tokenizer.sot_prev, *tokenizer.encode(" " + prompt_text.strip())] if prompt_text else []
    )
    prompt = [*before, *tokenizer.sot_sequence, tokenizer.no_timestamps]
    result = model.model.generate(
        ctranslate2.StorageView.from_array(batch),
        [prompt],
        beam_size=1,
        max_length=min(448, 32 + int(12 * seconds)),
        return_scores=True,
        return_no_speech_prob=True,
        suppress_blank=True,
        suppress_tokens=[-1],
    )[0]
    tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
    text = tokenizer.decode(tokens).strip()
    # As faster-whisper computes it: the score is the log-probability per token.
    average_log_prob = result.scores[0] * len(tokens) / (len(tokens) + 1)
    if result.no_speech_prob > NO_SPEECH_PROB and average_log_prob < LOG_PROB:
        return ""
    if text and len(text) / len(zlib.compress(text.encode())) > COMPRESSION_RATIO:
        return None
    return text
