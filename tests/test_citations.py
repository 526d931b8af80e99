"""A citation shown or spoken names a source the model was given: right ones stay as written,
made-up ones (copied from an example) are corrected or taken out, as the reply streams, and
the screen, the voice and the saved history agree."""

from __future__ import annotations

import random

import pytest

from app.bus.events import LlmDelta, LlmSentence, Notice, TurnFinished, UserTurn
from app.knowledge.citations import CitationCheck, check_text
from app.knowledge.long_text import split_long_text
from tests.docs_factory import FILLER

LEASE = [("lease.pdf", "page 1"), ("lease.pdf", "page 2")]
PASTED = [("pasted text", "lines 12–14")]
TWO = [("minutes.md", "“Budget”"), ("rota.txt", "lines 3–9")]


@pytest.mark.parametrize(
    ("reply", "sources", "shown"),
    [
        # right: kept as written (a narrower place inside a passage's range too)
        ("It is 950 euros (lease.pdf, page 2).", LEASE, "It is 950 euros (lease.pdf, page 2)."),
        ("Tuesdays [rota.txt, lines 4–5].", TWO, "Tuesdays [rota.txt, lines 4–5]."),
        ("It was cut (minutes.md, “Budget”).", TWO, "It was cut (minutes.md, “Budget”)."),
        # a file nobody gave, one source: that source
        (
            "The fee is 40 (report.pdf, page 4).",
            PASTED,
            "The fee is 40 (pasted text, lines 12–14).",
        ),
        ("Yes (see invoice_2023.xlsx, sheet 2).", PASTED, "Yes (pasted text, lines 12–14)."),
        # a given file but a page it was not read from: the file alone
        ("It is 950 euros (lease.pdf, page 7).", LEASE, "It is 950 euros (lease.pdf)."),
        # a made-up file with several files given: it could be any, so it goes
        ("Maria chairs it (handbook.docx, section 3).", TWO, "Maria chairs it."),
        ("On page 12 (p. 12) it says so.", LEASE, "On page 12 (lease.pdf) it says so."),
    ],
)
def test_citations_name_only_sources_that_were_given(reply, sources, shown) -> None:
    assert check_text(reply, sources) == shown


@pytest.mark.parametrize(
    "reply",
    [
        "The total (incl. VAT) is 8.90 (about 9 euros).",
        "Use f(x) = 2x [approximately] and e.g. 3.5 kg.",
        "Open it (it is unlocked",  # never closed: nothing to check
    ],
)
def test_brackets_that_are_no_citation_pass_untouched(reply) -> None:
    assert check_text(reply, LEASE) == reply


def test_a_streamed_reply_reads_the_same_however_it_is_cut() -> None:
    reply = (
        "The deposit is 950 euros (report.pdf, page 4) and the rent (monthly) is 820 "
        "[lease.pdf, page 1]. See (lease.pdf, page 9) too."
    )
    whole = check_text(reply, LEASE)
    assert "report.pdf" not in whole and "page 9" not in whole and "(monthly)" in whole
    rng = random.Random(5)
    for _ in range(20):
        check, out, i = CitationCheck(LEASE), [], 0
        while i < len(reply):
            step = rng.randint(1, 6)
            out.append(check.feed(reply[i : i + step]))
            i += step
        out.append(check.flush())
        assert "".join(out) == whole
    # only an open bracket is held back: text before it is out at once
    check = CitationCheck(LEASE)
    assert check.feed("The deposit is 950 euros (rep") == "The deposit is 950 euros "


def test_a_long_paste_is_never_credited_to_a_file_that_does_not_exist(settings) -> None:
    """The reply the model gives, citing the instructions' old example, is shown, spoken and
    saved with the pasted text as its source instead (on the old code: "report.pdf")."""
    from tests.test_turns import Harness, ScriptedLLM, run

    body = " ".join(FILLER + f"Locker {i} holds the spare key {i * 7}." for i in range(60))
    message = body + " Which locker holds spare key 210?"
    llm = ScriptedLLM(["Locker 30 holds it (report.pdf, page 4). Anything else?"])
    settings.speak_replies = True

    async def test(h: Harness) -> None:
        h.turns.ask(message)
        turn = h.of(UserTurn)[0].turn_id
        done: TurnFinished = await h.finished(turn)
        await h.quiesce()
        shown = "".join(e.text for e in h.of(LlmDelta, turn))
        spoken = " ".join(e.text for e in h.of(LlmSentence, turn))
        for text in (
            shown,
            spoken,
            done.reply,
            done.spoken,
            h.turns.history.messages[-1]["content"],
        ):
            assert "report.pdf" not in text and "page 4" not in text, text
            assert "(pasted text" in text, text
        assert not [n for n in h.of(Notice) if "report.pdf" in n.message]

    run(test, settings, llm=llm)
    prompt = llm.prompts[0][-1]["content"]
    assert "report.pdf" not in prompt  # nor is the model shown a made-up example
    long = split_long_text(message)
    assert long is not None and long.question == "Which locker holds spare key 210?"
