"""The sentence splitter decides when the voice can start speaking, and what it says."""

from __future__ import annotations

import pytest

from app.pipeline.sentences import SentenceSplitter, speakable


def whole(text: str) -> list[str]:
    s = SentenceSplitter()
    return s.push(text) + s.flush()


def streamed(text: str, step: int = 1) -> list[str]:
    """Feed `text` in pieces of `step` characters, as a token stream would."""
    s = SentenceSplitter()
    out: list[str] = []
    for i in range(0, len(text), step):
        out += s.push(text[i : i + step])
    return out + s.flush()


REPLY = (
    "Dr. Watson arrived at noon today. He brought tools, e.g. a hammer and a saw! "
    "Pi is roughly 3.14159 in most cases. Do you want more details? "
    "Mr. J. Smith said so.\nA new line starts here\n\nAnd a new paragraph too. Tail without end"
)

EXPECTED = [
    "Dr. Watson arrived at noon today.",
    "He brought tools, e.g. a hammer and a saw!",
    "Pi is roughly 3.14159 in most cases.",
    "Do you want more details?",
    "Mr. J. Smith said so.",
    "A new line starts here",
    "And a new paragraph too.",
    "Tail without end",
]


def test_whole_text_is_split_into_the_expected_sentences() -> None:
    assert whole(REPLY) == EXPECTED


@pytest.mark.parametrize("step", [1, 2, 3, 7])
def test_streaming_gives_the_same_sentences_as_whole_text(step: int) -> None:
    assert streamed(REPLY, step) == EXPECTED


def test_a_sentence_comes_out_as_soon_as_it_is_complete() -> None:
    """TTS must be able to start on the first sentence before the rest of the reply exists."""
    s = SentenceSplitter()
    assert s.push("The weather is fine today.") == []  # no whitespace yet: could be "today.5"
    assert s.push(" It") == ["The weather is fine today."]
    assert s.push(" will rain tomorrow") == []
    assert s.flush() == ["It will rain tomorrow"]
    assert s.flush() == []  # flushing empties the buffer


@pytest.mark.parametrize(
    "text",
    [
        "Dr. Jones will see you now.",
        "Bring fruit, e.g. apples and pears.",
        "That is, i.e. the big one, fine.",
        "The value is 3.14 or about that.",
        "It costs 2.50 dollars each time.",
    ],
)
def test_abbreviations_and_decimals_do_not_end_a_sentence(text: str) -> None:
    assert streamed(text) == [text]
    assert whole(text + " Next sentence here.") == [text, "Next sentence here."]


def test_line_breaks_end_sentences_even_without_punctuation() -> None:
    text = "First item of the list\nSecond item\n\n\nThird"
    assert whole(text) == ["First item of the list", "Second item", "Third"]
    assert streamed(text) == whole(text)


def test_very_short_sentences_are_joined_with_the_next() -> None:
    assert whole("Yes. That is right, it works.") == ["Yes. That is right, it works."]


def test_flush_returns_the_unfinished_tail_once() -> None:
    s = SentenceSplitter()
    assert s.push("An answer without a full stop") == []
    assert s.flush() == ["An answer without a full stop"]
    assert s.flush() == []
    assert SentenceSplitter().flush() == []  # nothing pushed: nothing to say


def test_question_and_exclamation_marks_keep_their_closing_quotes() -> None:
    text = 'He shouted "Run for it now!" Then they ran. Really? Wow, that is so odd!'
    assert whole(text) == [
        'He shouted "Run for it now!"',
        "Then they ran.",
        "Really? Wow, that is so odd!",
    ]
    assert streamed(text) == whole(text)


def test_a_fenced_code_block_is_one_unit_and_never_read_out() -> None:
    """Code streamed line by line must not be spoken line by line."""
    reply = (
        "Here is the code you asked for:\n"
        "```python\n"
        "def add(a, b):\n"
        "    return a + b\n"
        "```\n"
        "Call it with two numbers."
    )
    for sentences in (whole(reply), streamed(reply), streamed(reply, 5)):
        spoken = [speakable(s) for s in sentences]
        assert spoken == [
            "Here is the code you asked for:",
            "(see the code on screen)",
            "Call it with two numbers.",
        ]


