"""Sound heard while Parley speaks, judged on real audio: coughs, noise and "mhm" resume the
reply, "stop" / "wait a second" / "be quiet please" end it unanswered, real questions start a
new turn. Piper and espeak-ng say the words; coughs, noise and hums are synthesised."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from app.stt.interruption import Interruption, InterruptionJudge, meaning
from tests.turn_audio import Voices, cough, hum, noise, silence

pytestmark = pytest.mark.models

FILLERS = ["Uh-huh.", "Okay.", "Hmm.", "Yeah.", "Right.", "Oh, okay.", "I see.", "Sure."]
STOPS = [
    "Stop.",
    "Wait.",
    "Wait a second.",
    "Be quiet, please.",
    "Hold on.",
    "Stop talking.",
    "Please stop.",
    "Hang on a moment.",
    "Okay, stop.",
    "Quiet, please.",
    "Shut up.",
    "That's enough.",
]
QUESTIONS = [
    "What about tomorrow instead?",
    "Actually, can you make it shorter?",
    "How much does it cost?",
    "No, I meant the other one.",
    "Tell me more about the second option.",
    "Wait, what was the first step?",
    "Can you repeat that?",
    "Which one is cheaper?",
]


@pytest.fixture(scope="module")
def judged(real_models):
    """(kind expected, what was played, the judgement, seconds it took) for every stretch."""
    stt = real_models.stt  # the session's whisper and piper: loaded once for the suite
    voices = Voices(stt.model, real_models.tts)
    judge = InterruptionJudge(stt)
    stretches = [(Interruption.RESUME, f"cough {i}", cough(i)) for i in range(10)]
    stretches += [(Interruption.RESUME, f"noise {i}", noise(i)) for i in range(6)]
    stretches += [(Interruption.RESUME, f"hum {i}", hum(i)) for i in range(4)]
    for voice in voices.voices:
        said = [(Interruption.RESUME, t) for t in FILLERS]
        said += [(Interruption.STOP, t) for t in STOPS]
        said += [(Interruption.WORDS, t) for t in QUESTIONS]
        stretches += [(kind, f"{voice}: {t}", voices.say(voice, t)) for kind, t in said]
    rows = []
    for kind, what, audio in stretches:
        start = time.perf_counter()
        verdict = judge.judge(np.concatenate([silence(0.2), audio, silence(0.3)]))
        rows.append((kind, what, verdict, time.perf_counter() - start))
        if verdict.kind != kind:
            print(f"  {what!r}: {verdict}")
    for kind in Interruption:
        mine = [r for r in rows if r[0] == kind]
        right = sum(r[2].kind == kind for r in mine)
        print(f"{kind.value:6s}: {right}/{len(mine)} judged so")
    took = [r[3] * 1000 for r in rows]
    print(f"judging: median {statistics.median(took):.0f} ms, max {max(took):.0f} ms")
    return rows


def share(rows, kind: Interruption, prefix: str = "") -> float:
    mine = [r for r in rows if r[0] == kind and r[1].startswith(prefix)]
    return sum(r[2].kind == kind for r in mine) / len(mine)


def test_coughs_noise_and_fillers_resume_the_reply(judged) -> None:
    assert share(judged, Interruption.RESUME, "cough") == 1.0
    assert share(judged, Interruption.RESUME, "noise") == 1.0
    assert share(judged, Interruption.RESUME) >= 0.95


def test_stop_words_end_the_reply(judged) -> None:
    # Without the judge's prompt: 10-12/12 (piper: "Chet up.", "Start talking."), 9-10/12
    # (espeak: "Fold on", "High on a moment.", "I see her."). With it 12/12 and 12/12.
    assert share(judged, Interruption.STOP, "piper") >= 0.9
    assert share(judged, Interruption.STOP) >= 0.9


def test_real_questions_are_a_new_turn(judged) -> None:
    assert share(judged, Interruption.WORDS) == 1.0


def test_the_words_decide_in_many_phrasings() -> None:
    for text in ["Mm-hmm.", "Uh huh", "okay okay", "(coughing)", "[MUSIC]", "Yeah, I see."]:
        assert meaning(text) is Interruption.RESUME, text
    for text in ["Stop!", "Wait, wait.", "Okay, please be quiet.", "Hold on a sec.", "Never mind"]:
        assert meaning(text) is Interruption.STOP, text
    for text in ["Wait, what was that?", "Stop the timer", "Okay, what about Paris?"]:
        assert meaning(text) is Interruption.WORDS, text
