"""Assistants (personas): a name, instructions, and optionally a voice and a model of their
own. Every edit is a new revision, and a chat records the revision that answered it, so
changing an assistant never changes how an old chat was answered or goes on.

The built-in "Parley" is the app's own prompt (Settings' custom instructions): when those
change, Parley gets a new revision too.
"""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.knowledge.extract import Document
from app.safety.input_path import cannot_read
from app.storage import documents
from app.storage.chats import ChatStore
from app.storage.documents import StoredFile

BUILTIN = "Parley"
EXPORT_KIND = "parley-assistant"
# Instructions go to the model with every question, ahead of the conversation: longer ones
# would leave a 4096-token context (the default) no room to answer. Documents belong in
# *Knows* (add-file), which is searched, not sent whole.
MAX_INSTRUCTIONS = 8000


class AssistantError(ValueError):
    """A clear reason for the user (a name taken, not found, a bad file)."""


def read_export(path: Path) -> Any:
    """The JSON of an exported assistant file; AssistantError says, in words rather than
    the JSON library's, why it can't be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssistantError(f"{path} does not exist.") from None
    except UnicodeDecodeError:
        why = "it is not text (an exported assistant is a JSON text file)"
    except json.JSONDecodeError as exc:
        why = f"it is not valid JSON (line {exc.lineno}, column {exc.colno})"
    except OSError as exc:
        raise AssistantError(cannot_read(path, exc)) from None
    raise AssistantError(f"{path} is not a readable assistant file: {why}.")


@dataclass(frozen=True)
class Assistant:
    id: int
    name: str
    revision: int
    instructions: str
    voice: str = ""
    model: str = ""
    knowledge: tuple[StoredFile, ...] = ()  # documents it knows, given with every question
    builtin: bool = False

    def to_json(self) -> dict[str, Any]:
        """A summary (no ids: they belong to one history). Assistants.export adds the
        knowledge's text, for a file that can be imported elsewhere."""
        return {
            "kind": EXPORT_KIND,
            "version": 1,
            "name": self.name,
            "instructions": self.instructions,
            "voice": self.voice,
            "model": self.model,
            "knowledge": [f.name for f in self.knowledge],
        }


_FIELDS = ("name", "instructions", "voice", "model")