# --- speakable ------------------------------------------------------------------------------


def test_speakable_strips_markdown_symbols() -> None:
    text = "**Bold** and _italic_ and `inline` and # Heading > quoted"
    assert speakable(text) == "Bold and italic and inline and Heading quoted"


def test_speakable_keeps_link_text_not_the_url() -> None:
    assert speakable("See [the docs](https://example.com/x) now.") == "See the docs now."


def test_speakable_drops_list_markers() -> None:
    text = "- apples\n* pears\n1. plums\n2) figs"
    assert speakable(text) == "apples pears plums figs"


def test_speakable_replaces_code_blocks_even_unclosed() -> None:
    closed = "Try this: ```\nrm -rf build\nmake\n``` then run it."
    assert speakable(closed) == "Try this: (see the code on screen) then run it."
    unclosed = "Try this: ```bash\nrm -rf build"
    assert speakable(unclosed) == "Try this: (see the code on screen)"
    assert "rm" not in speakable(unclosed)


def test_speakable_of_only_symbols_is_empty() -> None:
    """Nothing to say must come out empty so TTS is skipped, not fed punctuation."""
    assert speakable("**  __ ``") == ""


def _stream(splitter: SentenceSplitter, text: str) -> list[str]:
    out: list[str] = []
    for ch in text:
        out += splitter.push(ch)
    return out + splitter.flush()


def test_clause_mode_starts_speaking_at_the_first_long_enough_clause() -> None:
    text = (
        "The capital of France, as you surely know, is Paris. It has museums, parks, cafes "
        "and old bridges over the river, which visitors love; 1,000 of them a day."
    )
    chunks = _stream(SentenceSplitter(clause_words=8, first_clause_words=3), text)
    assert chunks[0] == "The capital of France,"  # 4 words: enough for the first chunk
    assert "as you surely know, is Paris." in chunks  # 4 words: too short to cut later
    assert "It has museums, parks, cafes and old bridges over the river," in chunks
    assert "1,000" in chunks[-1]  # a comma inside a number is no clause mark
    assert " ".join(chunks) == text


def test_clause_mode_off_keeps_whole_sentences() -> None:
    text = "The capital of France, as you surely know, is Paris. Yes, it is."
    assert _stream(SentenceSplitter(), text) == [
        "The capital of France, as you surely know, is Paris.",
        "Yes, it is.",
    ]


def test_clause_mode_cuts_the_first_chunk_before_a_subordinate_clause() -> None:
    text = "The sky is blue because of scattering. Light bends when it meets air because why not."
    chunks = _stream(SentenceSplitter(clause_words=8, first_clause_words=3), text)
    assert chunks[:2] == ["The sky is blue", "because of scattering."]
    # Only the first chunk is cut early; later sentences keep their phrasing.
    assert chunks[2] == "Light bends when it meets air because why not."
    # Nouns joined by "and" are never split.
    joined = _stream(
        SentenceSplitter(first_clause_words=3), "Paris is the capital and largest city."
    )
    assert joined == ["Paris is the capital and largest city."]


def test_clause_mode_sends_a_finished_sentence_without_waiting_for_the_next_token() -> None:
    splitter = SentenceSplitter(clause_words=8, first_clause_words=3)
    assert splitter.push("A spider has eight") == []
    assert splitter.push(" legs.") == ["A spider has eight legs."]  # the reply may end here
    # Not after a number (3.5 may follow) nor an abbreviation.
    assert splitter.push(" It costs 3.") == []
    assert splitter.push("5 euros, says Dr.") == []
    assert splitter.push(" Smith.") == ["It costs 3.5 euros, says Dr. Smith."]


