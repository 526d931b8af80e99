"""Text out of the user's files, in sections that say where they are ("page 12", a heading,
"lines 40-72"), so an answer can say where it comes from.

Plain text, Markdown, source code, HTML, DOCX (python-docx) and PDF (pypdf). PDF and DOCX are
read in a child process with a time limit: some PDFs make pypdf loop or eat memory, a DOCX can
be a zip bomb (checked first, zip_limits.py), and that must cost the user a message, not a
frozen app. Pages with no text layer but pictures (scans) are read
with the offline OCR, when a reader is given.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from app.child import child_command
from app.knowledge.text_decode import FileError as FileError
from app.knowledge.text_decode import decode as decode
from app.knowledge.zip_limits import DOCX_LIMITS, ZipTooBig, check_zip
from app.safety.input_path import cannot_read, shown_name, special_file

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 200 * 1024 * 1024
# Plain text, Markdown, code and HTML: indexing ran about 2 s a MB here (8 MB: 15.6 s), so
# 10 MB (some 2,500 pages) stays under half a minute; 60 MB went past two minutes.
MAX_TEXT_BYTES = 10 * 1024 * 1024
PDF_SECONDS = 120.0  # per file; a 300-page text PDF takes a few seconds here
DOCX_SECONDS = 60.0  # per file; python-docx reads a 500-page document in a few seconds
DOCX = "Word document"
_RESAVE = {"PDF": "printing it to a new PDF", DOCX: "saving it again from your word processor"}
TEXT_SUFFIXES = set(
    [
        ".txt",
        ".text",
        ".log",
        ".csv",
        ".tsv",
        ".json",
        ".yaml",
        ".yml",
        ".ini",
        ".toml",
        ".cfg",
        ".conf",
        ".xml",
        ".srt",
        ".tex",
    ]
)
MARKDOWN_SUFFIXES = {".md", ".markdown", ".rst", ".org"}
CODE_SUFFIXES = set(
    [
        ".py",
        ".js",
        ".ts",
        ".tsx",
        ".jsx",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".hpp",
        ".java",
        ".kt",
        ".go",
        ".rs",
        ".rb",
        ".php",
        ".cs",
        ".swift",
        ".sh",
        ".bash",
        ".sql",
        ".lua",
        ".r",
        ".m",
        ".scala",
        ".pl",
        ".hs",
        ".ex",
        ".exs",
        ".dart",
        ".vue",
    ]
)
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
ACCEPTED = "text, Markdown, source code, HTML, DOCX and PDF files"


@dataclass(frozen=True)
class Section:
    text: str
    where: str  # "page 3", "“Installation”", "lines 10–42 (def load)"


@dataclass
class Document:
    name: str
    kind: str  # "text", "markdown", "code", "html", "docx", "pdf"
    sections: list[Section]
    sha256: str
    notices: list[str] = field(default_factory=list)  # e.g. "pages 4-6 were read by OCR"

    @property
    def chars(self) -> int:
        return sum(len(s.text) for s in self.sections)


def kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in CODE_SUFFIXES:
        return "code"
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix == ".docx":
        return "docx"
    if suffix == ".pdf":
        return "pdf"
    return None


def read_document(
    path: Path, ocr: Callable[[bytes], str] | None = None, pdf_seconds: float = PDF_SECONDS
) -> Document:
    """The file's text in sections. `ocr` reads image bytes to text (for scanned pages);
    `pdf_seconds` limits the reading of a PDF (and of a DOCX, to at most DOCX_SECONDS)."""
    name = shown_name(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise FileError(f"{path} does not exist.") from None
    except OSError as exc:
        raise FileError(cannot_read(path, exc)) from None
    if path.is_dir():
        raise FileError(f"{path} is a folder; attach the files in it.")
    special = special_file(path, "a document")
    if special:
        raise FileError(special)
    kind = kind_of(path)
    if kind is None:
        what = f"{path.suffix} files" if path.suffix else "files without a known extension"
        raise FileError(f"Parley can't read {name}: it reads {ACCEPTED}, not {what}.")
    if size > MAX_FILE_BYTES:
        raise FileError(f"{name} is {size / 1e6:.0f} MB; files up to 200 MB can be read.")
    if kind not in ("pdf", "docx") and size > MAX_TEXT_BYTES:
        raise FileError(
            f"{name} is {size / 1e6:.0f} MB of text; Parley reads text files of up to "
            f"{MAX_TEXT_BYTES // (1024 * 1024)} MB (about 2,500 pages). Attach the part you "
            "want to ask about, saved as a smaller file."
        )
    try:
        data = path.read_bytes()
    except OSError as exc:  # unreadable (permissions) though its folder lists it
        raise FileError(cannot_read(path, exc)) from None
    digest = hashlib.sha256(data).hexdigest()
    if kind == "pdf":
        sections, notices = _pdf(path, ocr, pdf_seconds)
    elif kind == "docx":
        sections, notices = _docx(path, min(pdf_seconds, DOCX_SECONDS)), []
    else:
        notices = []
        text = decode(data, name, notices)
        if kind == "html":
            sections = _html(text)
        elif kind == "markdown":
            sections = _markdown(text)
        elif kind == "code":
            sections = _code(text)
        else:
            sections = paragraphs(text)
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise FileError(f"{name} has no text Parley could read.")
    return Document(name, kind, sections, digest, notices)


# --- structure ------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$|^(.+)\n(=+|-+)\s*$", re.MULTILINE)


def _line_span(text: str, start: int, end: int) -> tuple[int, int]:
    first = text.count("\n", 0, start) + 1
    return first, first + text.count("\n", start, max(start, end - 1))


def paragraphs(text: str) -> list[Section]:
    """Blank-line separated paragraphs, each with its lines."""
    out = []
    for m in re.finditer(r"\S(?:.*?\S)??(?=\n\s*\n|\s*\Z)", text, re.DOTALL):
        a, b = _line_span(text, m.start(), m.end())
        out.append(Section(m.group(0), f"line {a}" if a == b else f"lines {a}–{b}"))
    return out


def _markdown(text: str) -> list[Section]:
    """One section per heading (the heading path: "Setup › Linux"), paragraphs inside."""
    marks = [(m.start(), m) for m in _HEADING.finditer(text)]
    if not marks:
        return paragraphs(text)
    out: list[Section] = []
    path: list[tuple[int, str]] = []
    if marks[0][0] > 0:
        out += paragraphs(text[: marks[0][0]])
    for i, (_, m) in enumerate(marks):
        level = len(m.group(1)) if m.group(1) else (1 if m.group(4).startswith("=") else 2)
        title = (m.group(2) or m.group(3)).strip()
        path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
        end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        body = text[m.end() : end].strip()
        where = "“" + " › ".join(t for _, t in path) + "”"
        for para in paragraphs(body) or [Section(title, where)]:
            out.append(Section(para.text, where))
    return out


_DEF = re.compile(
    r"^(?:export[ \t]+)?(?:async[ \t]+)?(?:pub[ \t]+)?"
    r"(?:def|class|function|func|fn|impl|interface|struct|sub|module|trait)\b"
    # Java/C#/C/C++: "public static int main(", "int main(void) {"
    r"|^(?:(?:public|private|protected|static|final|override|virtual|inline)[ \t]+)*"
    r"[A-Za-z_][\w<>\[\],*]*[ \t]+\**[A-Za-z_]\w*[ \t]*\([^;\n]*\)[ \t]*\{?[ \t]*$",
    re.MULTILINE,
)


def _code(text: str) -> list[Section]:
    """One section per top-level definition (a function, a class), named by its first line."""
    starts = [
        m.start() for m in _DEF.finditer(text) if m.start() == 0 or text[m.start() - 1] == "\n"
    ]
    if not starts:
        return _lines(text, 60)
    bounds = ([0] if starts[0] > 0 else []) + starts + [len(text)]
    out = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        chunk = text[a:b].rstrip()
        if not chunk.strip():
            continue
        first, last = _line_span(text, a, a + len(chunk))
        head = chunk.strip().splitlines()[0].strip()[:60]
        out.append(Section(chunk, f"lines {first}–{last} ({head})"))
    return out


def _lines(text: str, n: int) -> list[Section]:
    lines = text.splitlines()
    return [
        Section("\n".join(lines[i : i + n]), f"lines {i + 1}–{min(i + n, len(lines))}")
        for i in range(0, len(lines), n)
    ]


class _HtmlText(HTMLParser):
    _BLOCK = set(
        [
            "p",
            "div",
            "li",
            "tr",
            "br",
            "section",
            "article",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "pre",
            "blockquote",
            "td",
            "th",
            "table",
            "ul",
            "ol",
            "header",
            "footer",
        ]
    )
    _SKIP = {"script", "style", "noscript", "template", "head"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._heading = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n\n")
            if tag[0] == "h" and tag[1:].isdigit():
                self.parts.append("#" * int(tag[1:]) + " ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(" ".join(data.split()) if data.strip() else "")


def _html(text: str) -> list[Section]:
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    flat = re.sub(r"\n{3,}", "\n\n", "".join(parser.parts))
    return _markdown(flat)


# --- DOCX and PDF, in a child process with a time limit -----------------------------------


def _child(module: str, path: Path, seconds: float, what: str) -> bytes:
    """What the reader `module` printed for `path`; FileError when it ran past `seconds`
    (killed) or failed, naming the file and `what` it should have been."""
    try:
        run = subprocess.run(
            [*child_command(module), str(path)], capture_output=True, timeout=seconds
        )
    except subprocess.TimeoutExpired:
        raise FileError(
            f"{shown_name(path)}: reading this {what} took over {seconds:.0f} seconds, so Parley "
            f"stopped. It may be damaged; try {_RESAVE.get(what, 'saving it again')}."
        ) from None
    if run.returncode != 0:
        # The reader's own words ("startxref not found", "Package not found", libxml's
        # XML_PARSE_HUGE) go to the log; the user is told what it means and what to do.
        reason = run.stderr.decode("utf-8", "replace").strip()
        log.info("reading %s as a %s failed: %s", path, what, reason[-2000:] or "no output")
        if "encrypt" in reason.lower() or "password" in reason.lower():
            why = "it is protected with a password; save a copy without one"
        elif "MemoryError" in reason:
            resave = _RESAVE.get(what, "saving it again")
            why = (
                "reading it needed more memory than Parley allows a document (2 GB), so it "
                f"was stopped; it may be damaged or built to do that: try {resave}"
            )
        else:
            why = (
                f"it is damaged, cut short or not really a {what}; try "
                f"{_RESAVE.get(what, 'saving it again')}"
            )
        raise FileError(f"{shown_name(path)} is not a readable {what}: {why}.")
    return run.stdout


def _docx(path: Path, seconds: float) -> list[Section]:
    try:
        check_zip(path, DOCX_LIMITS)
    except ZipTooBig as exc:
        raise FileError(f"{shown_name(path)} is not a readable Word document: {exc}.") from None
    lines = []
    for level, text in json.loads(_child("app.knowledge.docx_text", path, seconds, DOCX)):
        if level:
            lines.append("#" * level + " " + text)
        elif text.strip():
            lines.append(text)
        lines.append("")
    return _markdown("\n".join(lines))


def _pdf(
    path: Path, ocr: Callable[[bytes], str] | None, seconds: float
) -> tuple[list[Section], list[str]]:
    pages = json.loads(_child("app.knowledge.pdf_pages", path, seconds, "PDF"))
    sections, scanned = [], []
    for page in pages:
        text = page["text"]
        if not text.strip() and page["images"] and ocr is not None:
            text = "\n".join(ocr(base64.b64decode(img)) for img in page["images"])
            if text.strip():
                scanned.append(page["number"])
        sections.append(Section(text, f"page {page['number']}"))
    notices = []
    if scanned:
        notices.append(
            f"{shown_name(path)}: {_pages(scanned)} had no text layer and were read by OCR."
        )
    return sections, notices


def _pages(numbers: list[int]) -> str:
    return (
        ("page " if len(numbers) == 1 else "pages ")
        + ", ".join(map(str, numbers[:10]))
        + ("…" if len(numbers) > 10 else "")
    )
