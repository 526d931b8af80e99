"""Documents dropped on the real window (offscreen): read off the GUI thread, shown as a
chip for the chat, the reply says where its answer came from, × stops using the file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtWidgets import QToolButton

from tests.docs_factory import pdf
from tests.test_gui_history import ask, fake_window


def drop(window, *paths: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    assert window.attach_from_mime(mime)


def test_a_dropped_pdf_is_the_chats_context(qtbot, qloop, settings, tmp_path: Path) -> None:
    w = fake_window(
        qtbot, qloop, settings, ["The deposit is 950 euros (lease.pdf, page 2).", "Ok."]
    )
    lease = pdf(tmp_path / "lease.pdf", ["Tenant: Ada.", "The deposit is 950 euros."])
    drop(w, lease)
    qtbot.waitUntil(lambda: "lease.pdf" in w.file_chips.chips, timeout=20_000)
    assert w.file_chips.isVisible()
    ask(qtbot, w, "How much is the deposit?")
    assert "950 euros" in w.llm.prompts[-1][-1]["content"]
    reply = [b for b in w.chat.bubbles if b.role == "assistant"][-1]
    assert reply.note.text() == "From: lease.pdf, page 1; lease.pdf, page 2"
    # × : the next question goes without it.
    chip = w.file_chips.chips["lease.pdf"]
    chip.findChild(QToolButton, "removeFile").click()
    assert "lease.pdf" not in w.file_chips.chips and w.session.turns.files == []
    ask(qtbot, w, "Thanks")
    assert "DOCUMENT DATA" not in w.llm.prompts[-1][-1]["content"]


def test_a_file_that_cannot_be_read_says_why(qtbot, qloop, settings, tmp_path: Path) -> None:
    w = fake_window(qtbot, qloop, settings, ["Hi."])
    broken = tmp_path / "scan.pdf"
    broken.write_bytes(b"%PDF-1.4 broken")
    drop(w, broken)
    qtbot.waitUntil(lambda: any(b.role == "error" for b in w.chat.bubbles), timeout=20_000)
    assert "not a readable PDF" in [b.text for b in w.chat.bubbles if b.role == "error"][0]
    assert not w.file_chips.chips
    assert not any("Reading scan.pdf" in b.text for b in w.chat.bubbles)


def test_a_tool_call_shows_as_a_chip_under_the_reply(qtbot, qloop, settings) -> None:
    call = '{"name": "calculator", "arguments": {"expression": "17.5 % of 2340"}}'
    w = fake_window(qtbot, qloop, settings, [call, "That is 409.5."])
    # A word problem: the model writes the call (a bare sum would be run without asking it).
    ask(qtbot, w, "A bill of 2340 has a 17.5 percent service charge. How much is the charge?")
    reply = [b for b in w.chat.bubbles if b.role == "assistant"][-1]
    assert reply.text == "That is 409.5."
    assert reply.note.objectName() == "toolChips" and reply.note.text() == "17.5 % of 2340 = 409.5"


def test_the_reasoning_is_folded_under_the_reply(qtbot, qloop, settings) -> None:
    settings.think_first = True
    w = fake_window(qtbot, qloop, settings, ["<think>Six sevens: 42.</think>It is 42."])
    ask(qtbot, w, "What is six times seven?")
    reply = [b for b in w.chat.bubbles if b.role == "assistant"][-1]
    # Visible *within the bubble*: a bubble made at the turn's end is shown by Qt a moment
    # later (a queued show), so plain isVisible() would race it.
    assert reply.text == "It is 42." and not reply.reasoning.isVisibleTo(reply)
    reply.reasoning_toggle.click()
    assert reply.reasoning.isVisibleTo(reply) and reply.reasoning.text() == "Six sevens: 42."
    # Reopened later, the reasoning is still there, still folded.
    chat = w.session.turns.chat.chat_id
    w.new_chat()
    w.open_chat(chat)
    again = [b for b in w.chat.bubbles if b.role == "assistant"][-1]
    assert again.reasoning.text() == "Six sevens: 42." and not again.reasoning.isVisibleTo(again)


def test_a_reopened_chat_shows_its_files_again(qtbot, qloop, settings, tmp_path: Path) -> None:
    w = fake_window(qtbot, qloop, settings, ["950 euros.", "Hello.", "950 euros."])
    drop(w, pdf(tmp_path / "lease.pdf", ["Tenant: Ada.", "The deposit is 950 euros."]))
    qtbot.waitUntil(lambda: "lease.pdf" in w.file_chips.chips, timeout=20_000)
    ask(qtbot, w, "How much is the deposit?")
    first = w.session.turns.chat.chat_id
    w.new_chat()
    assert not w.file_chips.chips
    ask(qtbot, w, "Hi")
    assert w.open_chat(first)
    qtbot.waitUntil(lambda: "lease.pdf" in w.file_chips.chips, timeout=20_000)
    ask(qtbot, w, "How much again?")
    assert "950 euros" in w.llm.prompts[-1][-1]["content"]


def test_the_assistant_editor_gives_an_assistant_a_document(
    qtbot, qloop, settings, tmp_path: Path
) -> None:
    from app.pipeline.file_reader import read_attached
    from app.ui.assistant_dialog import AssistantDialog

    w = fake_window(qtbot, qloop, settings, ["Hi."])
    worker = w.session.engines.worker("vision")
    dialog = AssistantDialog(w.assistants, w, lambda p: worker.submit(read_attached, p))
    qtbot.addWidget(dialog)
    dialog.new()
    assert not dialog.add_file_button.isEnabled()  # saved first, then given documents
    dialog.name.setText("Landlord")
    dialog.instructions.setPlainText("You answer about the lease.")
    assert dialog.save() is not None and dialog.add_file_button.isEnabled()
    dialog.add_file(pdf(tmp_path / "lease.pdf", ["Tenant: Ada.", "The deposit is 950 euros."]))
    qtbot.waitUntil(lambda: dialog.knowledge.count() == 1, timeout=20_000)
    assert dialog.knowledge.item(0).text().startswith("lease.pdf")
    assert "Landlord now knows lease.pdf" in dialog.message.text()
    broken = tmp_path / "scan.pdf"
    broken.write_bytes(b"%PDF-1.4 broken")
    dialog.add_file(broken)
    qtbot.waitUntil(lambda: "not a readable PDF" in dialog.message.text(), timeout=20_000)
    assert dialog.knowledge.count() == 1
    dialog.knowledge.setCurrentRow(0)
    dialog.remove_file()
    assert dialog.knowledge.count() == 0
    assert w.assistants.get("Landlord").revision == 3
