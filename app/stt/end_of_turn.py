"""Has the user finished speaking? Smart Turn v3.2 on the utterance so far, with a silence rule.

At each pause (the VAD has heard `ask_after_ms` of silence after speech) the model reads the
last 8 s of the utterance, trailing silence included, as Whisper log-mel features and says how
likely it is that the turn is complete. A thinking pause mid-sentence ("book a table for …")
reads as incomplete, so the turn waits; a finished question reads as sure (above
`sure_threshold`) and ends at once; between 0.5 and that bar the turn ends after `unsure_ms`
of silence, longer than a thinking pause. When the model says incomplete the turn still ends
after `fallback_ms` of silence, and without the model silence alone ends it
(`silence_only_ms`). The model is asked once a pause: its probability climbs with the
trailing silence itself (piper's unfinished halves: 19/90 above 0.9 at 0.2 s, 57/90 at 0.6 s).

This is pipecat's `LocalSmartTurnAnalyzerV3._predict_endpoint` (BSD-2) in a few lines: the
audio's last 8 s, zero-padded at the front, normalised to zero mean and unit variance, then
Whisper's 80-bin log-mel (faster-whisper's extractor: identical to pipecat's vendored copy
within 3e-7), one ONNX run, a sigmoid probability, complete above 0.5.

On Parley's piper voice the model alone took 10 of 18 comma-paused sentence halves
("Please set a timer for, …") as finished at 0.2 s of silence. The words heard so far (the
live transcript Parley makes at every pause) veto that when they end on a word no sentence
ends on ("for", "the", "and", "um"): a wrong veto costs at most the fallback's wait, a wrong
cut costs the user their question.

Whisper also drops or mishears the word before a pause ("Send an email." for "Send an email
to", "The meeting with them." for "with the"), and neither prompts, the last second heard
again, word timestamps nor token probabilities told those from finished sentences. The model
did, by degree: piper's finished questions read above 0.9 at 0.2 s of silence (185 of 198),
its cut halves mostly 0.6-0.9. With the sure bar at 0.9 and a few weak last words ("about",
"some") waiting too, piper's 0.7 s pauses cut 16 of 198 turns instead of 43 (11 syntheses of
the 18 halves), espeak-ng's 2 of 36 instead of 5; 13 of the 18 left are "Could you remind me
to call?", a finished question to any listener. Finished ones still end at 0.2 s (median).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000
WINDOW_SAMPLES = 8 * RATE  # the model's input: the last 8 s


@dataclass(frozen=True)
class TurnRules:
    # Silence after speech before the model is asked: pipecat's VAD stop time for Smart Turn.
    ask_after_ms: int = 200
    # The model said "not finished": the turn ends anyway after this much silence. Above the
    # 0.7 s thinking pause it must survive; the target (slowest reply ≤ 2.5 x median)
    # keeps it low (pipecat waits 3 s, LiveKit up to 6 s).
    fallback_ms: int = 1200
    # No model: silence alone ends the turn (Home Assistant's 0.7 s; GLaDOS 0.64 s).
    silence_only_ms: int = 700
    threshold: float = 0.5  # above: probably complete (pipecat's bar)
    # Above this the turn ends at once; between `threshold` and this it ends after
    # `unsure_ms`: a 0.7 s thinking pause (the issue's) and the VAD's slack at its end.
    sure_threshold: float = 0.9
    unsure_ms: int = 900


# Words a finished sentence does not end on: articles, possessives, conjunctions, most
# prepositions, a thinking "um". Left out on purpose: words that do end sentences ("that",
# "like", "some", "about", "before", "over", "is": "what time is it", "where is it").
_DANGLING_WORDS = (
    "a an the my your our their its his and or but nor because cause whether although though "
    "if than to for of in on at from with between into onto by through toward towards during "
    "without um uh er erm"
)
DANGLING = frozenset(_DANGLING_WORDS.split())
# Words a sentence can end on but seldom does ("what is it about", "I'll have some"): even a
# sure model waits `unsure_ms` after them ("Write a short poem about, ..." read 0.95).
WEAK_ENDINGS = frozenset(["about", "some", "is", "are", "was", "were"])


def _last_word(text: str) -> str:
    words = re.findall(r"[a-z']+", text.casefold().replace("’", "'"))
    return words[-1] if words else ""


def dangles(text: str) -> bool:
    """Whether the words so far stop where a sentence cannot end ("book a table for"), or
    trail off: whisper writes "..." where the voice did not finish."""
    if text.rstrip().endswith(("...", "\u2026")):
        return True
    return _last_word(text) in DANGLING


def ends_weakly(text: str | None) -> bool:
    """Whether the words so far end on a word few finished sentences end on."""
    return text is not None and _last_word(text) in WEAK_ENDINGS


@dataclass(frozen=True)
class TurnDecision:
    complete: bool
    probability: float | None  # None: decided without the model
    # "model"; "words" (the transcript dangles); "silence" (a fallback rule); "waiting"
    by: str
    cpu_ms: float = 0.0  # the CPU time the decision cost this thread
    # The silence after which this pause ends the turn unless speech resumes (a "waiting"
    # decision is asked again; the others stand for the rest of the pause).
    ends_after_ms: float = 0.0


class EndOfTurn:
    """Decides at a pause whether the turn is over. Not thread-safe: one per audio stream,
    called from one thread (the model is small: ~70 ms of one core per decision)."""

    def __init__(self, model: Path | None, rules: TurnRules | None = None, threads: int = 1):
        self.rules = rules or TurnRules()
        self._session = None
        self._features = None
        if model is not None:
            import onnxruntime as ort
            from faster_whisper.feature_extractor import FeatureExtractor

            options = ort.SessionOptions()
            # One thread: the decision is small and STT or the LLM may be busy on the other core.
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            self._session = ort.InferenceSession(
                str(model), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._features = FeatureExtractor(feature_size=80, chunk_length=8)

    @classmethod
    def default(cls, rules: TurnRules | None = None) -> EndOfTurn:
        """With the installed Smart Turn model, or on silence alone when it is not installed."""
        from app.models.smart_turn import smart_turn_model

        return cls(smart_turn_model(), rules)

    @property
    def has_model(self) -> bool:
        return self._session is not None

    def probability(self, audio: np.ndarray) -> float:
        """How likely the turn is complete, given the utterance so far (16 kHz mono float32,
        its trailing silence included)."""
        if self._session is None or self._features is None:
            raise RuntimeError("no end-of-turn model is loaded")
        x = np.asarray(audio, dtype=np.float32)[-WINDOW_SAMPLES:]
        if x.size < WINDOW_SAMPLES:
            x = np.pad(x, (WINDOW_SAMPLES - x.size, 0))
        x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
        # padding=0: the window is exactly 8 s, so 801 frames, the last dropped: (80, 800).
        mel = self._features(x, padding=0)[np.newaxis].astype(np.float32)
        (out,) = self._session.run(None, {"input_features": mel})
        return float(np.asarray(out).reshape(-1)[0])

    def decide(self, audio: np.ndarray, silence_ms: float, text: str | None = None) -> TurnDecision:
        """The decision after `silence_ms` of silence at the end of `audio`; `text`, the words
        heard so far when known, can hold a turn the model would end."""
        rules = self.rules
        if silence_ms >= rules.fallback_ms:
            return TurnDecision(True, None, "silence", ends_after_ms=rules.fallback_ms)
        if text is not None and dangles(text):
            return TurnDecision(False, None, "words", ends_after_ms=rules.fallback_ms)
        if self._session is None:
            done = silence_ms >= rules.silence_only_ms
            by = "silence" if done else "waiting"
            return TurnDecision(done, None, by, ends_after_ms=rules.silence_only_ms)
        if silence_ms < rules.ask_after_ms:
            return TurnDecision(False, None, "waiting", ends_after_ms=rules.fallback_ms)
        # The model hears the pause as it was at `ask_after_ms`, however late it is asked
        # (the words may take 0.6 s): its probability climbs with the silence it reads.
        late = int((silence_ms - rules.ask_after_ms) * RATE / 1000)
        heard = audio[: len(audio) - late] if 0 < late < len(audio) else audio
        start = time.thread_time()
        p = self.probability(heard)
        cpu_ms = (time.thread_time() - start) * 1000
        if p > rules.sure_threshold and not ends_weakly(text):
            ends = rules.ask_after_ms
        elif p > rules.threshold:
            ends = rules.unsure_ms
        else:
            ends = rules.fallback_ms
        return TurnDecision(silence_ms >= ends, p, "model", cpu_ms, ends_after_ms=ends)