@pytest.mark.parametrize("opening", ["Sure!", "Yes.", "Certainly!", "Of course."])
def test_clause_mode_speaks_a_short_opening_word_at_once(opening: str) -> None:
    s = SentenceSplitter(clause_words=8, first_clause_words=3)
    # The voice starts on the opening word, without waiting for the next sentence.
    assert s.push(opening) == [opening]
    assert s.push(" The capital of France is Paris. It is") == ["The capital of France is Paris."]
    # Later sentences still need some length before they go out alone.
    t = SentenceSplitter(clause_words=8, first_clause_words=3)
    assert t.push("Sure! Yes. That is right. ") == ["Sure!", "Yes. That is right."]


def test_clause_mode_never_speaks_a_bare_number_first() -> None:
    s = SentenceSplitter(clause_words=8, first_clause_words=3)
    assert s.push("1. ") == [] and s.push("2") == []
    assert s.push(". Boil the water first. ") == ["1. 2. Boil the water first."]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        (
            "You should cook a simple stir-fry with vegetables and chicken.",
            "You should cook a simple stir-fry",
        ),
        (
            "The tallest mountain in the world is Mount Everest, located in Nepal.",
            "The tallest mountain in the world",
        ),
        # A long number ends the first chunk from its third word on.
        (
            "The moon is approximately 384,400 kilometers away from Earth.",
            "The moon is approximately",
        ),
        ("It costs about $1,200 a year.", "It costs about"),
        ("The Eiffel Tower is 330 metres tall.", "The Eiffel Tower is"),
        # Single digits are one token and one spoken word: no cut for them.
        ("I have 3 cats and 2 dogs at home now.", "I have 3 cats and 2 dogs"),
        # Short sentences and earlier marks are untouched.
        ("The capital of France is Paris.", "The capital of France is Paris."),
        ("To make a cup of tea, first, boil water.", "To make a cup of tea,"),
        # No phrase start in sight: cut at the fourth word after the limit at the latest.
        (
            "Quantum computers exploit superposition entanglement interference phenomena "
            "simultaneously everywhere today.",
            "Quantum computers exploit superposition entanglement interference phenomena "
            "simultaneously",
        ),
    ],
)
def test_a_long_first_sentence_is_cut_before_a_phrase(text: str, first: str) -> None:
    """first_max_words: the voice need not wait for the end of a long first sentence."""
    chunks = _stream(
        SentenceSplitter(clause_words=8, first_clause_words=3, first_max_words=5), text
    )
    assert chunks[0] == first
    assert " ".join(chunks) == text
    # Off, the first sentence stays whole unless a mark cuts it.
    off = _stream(SentenceSplitter(clause_words=8, first_clause_words=3), text)
    assert len(off[0]) >= len(first)


def test_the_first_cut_never_splits_a_code_block() -> None:
    text = "```\nprint('a b c d e f g h i j')\n``` That is the code."
    chunks = _stream(
        SentenceSplitter(clause_words=8, first_clause_words=3, first_max_words=5), text
    )
    assert chunks[0].startswith("```\nprint('a b c d e f g h i j')\n```")


@pytest.mark.parametrize(
    "reply, spoken",
    [
        (
            "The deposit is 950 euros, paid on signing. (lease.pdf, page 2)",
            "The deposit is 950 euros, paid on signing. From lease, page 2.",
        ),
        (
            "The deposit is 950 euros (lease.pdf, page 2).",
            "The deposit is 950 euros, from lease, page 2.",
        ),
        (
            "It grew 12 percent [q3_report.docx, “Costs”].",
            "It grew 12 percent, from q3 report, “Costs”.",
        ),
        ("See notes.txt for the rest.", "See notes for the rest."),
        ("Run main.py (see below).", "Run main.py (see below)."),  # code keeps its name
    ],
)
def test_a_cited_source_is_said_briefly(reply: str, spoken: str) -> None:
    """The place an answer comes from is heard as words ("from lease, page 2"), not as
    "lease dot p d f, open bracket"."""
    assert speakable(reply) == spoken
