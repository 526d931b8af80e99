"""The conversation list in the real window (offscreen): saved as you talk, found again after
a restart with its images and its context, searched with Ctrl+K, deleted with undo."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.audio.fake import FakeAudioBackend
from app.bus import EventBus
from app.bus.events import TurnFinished
from app.config import Settings
from app.pipeline.engines import Engines
from app.storage.chats import DB_NAME, ChatStore
from app.ui.app import build_window
from tests.fakes import FakeSTT, FakeTTS
from tests.image_factory import receipt
from tests.test_turns import ScriptedLLM


def fake_window(qtbot, qloop, settings: Settings, replies: list[str], token_delay: float = 0.0):
    """The real window on scripted engines (no model to load); `token_delay` makes the
    scripted model take its time."""
    settings.sound_cues = False
    bus = EventBus(qloop)
    llm = ScriptedLLM(replies, token_delay)
    engines = Engines(
        bus,
        settings,
        stt_factory=lambda _s: FakeSTT(),
        llm_factory=lambda _s, _p: llm,
        tts_factory=lambda _s: FakeTTS(0.01),
        warm_up=False,
    )
    window = started(qtbot, settings, bus, FakeAudioBackend(speed=20.0), engines, 10_000)
    window.llm = llm
    return window


def started(qtbot, settings: Settings, bus, backend, engines, timeout: int):
    """The window shown, its models loaded; `.finished` collects the turns' results."""
    window = build_window(settings, bus, backend, engines)
    qtbot.addWidget(window)
    window.show()
    window.session.start()
    qtbot.waitUntil(lambda: window.status.states.get("llm") == "ready", timeout=timeout)
    window.finished = []
    bus.subscribe(TurnFinished, window.finished.append)
    return window


def ask(qtbot, window, text: str) -> None:
    before = len(window.finished)
    window.input.setText(text)
    qtbot.keyClick(window.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.finished) > before, timeout=90_000)


def titles(window) -> list[str]:
    return [r.title for r in window.sidebar.model.rows]


