"""Documents kept with a chat and with an assistant, through the real turn manager, a real
SQLite store and real PDF reading: what a user finds when they reopen a chat or talk to an
assistant that knows their files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.bus.events import FilesRestored, Notice, UserTurn
from app.config import Settings
from app.pipeline.file_reader import read_attached
from app.storage.assistants import Assistants
from app.storage.chats import ChatStore
from tests.docs_factory import pdf
from tests.test_turns import Harness, ScriptedLLM, run

LEASE = ["Tenant: Ada Lovelace.", "The deposit is 950 euros, paid on signing."]


def lease(tmp_path: Path) -> Path:
    return pdf(tmp_path / "lease.pdf", LEASE)


def last_prompt(llm: ScriptedLLM) -> str:
    return str(llm.prompts[-1][-1]["content"])


def test_a_reopened_chat_has_its_files_again(settings: Settings, tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "data")
    llm = ScriptedLLM(["950 euros.", "Hello.", "Still 950 euros."])
    file = read_attached(lease(tmp_path))

    async def body(h: Harness) -> None:
        h.turns.attach_file(file)  # before the chat exists: kept once it starts
        h.turns.ask("How much is the deposit?")
        await h.finished(h.of(UserTurn)[0].turn_id)
        first = store.latest_chat()
        h.turns.reset()
        assert h.turns.files == []
        h.turns.ask("Hi")
        await h.finished(h.of(UserTurn)[1].turn_id)
        assert "950 euros" not in last_prompt(llm)
        h.turns.open_chat(first or 0)
        await h.until(lambda: h.of(FilesRestored), "the chat's files to come back")
        assert [f.name for f in h.of(FilesRestored)[0].files] == ["lease.pdf"]
        h.turns.ask("And when is it paid?")
        await h.finished(h.of(UserTurn)[2].turn_id)
        assert "950 euros, paid on signing" in last_prompt(llm)

    run(body, settings, llm=llm, store=store)
    # The original PDF is not needed any more: the chat keeps the text it was read as.
    (tmp_path / "lease.pdf").unlink()
    again = ChatStore(tmp_path / "data")
    [chat] = [c for c in again.chats() if c.title == "How much is the deposit?"]
    [entry] = again.chat_files(chat.id)
    doc = again.document(entry)
    assert doc is not None and [s.where for s in doc.sections] == ["page 1", "page 2"]


def test_a_question_right_after_opening_waits_for_the_files(
    settings: Settings, tmp_path: Path
) -> None:
    """Asked the moment the chat opens, before its files are indexed again: the answer is
    still given the files, not made up without them."""
    store = ChatStore(tmp_path / "data")
    chat = store.new_chat("Lease")
    store.add_chat_file(chat, read_attached(lease(tmp_path)).doc)
    llm = ScriptedLLM(["950 euros."])

    async def body(h: Harness) -> None:
        h.turns.open_chat(chat)
        h.turns.ask("How much is the deposit?")
        await h.finished(h.of(UserTurn)[0].turn_id)

    run(body, settings, llm=llm, store=store)
    assert "The deposit is 950 euros" in last_prompt(llm)


def test_a_removed_file_stays_removed(settings: Settings, tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "data")
    llm = ScriptedLLM(["Noted."])

    async def body(h: Harness) -> None:
        h.turns.attach_file(read_attached(lease(tmp_path)))
        h.turns.ask("Read this.")
        await h.finished(h.of(UserTurn)[0].turn_id)
        h.turns.detach_file("lease.pdf")

    run(body, settings, llm=llm, store=store)
    assert store.chat_files(store.latest_chat() or 0) == []


def test_a_file_whose_text_is_gone_is_named(settings: Settings, tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "data")
    chat = store.new_chat("Lease")
    entry = store.add_chat_file(chat, read_attached(lease(tmp_path)).doc)
    store.blobs.path(entry.sha256, "application/vnd.parley.document+json").write_text("{}")

    async def body(h: Harness) -> None:
        h.turns.open_chat(chat)
        await h.until(lambda: any("lease.pdf" in n.message for n in h.of(Notice)), "a notice")

    run(body, settings, llm=ScriptedLLM(["-"]), store=store)


def test_an_assistant_answers_from_its_documents_in_every_chat(
    settings: Settings, tmp_path: Path
) -> None:
    store = ChatStore(tmp_path / "data")
    assistants = Assistants(store)
    assistants.add("Landlord helper", "You answer questions about the tenancy.")
    helper = assistants.add_knowledge("Landlord helper", read_attached(lease(tmp_path)).doc)
    assert helper.revision == 2 and [f.name for f in helper.knowledge] == ["lease.pdf"]
    llm = ScriptedLLM(["950 euros.", "Ada Lovelace."])

    async def body(h: Harness) -> None:
        h.turns.use_assistant(helper)
        h.turns.ask("How much is the deposit?")
        await h.finished(h.of(UserTurn)[0].turn_id)
        assert "The deposit is 950 euros" in last_prompt(llm)
        h.turns.reset()  # a new chat with the same assistant
        h.turns.ask("Who is the tenant?")
        await h.finished(h.of(UserTurn)[1].turn_id)
        assert "Ada Lovelace" in last_prompt(llm)

    run(body, settings, llm=llm, store=store)
    # The assistant's files are its own, not the chats': no chat lists them.
    assert all(store.chat_files(c.id) == [] for c in store.chats())
    # Revision 1 (before it knew the lease) still reads as it was.
    assert assistants.revision(helper.id, 1).knowledge == ()  # type: ignore[union-attr]


def test_an_exported_assistant_takes_its_documents_along(tmp_path: Path) -> None:
    env = {"PARLEY_HISTORY_DIR": str(tmp_path / "a"), "PYTHONPATH": str(Path.cwd())}

    def parley(*args: str, history: str = "a") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "assistants", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**env, "PARLEY_HISTORY_DIR": str(tmp_path / history)},
        )

    assert parley("add", "Helper", "--instructions", "Answer about the lease.").returncode == 0
    added = parley("add-file", "Helper", str(lease(tmp_path)))
    assert added.returncode == 0 and "Helper now knows lease.pdf" in added.stdout
    missing = parley("add-file", "Helper", str(tmp_path / "nope.pdf"))
    assert missing.returncode == 2 and "nope.pdf" in missing.stderr
    shown = json.loads(parley("show", "Helper", "--json").stdout)
    assert shown["knowledge"] == ["lease.pdf"]
    out = tmp_path / "helper.json"
    assert parley("export", "Helper", "-o", str(out)).returncode == 0
    # Imported into another history, with the lease's text and no PDF.
    (tmp_path / "lease.pdf").unlink()
    assert parley("import", str(out), history="b").returncode == 0
    store = ChatStore(tmp_path / "b")
    helper = Assistants(store).get("Helper")
    [doc] = Assistants(store).knowledge(helper)
    assert "950 euros" in doc.sections[1].text
    removed = parley("remove-file", "Helper", "lease.pdf", history="b")
    assert removed.returncode == 0


def test_emptying_the_trash_keeps_documents_something_still_uses(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "data")
    lease_doc = read_attached(lease(tmp_path)).doc
    other = read_attached(pdf(tmp_path / "notes.pdf", ["Bins go out on Tuesday."])).doc
    kept_chat, gone_chat = store.new_chat("keep"), store.new_chat("gone")
    store.add_chat_file(kept_chat, lease_doc)
    gone = store.add_chat_file(gone_chat, other)
    assistants = Assistants(store)
    assistants.add("Helper", "Answer about the house.")
    assistants.add_knowledge("Helper", other)  # the same text, known by an assistant
    store.delete(gone_chat)
    assert store.purge_trash(older_than=float("inf")) == 1
    path = store.blobs.path(gone.sha256, "application/vnd.parley.document+json")
    assert path.exists()  # the assistant still knows it
    assistants.remove_knowledge("Helper", "notes.pdf")
    # ... and so does revision 2 of Helper, which old chats may go on with.
    assert store.document(gone) is not None
    [entry] = store.chat_files(kept_chat)
    assert store.document(entry) is not None
