"""End of turn on real speech: Smart Turn v3.2 with the words heard so far must hold a
0.7 s thinking pause mid-sentence and end a finished question at the first pause; without the
model silence alone decides. Piper (Parley's own neural voice) and espeak-ng say every sentence."""

from __future__ import annotations

import shutil
import statistics
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.models import smart_turn
from app.models.errors import ModelError
from app.stt.end_of_turn import EndOfTurn, TurnRules
from tests.turn_audio import FINISHED, UNFINISHED, Voices, silence

pytestmark = pytest.mark.models
ASK_S = TurnRules().ask_after_ms / 1000
PAUSE_MS = 700  # the thinking pause


@pytest.fixture(scope="module")
def heard(real_models):
    """Every sentence at its pause: (voice, kind, text, decision, seconds the decision took,
    words, audio). The decision is Parley's at the first pause; it ends the turn after
    `decision.ends_after_ms` of silence unless speech resumes."""
    stt = real_models.stt  # the session's whisper and piper: loaded once for the suite
    voices = Voices(stt.model, real_models.tts)
    eot = EndOfTurn.default()
    assert eot.has_model, "the end-of-turn model is not installed: run scripts/setup.sh"
    rows = []
    for voice in voices.voices:
        spoken = [("unfinished", *voices.paused(voice, a, b)[:1], a) for a, b in UNFINISHED]
        spoken += [("finished", voices.say(voice, q), q) for q in FINISHED]
        for kind, audio, text in spoken:
            at_pause = np.concatenate([silence(0.3), audio, silence(ASK_S)])
            start = time.perf_counter()
            words = stt.transcribe(at_pause)  # the live transcript Parley makes at a pause
            decision = eot.decide(at_pause, ASK_S * 1000, words)
            rows.append((voice, kind, text, decision, time.perf_counter() - start, words, audio))
    for voice in voices.voices:
        for kind in ("unfinished", "finished"):
            mine = [r for r in rows if r[0] == voice and r[1] == kind]
            ends = [r[3].ends_after_ms for r in mine]
            print(
                f"{voice:6s} {kind:10s}: {sum(e <= PAUSE_MS for e in ends)}/{len(mine)} end "
                f"within a {PAUSE_MS} ms pause, {sum(e <= ASK_S * 1000 for e in ends)} at the "
                f"first; median end {statistics.median(ends):.0f} ms of silence"
            )
            for r in mine:
                if (r[3].ends_after_ms <= PAUSE_MS) == (kind == "unfinished"):
                    print(f"    {r[2]!r} heard {r[5]!r}: {r[3]}")
    return rows


def share(rows, voice: str, kind: str, within_ms: float) -> float:
    """The share of `voice`'s `kind` sentences whose turn ends within `within_ms` of silence."""
    mine = [r for r in rows if r[0] == voice and r[1] == kind]
    return sum(r[3].ends_after_ms <= within_ms for r in mine) / len(mine)


def test_a_thinking_pause_mid_sentence_does_not_end_the_turn(heard) -> None:
    cut = [r[2] for r in heard if r[1] == "unfinished" and r[3].ends_after_ms <= PAUSE_MS]
    # Measured over 11 piper syntheses: 16/198 cut (8 %; the old rule 43/198), 11 of them
    # "Could you remind me to call?", a finished question; espeak 2/36 (old 5/36). Piper
    # varies run to run: up to 3 of 18 in one run.
    assert share(heard, "piper", "unfinished", PAUSE_MS) <= 3 / 18, cut
    assert share(heard, "espeak", "unfinished", PAUSE_MS) <= 2 / 18, cut


def test_a_finished_question_ends_at_the_first_pause(heard) -> None:
    held = [(r[2], r[3]) for r in heard if r[1] == "finished" and r[3].ends_after_ms > ASK_S * 1000]
    assert share(heard, "piper", "finished", ASK_S * 1000) >= 0.85, held
    # espeak's flat, robotic pitch reads as unsure more often (the issue warns of it): those
    # end after `unsure_ms`, the rest at the fallback.
    assert share(heard, "espeak", "finished", TurnRules().unsure_ms) >= 0.6, held
    model_ms = [r[3].cpu_ms for r in heard if r[3].by == "model"]
    wall_ms = [r[4] * 1000 for r in heard]
    print(
        f"model CPU per decision: median {statistics.median(model_ms):.0f} ms; words + "
        f"decision at the pause: median {statistics.median(wall_ms):.0f} ms, "
        f"max {max(wall_ms):.0f} ms"
    )


def test_a_decision_asked_late_in_the_pause_reads_the_pause_as_it_was(heard) -> None:
    """The words may come 0.6 s into the pause; the model's probability climbs with the
    silence it reads, so asked then it must still read 0.2 s (else it ends a thinking pause)."""
    eot = EndOfTurn.default()
    asked = [r for r in heard if r[3].by == "model"]
    for _, _, text, decision, _, words, audio in asked[:3]:
        late = np.concatenate([silence(0.3), audio, silence(0.8)])
        again = eot.decide(late, 800, words)
        assert again.probability == pytest.approx(decision.probability, abs=1e-4), text
        assert again.ends_after_ms == decision.ends_after_ms, text


def test_the_model_is_pinned_and_a_wrong_wheel_installs_nothing(tmp_path: Path) -> None:
    installed = smart_turn.smart_turn_model()
    assert installed is not None
    fake = tmp_path / smart_turn.WHEEL_NAME
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr(smart_turn.MEMBER, b"not the model")
    target = tmp_path / "models" / smart_turn.MODEL_FILE
    with pytest.raises(ModelError, match="not the pinned"):
        smart_turn.install_from_wheel(fake, target)
    assert not target.exists() and not list(target.parent.glob("*.partial"))


def test_without_a_usable_model_silence_alone_ends_the_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = smart_turn.smart_turn_model()
    assert installed is not None
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path))
    copy = smart_turn.smart_turn_target()
    copy.parent.mkdir(parents=True)
    shutil.copy(installed, copy)
    with copy.open("r+b") as fh:  # one flipped byte: never loaded
        fh.seek(4096)
        byte = fh.read(1)
        fh.seek(4096)
        fh.write(bytes([byte[0] ^ 0xFF]))
    eot = EndOfTurn.default()
    assert not eot.has_model
    audio = np.concatenate([silence(0.3), np.full(16000, 0.1, np.float32), silence(0.7)])
    assert not eot.decide(audio, 500).complete
    late = eot.decide(audio, 700)
    assert late.complete and late.by == "silence"
    # The words still hold a turn that dangles, until the long fallback.
    assert not eot.decide(audio, 900, "book a table for").complete
    assert eot.decide(audio, 1200, "book a table for").complete