class Assistants:
    def __init__(self, store: ChatStore) -> None:
        self.store = store

    def _row(self, r: Any) -> Assistant:
        return Assistant(
            r["id"],
            r["name"],
            r["revision"],
            r["instructions"],
            r["voice"],
            r["model"],
            _knowledge(r["knowledge"]),
            bool(r["builtin"]),
        )

    _LATEST = (
        "SELECT a.id, a.builtin, r.* FROM assistants a JOIN assistant_revisions r "
        "ON r.assistant_id = a.id AND r.revision = a.revision WHERE a.removed IS NULL"
    )

    def list(self) -> list[Assistant]:
        """The built-in one first, then by name."""
        rows = self.store._read(self._LATEST + " ORDER BY a.builtin DESC, r.name COLLATE NOCASE")
        return [self._row(r) for r in rows]

    def get(self, name: str) -> Assistant:
        rows = self.store._read(self._LATEST + " AND r.name = ? COLLATE NOCASE", (name.strip(),))
        if not rows:
            known = ", ".join(a.name for a in self.list())
            raise AssistantError(f"There is no assistant called {name!r} (there are: {known}).")
        return self._row(rows[0])

    def revision(self, assistant_id: int, revision: int) -> Assistant | None:
        """That exact revision, even of an assistant since edited or removed."""
        rows = self.store._read(
            "SELECT a.id, a.builtin, r.* FROM assistants a JOIN assistant_revisions r "
            "ON r.assistant_id = a.id WHERE a.id = ? AND r.revision = ?",
            (assistant_id, revision),
        )
        return self._row(rows[0]) if rows else None

    def builtin(self, instructions: str) -> Assistant:
        """The built-in Parley with these instructions (a new revision if they changed)."""
        rows = self.store._read("SELECT id FROM assistants WHERE builtin = 1")
        if not rows:
            with self.store._write() as db:
                cur = db.execute("INSERT INTO assistants (builtin) VALUES (1)")
                self._insert_revision(
                    db, Assistant(int(cur.lastrowid or 0), BUILTIN, 1, instructions)
                )
            return self.get(BUILTIN)
        current = self.get_by_id(rows[0]["id"])
        if current.instructions != instructions:
            return self._revise(current, {"instructions": instructions})
        return current

    def get_by_id(self, assistant_id: int) -> Assistant:
        rows = self.store._read(self._LATEST + " AND a.id = ?", (assistant_id,))
        if not rows:
            raise AssistantError(f"Assistant {assistant_id} was removed.")
        return self._row(rows[0])

    def add(self, name: str, instructions: str, voice: str = "", model: str = "") -> Assistant:
        name = self._valid_name(name)
        if not instructions.strip():
            raise AssistantError(
                "An assistant needs instructions: say who it is and how to answer."
            )
        self._check_length(instructions)
        with self.store._write() as db:
            self._check_free(name)
            cur = db.execute("INSERT INTO assistants DEFAULT VALUES")
            new = Assistant(int(cur.lastrowid or 0), name, 1, instructions, voice, model)
            self._insert_revision(db, new)
        return self.get(name)

    def edit(self, which: str, /, **changes: str) -> Assistant:
        """A new revision with `changes` (name, instructions, voice, model)."""
        unknown = set(changes) - set(_FIELDS)
        if unknown:
            raise AssistantError(f"Unknown assistant fields: {', '.join(sorted(unknown))}.")
        current = self.get(which)
        if current.builtin and "name" in changes and changes["name"] != current.name:
            raise AssistantError("The built-in Parley assistant keeps its name.")
        return self._revise(current, changes)

    def remove(self, name: str) -> Assistant:
        current = self.get(name)
        if current.builtin:
            raise AssistantError("The built-in Parley assistant cannot be removed.")
        with self.store._write() as db:
            db.execute("UPDATE assistants SET removed = ? WHERE id = ?", (time.time(), current.id))
        return current

    def add_knowledge(self, which: str, doc: Document) -> Assistant:
        """A new revision that knows `doc` too (replacing a document of the same name)."""
        current = self.get(which)
        if current.builtin:
            raise AssistantError(
                "The built-in Parley keeps no files of its own: attach the file to a chat, or "
                "make an assistant that knows it."
            )
        entry = self.store.keep_document(doc)
        kept = tuple(f for f in current.knowledge if f.name != entry.name)
        return self._revise(current, {}, knowledge=(*kept, entry))

    def remove_knowledge(self, which: str, name: str) -> Assistant:
        current = self.get(which)
        kept = tuple(f for f in current.knowledge if f.name != name)
        if len(kept) == len(current.knowledge):
            known = ", ".join(f.name for f in current.knowledge) or "none"
            raise AssistantError(f"{current.name} has no file called {name!r} (it has: {known}).")
        return self._revise(current, {}, knowledge=kept)

    def knowledge(self, assistant: Assistant) -> list[Document]:
        """The assistant's documents, as stored; raises AssistantError naming any that are
        gone or damaged (the rest are not given half a knowledge without a word)."""
        docs, missing = [], []
        for entry in assistant.knowledge:
            doc = self.store.document(entry)
            if doc is None:
                missing.append(entry.name)
            else:
                docs.append(doc)
        if missing:
            raise AssistantError(
                f"{assistant.name}'s file{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} could not be read from the history folder; "
                "add it again in the assistant's settings."
            )
        return docs

    def export(self, assistant: Assistant) -> dict[str, Any]:
        """The portable form, with the text of the assistant's documents."""
        data = assistant.to_json()
        data["knowledge"] = [
            {"name": d.name, "kind": d.kind, "sections": documents.to_json(d)["sections"]}
            for d in self.knowledge(assistant)
        ]
        return data

    def import_json(self, data: Any) -> Assistant:
        if not isinstance(data, dict) or data.get("kind") != EXPORT_KIND:
            raise AssistantError("This is not a Parley assistant file (exported with `export`).")
        fields = {k: data.get(k, "") for k in _FIELDS}
        if not all(isinstance(v, str) for v in fields.values()):
            raise AssistantError("The assistant file has a field that is not text.")
        try:
            docs = [
                documents.from_json(d) for d in data.get("knowledge", []) if isinstance(d, dict)
            ]
        except ValueError as exc:
            raise AssistantError(f"The assistant file has a damaged document: {exc}.") from exc
        added = self.add(fields["name"], fields["instructions"], fields["voice"], fields["model"])
        for doc in docs:
            added = self.add_knowledge(added.name, doc)
        return added

    # --- internals -----------------------------------------------------------------------

    def _revise(
        self,
        current: Assistant,
        changes: dict[str, str],
        knowledge: tuple[StoredFile, ...] | None = None,
    ) -> Assistant:
        new = {k: getattr(current, k) for k in _FIELDS}
        new |= {k: v for k, v in changes.items() if v is not None}
        new["name"] = self._valid_name(new["name"])
        if not new["instructions"].strip():
            raise AssistantError("An assistant needs instructions.")
        if not current.builtin:  # Parley's own are Settings' custom instructions
            self._check_length(new["instructions"])
        files = current.knowledge if knowledge is None else knowledge
        if all(new[k] == getattr(current, k) for k in _FIELDS) and files == current.knowledge:
            return current  # nothing changed: no new revision
        with self.store._write() as db:
            if new["name"].lower() != current.name.lower():
                self._check_free(new["name"])
            revision = current.revision + 1
            self._insert_revision(db, replace(current, revision=revision, knowledge=files, **new))
            db.execute("UPDATE assistants SET revision = ? WHERE id = ?", (revision, current.id))
        return self.get_by_id(current.id)

    @staticmethod
    def _valid_name(name: str) -> str:
        name = " ".join(name.split())
        if not name:
            raise AssistantError("An assistant needs a name.")
        if len(name) > 60:
            raise AssistantError("An assistant's name can be at most 60 characters.")
        if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
            # A name with an escape code could not be typed back to choose the assistant.
            raise AssistantError(
                "An assistant's name can't contain control characters (like escape codes); "
                "use letters, digits, spaces and punctuation."
            )
        return name

    @staticmethod
    def _check_length(instructions: str) -> None:
        if len(instructions) > MAX_INSTRUCTIONS:
            raise AssistantError(
                f"An assistant's instructions can be at most {MAX_INSTRUCTIONS:,} characters, "
                f"not {len(instructions):,}: they go to the model with every question. Put "
                "reference material in a file the assistant knows (add-file) instead."
            )

    def _check_free(self, name: str) -> None:
        if self.store._read(self._LATEST + " AND r.name = ? COLLATE NOCASE", (name,)):
            raise AssistantError(f"There is already an assistant called {name!r}.")

    @staticmethod
    def _insert_revision(db: Any, a: Assistant) -> None:
        """Store `a` as revision `a.revision` of assistant `a.id` (`builtin` is not a column
        of a revision)."""
        files = json.dumps([f.to_json() for f in a.knowledge], ensure_ascii=False)
        db.execute(
            "INSERT INTO assistant_revisions "
            "(assistant_id, revision, name, instructions, voice, model, knowledge, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (a.id, a.revision, a.name, a.instructions, a.voice, a.model, files, time.time()),
        )


def _knowledge(column: str | None) -> tuple[StoredFile, ...]:
    try:
        entries = json.loads(column or "[]")
    except ValueError:
        return ()
    files = (StoredFile.from_json(e) for e in entries if isinstance(e, dict))
    return tuple(f for f in files if f is not None)
