"""A long paste or a recording longer than the talk limit is read as a document, and the
user's question is found in it wherever people put it: the last sentence or sentences (in
the same paragraph as the text or not, a request as well as a question, "Thanks!" after
it), else the first; with none, Parley asks for a summary and says so."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import numpy as np
import pytest

from app.bus.events import Notice, UserTurn
from app.knowledge.long_text import SUMMARY, find_question, is_request, split_long_text
from tests.docs_factory import FILLER

# A long text with no question of its own, about 8,000 characters in one paragraph.
BODY = " ".join(FILLER + f"The boiler in block {i} was serviced on day {i + 3}." for i in range(30))


@pytest.mark.parametrize(
    ("tail", "question"),
    [
        # at the end of the same paragraph
        (" When was the boiler in block 17 serviced?", "When was the boiler in block 17 serviced?"),
        (" Summarise the above in two sentences.", "Summarise the above in two sentences."),
        (
            " Read it carefully. Then list the blocks serviced after day 20 as bullet points.",
            "Then list the blocks serviced after day 20 as bullet points.",
        ),
        (
            " Which block was serviced last? Answer in one word. Thanks in advance!",
            "Which block was serviced last? Answer in one word. Thanks in advance!",
        ),
        (
            " can you tell me which blocks were serviced twice",
            "can you tell me which blocks were serviced twice",
        ),
        (" is block 4 on the list at all", "is block 4 on the list at all"),
        (" Fasse den Text in drei Sätzen zusammen.", "Fasse den Text in drei Sätzen zusammen."),
        (" Résume ce texte pour mon chef.", "Résume ce texte pour mon chef."),
        # on its own line or paragraph
        ("\n\nTL;DR please", "TL;DR please"),
        (
            "\nWrite a short reply to this for the tenants.",
            "Write a short reply to this for the tenants.",
        ),
    ],
)
def test_the_question_is_the_end_of_a_long_message(tail: str, question: str) -> None:
    long = split_long_text(BODY + tail)
    assert long is not None and long.found in ("end", "last paragraph")
    assert long.question == question
    assert not long.document.sections[-1].text.rstrip().endswith(question[-20:])
    assert "block 29" in long.document.sections[-1].text  # the text itself is all kept


def test_a_question_asked_first_is_found_there() -> None:
    long = split_long_text("Can you check this contract for unfair terms? " + BODY)
    assert long is not None and long.found == "start"
    assert long.question == "Can you check this contract for unfair terms?"


@pytest.mark.parametrize(
    "ending",
    [
        "",  # the text alone
        " Check the pressure gauge monthly.",  # a manual's own instruction, not a request
        " Should you have questions, call the caretaker.",
        " Do not hesitate to contact the office.",
        " When the boiler stops, the caretaker restarts it.",
    ],
)
def test_a_text_that_asks_nothing_is_summarised(ending: str) -> None:
    long = split_long_text(BODY + ending)
    assert long is not None
    assert (long.question, long.found) == (SUMMARY, "")
    assert sum(len(s.text) for s in long.document.sections) >= len(BODY) - 10


@pytest.mark.parametrize(
    ("sentence", "asks"),
    [
        ("¿Cuándo se revisó la caldera?", True),
        ("Explain the schedule to a new tenant.", True),
        ("Please summarise.", True),
        ("Translate it into German", True),
        ("The boiler was serviced.", False),
        ("List of attendees", False),
        ("Name: Ada Lovelace", False),
    ],
)
def test_what_counts_as_asking(sentence: str, asks: bool) -> None:
    assert is_request(sentence) is asks


def test_short_messages_are_sent_as_they_are() -> None:
    assert split_long_text("What is the deposit?") is None
    assert find_question("What is the deposit?")[2] == "end"


def test_a_long_paste_is_answered_about_its_last_sentence(settings) -> None:
    """The model is asked the paste's last sentence, with the matching passages, and the user
    is told which words were taken as the question (old code: "The user pasted this text")."""
    from tests.test_turns import Harness, ScriptedLLM, run

    message = BODY + " In which block was the boiler serviced on day 23?"
    llm = ScriptedLLM(["Block 20."])

    async def test(h: Harness) -> None:
        h.turns.ask(message)
        await h.finished(h.of(UserTurn)[0].turn_id)
        [notice] = [n.message for n in h.of(Notice)]
        assert "found at its end" in notice and "serviced on day 23?" in notice, notice

    run(test, settings, llm=llm)
    prompt = llm.prompts[0][-1]["content"]
    assert "The user's message: In which block was the boiler serviced on day 23?" in prompt
    assert "block 20 was serviced on day 23" in prompt and len(prompt) < len(message)


@pytest.mark.models
def test_a_recording_longer_than_the_talk_limit_is_read_as_a_document(
    settings, real_models, speech, tmp_path: Path
) -> None:
    """Real speech, transcribed by the real whisper, longer than the talk limit (lowered to
    4 s here; 2 minutes by default): its transcript is read as a document, its last sentence
    is the question, and Parley says so (on the old code the whole transcript was the
    question, and nothing was said)."""
    from app.audio.capture import STT_RATE
    from app.audio.resample import resample
    from app.audio.wavfile import read_audio
    from tests.test_turns import Harness, ScriptedLLM, run

    said = (
        "The sports hall opens at seven in the morning. The pool closes at eight in the "
        "evening. The sauna is shut on Mondays. What time does the pool close?"
    )
    samples, rate = read_audio(speech(said))
    audio = resample(samples, rate, STT_RATE).astype(np.float32)
    assert audio.size / STT_RATE > 6
    settings.max_talk_seconds = 4.0
    llm = ScriptedLLM(["At eight in the evening."])

    async def test(h: Harness) -> None:
        turn = h.turns.begin_listening()
        h.turns.submit_audio(turn, audio, from_file=True)
        await h.finished(turn)
        notices = [n.message for n in h.of(Notice)]
        assert any("longer than the talk limit" in n and "pool close" in n for n in notices), (
            notices
        )

    run(test, settings, stt=real_models.stt, llm=llm)
    prompt = llm.prompts[0][-1]["content"]
    question = prompt.split("The user's message: ")[1].split("\n")[0]
    assert "pool close" in question.lower() and "sauna" not in question.lower(), question
    assert "DOCUMENT DATA" in prompt and "seven in the morning" in prompt.lower(), prompt


@pytest.mark.models
@pytest.mark.parametrize("said", ["Why is the sky blue?", "What is it? Is it here?"])
def test_a_hold_the_talk_limit_cut_is_still_a_question(
    said: str, settings, real_models, speech
) -> None:
    """A hold that the talk limit ended carries audio a little past the limit (the key's
    timer fires between microphone blocks). It is a question cut short, answered as one, not
    a recording read as a document: on the old code it was, and a transcript of stop words
    only ("Why is the") crashed the document index and left the turn hanging for good."""
    from app.audio.capture import STT_RATE
    from app.audio.resample import resample
    from app.audio.wavfile import read_audio
    from tests.test_turns import Harness, ScriptedLLM, run

    samples, rate = read_audio(speech(said))
    audio = resample(samples, rate, STT_RATE).astype(np.float32)
    settings.max_talk_seconds = audio.size / STT_RATE - 0.2
    llm = ScriptedLLM(["Here is my answer."])

    async def test(h: Harness) -> None:
        turn = h.turns.begin_listening()
        h.turns.submit_audio(turn, audio)
        await asyncio.wait_for(h.finished(turn), 60)
        notices = [n.message for n in h.of(Notice)]
        assert not any("document" in n for n in notices), notices

    run(test, settings, stt=real_models.stt, llm=llm)
    prompt = llm.prompts[0][-1]["content"]
    assert "DOCUMENT DATA" not in prompt, prompt


def test_a_text_of_stop_words_only_is_indexed_and_matches_nothing() -> None:
    """A pasted or recorded text with no word of substance ("Why is it? It is what it is.")
    can be read as a document; its index is empty, not a crash."""
    from app.knowledge.context import AttachedFile, file_context
    from app.knowledge.extract import Document, Section

    doc = Document(
        name="words",
        kind="text",
        sections=[Section(text="Why is it? It is what it is.", where="")],
        sha256="0" * 64,
    )
    ctx = file_context("What is it?", [AttachedFile.prepare(doc)], 4000)
    assert "It is what it is" in ctx.block


@pytest.mark.parametrize(
    "ask", [SUMMARY, "Give me the gist of the above.", "Fasse den Text kurz zusammen."]
)
def test_a_summary_is_made_from_the_whole_length(ask: str) -> None:
    """A summary of a text too long to send whole is given passages from its start, middle
    and end (BM25 had picked the few sharing a word with "summarise this text")."""
    from app.knowledge.context import AttachedFile, file_context

    text = " ".join(FILLER + f"Pump {i} was checked." for i in range(90))
    long = split_long_text(text)
    assert long is not None
    ctx = file_context(ask, [AttachedFile.prepare(long.document)], 4000)
    assert ctx.retrieved and len(ctx.block) < 5000
    seen = [int(n) for n in re.findall(r"Pump (\d+) was", ctx.block)]
    assert min(seen) < 10 and max(seen) > 80 and any(30 < n < 60 for n in seen), seen


@pytest.mark.parametrize(
    ("tail", "question"),
    [
        (" Which of these words comes most often?", "Which of these words comes most often?"),
        (" ¿Cuántas palabras hay aquí?", "¿Cuántas palabras hay aquí?"),
    ],
)
def test_a_question_glued_to_a_text_with_no_sentence_end_is_found(tail, question) -> None:
    """With no . ! ? or line break in its last 2,400 characters, the question went with the
    'cut' first sentence: the text was summarised instead."""
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa "
    long = split_long_text((words * 3000).strip() + tail)
    assert long is not None and (long.question, long.found) == (question, "end")
    assert long.document.sections[-1].text.rstrip().endswith("kappa")
