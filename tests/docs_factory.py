"""Documents for the files tests, made here: PDFs (fpdf2), DOCX (python-docx), and a corpus
of generated facts among look-alike distractors, with the questions that find them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

ROOMS = ["blue", "green", "amber", "silver", "north", "garden", "library", "tower", "harbour",
         "cellar", "studio", "orchard", "east", "west", "south", "attic", "lobby", "gallery",
         "chapel", "kitchen", "annex", "vault", "loft", "terrace"]  # fmt: skip
THINGS = ["access code", "wifi password", "meeting time", "floor number", "phone extension"]
FILLER = (
    "The committee reviewed the quarterly figures and agreed that the schedule would stay as "
    "planned. Several members asked for clearer summaries in future reports, and the chair "
    "promised a shorter format. Travel costs were discussed at length without a decision. "
)


def pdf(path: Path, pages: list[str]) -> Path:
    from fpdf import FPDF

    doc = FPDF()
    doc.set_font("Helvetica", size=11)
    for text in pages:
        doc.add_page()
        doc.multi_cell(0, 5, text)
    doc.output(str(path))
    return path


def scanned_pdf(path: Path, image: Path) -> Path:
    """One page that is only a picture (no text layer), as a scanner makes them."""
    from fpdf import FPDF

    doc = FPDF()
    doc.add_page()
    doc.image(str(image), x=10, y=10, w=180)
    doc.output(str(path))
    return path


def docx(path: Path, blocks: list[tuple[str, str]]) -> Path:
    """[("h1", "Title"), ("p", "text"), ...]"""
    import docx as python_docx

    document = python_docx.Document()
    for kind, text in blocks:
        if kind.startswith("h"):
            document.add_heading(text, level=int(kind[1:]))
        else:
            document.add_paragraph(text)
    document.save(str(path))
    return path


@dataclass(frozen=True)
class Fact:
    file: str
    where_hint: str  # text of the sentence, to find its chunk
    question: str
    answer: str


def fact_corpus(folder: Path, n_files: int = 5, per_file: int = 24, seed: int = 3) -> list[Fact]:
    """Markdown files of sections, each stating one fact about a room among filler; questions
    name the room and the thing, so every fact has look-alikes (same room, other thing; same
    thing, other room) in other sections."""
    rng = random.Random(seed)
    facts: list[Fact] = []
    pairs = [(r, t) for r in ROOMS for t in THINGS]
    rng.shuffle(pairs)
    k = 0
    for f in range(n_files):
        name = f"handbook-{f + 1}.md"
        lines = [f"# Building handbook {f + 1}", ""]
        for _ in range(per_file):
            room, thing = pairs[k]  # every question has one answer
            k += 1
            answer = str(rng.randint(1000, 9999))
            sentence = f"The {thing} for the {room} room is {answer}."
            lines += [f"## Section {len(facts) + 1}", "", FILLER * rng.randint(1, 3), sentence,
                      FILLER, ""]  # fmt: skip
            facts.append(Fact(name, sentence, f"What is the {thing} for the {room} room?", answer))
        (folder / name).write_text("\n".join(lines))
    return facts
