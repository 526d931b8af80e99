"""Sound heard while Parley speaks: a new turn, a request to stop, or nothing to act on.

The turn manager pauses the reply when the VAD hears the user, then hands the stretch it heard
here. Silero VAD measures how much of it is speech (a cough or a door is mostly not); whisper
transcribes it; word lists decide what the words mean:

- RESUME: no speech, too little of it, or only backchannels ("mhm", "uh-huh", "okay",
  "yeah") and whisper's marks for noise ("(coughing)", "[MUSIC]"): the reply goes on.
- STOP: only a request to stop ("stop", "wait a second", "be quiet please", "hold on"):
  the reply ends and the words are not answered.
- WORDS: anything else is a new turn.
"""

from __future__ import annotations

import enum
import inspect
import re
from dataclasses import dataclass

import numpy as np

from app.stt.base import SpeechToText

RATE = 16000

# Backchannels and hesitations: heard while someone talks, they mean "go on".
_FILLER = re.compile(
    r"(m+(h*m+)?|h+m+|mhm+|mmhmm+|uhhuh|uhuh|uh+|um+|ah+|oh+|er+m*|ha+|hah+a*|huh|"
    r"ok(ay)?|yeah|yep|yup|yes|right|sure|alright|cool|nice|wow|great|got|it|i|see|"
    r"thanks|thank|you|interesting|really|indeed|exactly)"
)
# Ways to ask a speaker to stop, matched against the whole (normalised) stretch.
_STOP = (
    r"stop|stop it|stop talking|stop there|please stop|wait|wait a (second|sec|moment|minute)|"
    r"hold on|hold on a (second|sec|moment|minute)|hang on|hang on a (second|sec|moment|minute)|"
    r"one (second|sec|moment|minute)|just a (second|sec|moment|minute)|"
    r"be quiet|quiet|keep quiet|silence|shut up|that's enough|that is enough|enough|"
    r"cancel|never ?mind|pause|no stop|no no|no"
)
_COURTESY = r"(please|parley|okay|ok|oh|hey|now|just|um|uh|sorry|actually|thanks|thank you)"
_STOP_RE = re.compile(rf"((({_COURTESY}) )*({_STOP}))( ({_STOP}|{_COURTESY}))*")
# A few words heard as a new turn are heard again with STOP_PROMPT as the text said before
# them: on its own a short command comes back as a near miss ("Chet up.", "Start talking.",
# "Fold on", "High on a moment.", "I see her."; 43/48 stop requests by piper and espeak-ng),
# with the prompt 48/48, and every filler, cough, noise and question as before (84/84). Asked
# with the prompt first, whisper heard "No." in noise and a hum.
CHECK_WORDS = 4
STOP_PROMPT = "Stop. Wait. Hold on. Hang on a moment. Be quiet. That's enough. Shut up."
# Whisper's captions for non-speech: "(coughs)", "[MUSIC]", "*sigh*".
_CAPTION = re.compile(r"\([^)]*\)|\[[^\]]*\]|\*[^*]*\*|♪")


class Interruption(enum.Enum):
    WORDS = "words"  # a new turn: the user's words are answered
    STOP = "stop"  # end the reply; the words are not answered
    RESUME = "resume"  # a cough, "mhm" or noise: the reply goes on where it paused


@dataclass(frozen=True)
class Judgement:
    kind: Interruption
    text: str  # what whisper heard ('' when the VAD found too little speech to ask it)
    speech_ms: int  # how much of the stretch Silero VAD took for speech


def speech_ms(audio: np.ndarray) -> int:
    """Milliseconds of speech Silero VAD (faster-whisper's copy) finds in 16 kHz `audio`."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = get_speech_timestamps(audio, VadOptions(min_speech_duration_ms=60))
    return int(sum(s["end"] - s["start"] for s in spans) * 1000 / RATE)


def words_of(text: str) -> str:
    """Lower-case words without captions, punctuation or hyphens ("Mm-hmm." -> "mmhmm")."""
    text = _CAPTION.sub(" ", text.casefold().replace("\u2019", "'"))
    text = re.sub(r"(?<=\w)-(?=\w)", "", text)
    return " ".join(re.findall(r"[a-z']+", text))


def meaning(text: str) -> Interruption:
    """What the words of a stretch heard during a reply ask for."""
    words = words_of(text)
    if not words or all(_FILLER.fullmatch(w) for w in words.split()):
        return Interruption.RESUME
    if _STOP_RE.fullmatch(words):
        return Interruption.STOP
    return Interruption.WORDS


class InterruptionJudge:
    """Judges a stretch of the user's sound heard while Parley speaks. Blocking (whisper):
    run it on the STT worker."""

    def __init__(self, stt: SpeechToText, min_speech_ms: int = 120) -> None:
        self.stt = stt
        # Less speech than this is a click, a breath or the tail of a cough: whisper is not
        # asked (it writes words for any sound).
        self.min_speech_ms = min_speech_ms
        # Whisper takes the prompt; an engine without one is asked plainly.
        self._prompted = "prompt" in inspect.signature(stt.transcribe).parameters

    def judge(self, audio: np.ndarray) -> Judgement:
        audio = np.asarray(audio, dtype=np.float32)
        spoken = speech_ms(audio)
        if spoken < self.min_speech_ms:
            return Judgement(Interruption.RESUME, "", spoken)
        text = self.stt.transcribe(audio)
        kind = meaning(text)
        if kind is Interruption.WORDS and self._prompted and len(text.split()) <= CHECK_WORDS:
            again = self.stt.transcribe(audio, prompt=STOP_PROMPT)  # type: ignore[call-arg]
            if meaning(again) is Interruption.STOP:
                return Judgement(Interruption.STOP, again, spoken)
        return Judgement(kind, text, spoken)