def test_chats_appear_as_you_talk_and_open_again(qtbot, qloop, settings) -> None:
    w = fake_window(qtbot, qloop, settings, ["Paris.", "Ottawa.", "Canberra."])
    assert w.sidebar.isVisible() and w.sidebar.empty.isVisible()
    ask(qtbot, w, "What is the capital of France?")
    assert titles(w) == ["What is the capital of France?"]
    w.new_chat_button.click()
    ask(qtbot, w, "What is the capital of Canada?")
    assert titles(w) == ["What is the capital of Canada?", "What is the capital of France?"]

    # Clicking the older one shows its bubbles and gives the model its context.
    rect = w.sidebar.list.visualRect(w.sidebar.model.index(1))
    qtbot.mouseClick(w.sidebar.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert [b.text for b in w.chat.bubbles] == ["What is the capital of France?", "Paris."]
    ask(qtbot, w, "And of Australia?")
    assert w.llm.prompts[-1][1:] == [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And of Australia?"},
    ]
    assert titles(w)[0] == "What is the capital of France?"  # most recent activity first


def test_ctrl_k_searches_and_delete_can_be_undone(qtbot, qloop, settings) -> None:
    w = fake_window(qtbot, qloop, settings, ["Boil it for nine minutes.", "Take the tram."])
    ask(qtbot, w, "How long do I boil an egg?")
    w.new_chat()
    ask(qtbot, w, "How do I get around Lisbon?")
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is w.sidebar.search
    qtbot.keyClicks(w.sidebar.search, "nine")
    qtbot.waitUntil(lambda: titles(w) == ["How long do I boil an egg?"], timeout=2_000)
    assert "[nine]" in w.sidebar.model.rows[0].snippet
    w.sidebar.search.clear()
    qtbot.waitUntil(lambda: len(titles(w)) == 2, timeout=2_000)

    # Delete the chat that is open: it leaves the list and the screen; Undo brings it back.
    lisbon = w.sidebar.model.rows[0].id
    assert w.session.turns.chat.chat_id == lisbon
    w.sidebar.list.setCurrentIndex(w.sidebar.model.index(0))
    w.sidebar.list.setFocus()
    qtbot.keyClick(w.sidebar.list, Qt.Key.Key_Delete)
    assert titles(w) == ["How long do I boil an egg?"]
    assert w.chat.bubbles == [] and w.session.turns.chat.chat_id is None
    assert w.sidebar.undo_bar.isVisible() and "Lisbon" in w.sidebar.undo_label.text()
    qtbot.mouseClick(w.sidebar.undo_button, Qt.MouseButton.LeftButton)
    assert titles(w)[0] == "How do I get around Lisbon?" and not w.sidebar.undo_bar.isVisible()


def test_a_narrow_window_gives_the_chat_the_whole_width(qtbot, qloop, settings) -> None:
    w = fake_window(qtbot, qloop, settings, ["Hi."])
    w.resize(480, 700)
    qtbot.waitUntil(lambda: not w.sidebar.isVisible() and w.chat.width() > 400, timeout=2_000)
    assert not w.chats_button.isChecked()
    w.chats_button.click()  # the button still opens it, and it stays while narrow
    assert w.sidebar.isVisible()
    w.resize(460, 700)
    qtbot.wait(50)
    assert w.sidebar.isVisible()


def test_a_damaged_history_is_kept_aside_and_the_window_says_so(qtbot, qloop, settings) -> None:
    import os

    folder = Path(os.environ["PARLEY_HISTORY_DIR"])
    (folder / DB_NAME).write_bytes(b"not a database at all" * 100)
    w = fake_window(qtbot, qloop, settings, ["Hi."])
    errors = [b.text for b in w.chat.bubbles if b.role == "error"]
    assert any("kept, untouched" in e and ".damaged-" in e for e in errors), errors
    ask(qtbot, w, "Hello?")
    assert titles(w) == ["Hello?"]


@pytest.mark.models
def test_after_a_restart_the_chat_its_image_and_its_context_are_back(
    qtbot, qloop, settings, real_models, tmp_path
) -> None:
    """The real default models: a question with an image, the window closed, a new window;
    the chat is listed, opens with its thumbnail, and the model still knows what was said."""
    settings.sound_cues = False
    settings.speak_replies = False

    def window():
        bus = EventBus(qloop)
        engines = real_models.engines(bus, settings)
        return started(qtbot, settings, bus, FakeAudioBackend(), engines, 60_000)

    first = window()
    image = receipt(tmp_path)
    first.add_image(image, image.name)
    qtbot.waitUntil(lambda: bool(first.session.turns.attachments), timeout=20_000)
    ask(qtbot, first, "My name is Ada. What is the total on this receipt?")
    context = list(first.session.turns.history.messages)
    assert "receipt" in context[0]["content"].lower() or "total" in context[0]["content"].lower()
    first.close()

    second = window()
    assert titles(second) == ["My name is Ada. What is the total on this receipt?"]
    chat_id = second.sidebar.model.rows[0].id
    assert second.open_chat(chat_id)
    user, answer = second.chat.bubbles[:2]
    assert user.text.startswith("My name is Ada") and len(user.images) == 1
    assert not user.images[0].pixmap().isNull()
    assert answer.text.strip() == context[1]["content"]
    assert second.session.turns.history.messages == context  # what the model saw, as it saw it
    ask(qtbot, second, "What is my name?")
    assert "ada" in second.finished[-1].reply.lower()
    store = ChatStore(Path(__import__("os").environ["PARLEY_HISTORY_DIR"]))
    assert len(store.messages(chat_id)) == 4


def test_rating_a_reply_in_the_window_is_kept(qtbot, qloop, settings, monkeypatch) -> None:
    from PySide6.QtWidgets import QInputDialog

    w = fake_window(qtbot, qloop, settings, ["Paris.", "Lima."])
    ask(qtbot, w, "Capital of France?")
    ask(qtbot, w, "Capital of Peru?")
    paris, lima = [b for b in w.chat.bubbles if b.role == "assistant"]
    qtbot.waitUntil(lambda: bool(lima.feedback), timeout=2_000)
    qtbot.mouseClick(paris.feedback["up"], Qt.MouseButton.LeftButton)
    monkeypatch.setattr(
        QInputDialog, "getMultiLineText", staticmethod(lambda *a, **k: ("Lima, in Peru.", True))
    )
    qtbot.mouseClick(lima.feedback["correct"], Qt.MouseButton.LeftButton)
    store = w.session.store
    assert store.rating(paris.message_id) == (1, None)
    assert store.rating(lima.message_id) == (-1, "Lima, in Peru.")
    assert lima.feedback["down"].isChecked() and not lima.feedback["up"].isChecked()
    qtbot.mouseClick(paris.feedback["up"], Qt.MouseButton.LeftButton)  # again: no rating
    assert store.rating(paris.message_id) == (0, None)

    # Reopened, the replies still show how they were rated.
    chat = w.session.turns.chat.chat_id
    w.new_chat()
    w.open_chat(chat)
    reopened = [b for b in w.chat.bubbles if b.role == "assistant"]
    assert [b.message_id for b in reopened] == [paris.message_id, lima.message_id]
    assert reopened[1].feedback["down"].isChecked()


def test_choosing_an_assistant_starts_a_chat_it_answers(qtbot, qloop, settings) -> None:
    w = fake_window(qtbot, qloop, settings, ["Hello.", "Arr."])
    pirate = w.assistants.add("Pirate", "You are a pirate.", voice="/nowhere/pirate.onnx")
    w._fill_assistants()
    items = [w.assistant_box.itemText(i) for i in range(w.assistant_box.count())]
    assert items[:2] == ["Parley", "Pirate"] and items[-1] == "Edit assistants…"
    ask(qtbot, w, "Hi")
    first_chat = w.session.turns.chat.chat_id

    w.assistant_box.setCurrentIndex(1)
    w.assistant_box.activated.emit(1)
    assert w.session.turns.chat.chat_id is None  # a new chat, for the pirate
    notices = [b.text for b in w.chat.bubbles if b.role == "notice"]
    assert any("voice /nowhere/pirate.onnx is missing" in n for n in notices), notices
    ask(qtbot, w, "Who are you?")
    assert w.llm.prompts[-1][0]["content"] == "You are a pirate."
    assert w.session.store.chat_assistant(w.session.turns.chat.chat_id) == (pirate.id, 1)
    # The first chat, reopened, is Parley's again.
    w.open_chat(first_chat)
    assert w.assistant_box.currentText() == "Parley"
    assert w.session.turns.history.system_prompt == settings.system_prompt


def test_the_assistant_editor_saves_revisions(qtbot, qloop, settings) -> None:
    from app.ui.assistant_dialog import AssistantDialog

    w = fake_window(qtbot, qloop, settings, ["Hi."])
    dialog = AssistantDialog(w.assistants, w)
    qtbot.addWidget(dialog)
    dialog.new()
    dialog.name.setText("Chef")
    dialog.instructions.setPlainText("You are a chef.")
    saved = dialog.save()
    assert saved is not None and saved.revision == 1
    dialog.instructions.setPlainText("You are a French chef.")
    assert dialog.save().revision == 2
    dialog.new()
    dialog.name.setText("chef")
    dialog.instructions.setPlainText("Another.")
    assert dialog.save() is None and "already" in dialog.message.text()
    assert [a.name for a in w.assistants.list()] == ["Parley", "Chef"]


def test_a_long_title_is_shortened_to_the_list_not_scrolled_sideways(
    qtbot, qloop, settings
) -> None:
    w = fake_window(qtbot, qloop, settings, ["It was founded in 753 BC."])
    w.resize(1000, 700)
    # A file name cannot wrap at a space: word wrap left this row wider than the list.
    long = "What is in quarterly_report_2026_final_version_three_revised_for_the_board.pdf"
    ask(qtbot, w, long)
    qtbot.wait(50)
    view = w.sidebar.list
    rect = view.visualRect(w.sidebar.model.index(0))
    title = w.sidebar.model.rows[0].title
    assert view.viewport().width() < view.fontMetrics().horizontalAdvance(title)  # it must elide
    assert rect.width() <= view.viewport().width()
    assert view.horizontalScrollBar().maximum() == 0
    # Both lines, the title and when, fit in the row.
    assert rect.height() >= 2 * view.fontMetrics().lineSpacing()
