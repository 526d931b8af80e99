"""Assistants (personas): a name, instructions, and optionally a voice and a model of their
own. Every edit is a new revision, and a chat records the revision that answered it, so
changing an assistant never changes how an old chat was answered or goes on.

The built-in "Parley" is the app's own prompt (Settings' custom instructions): when those
change, Parley gets a new revision too.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from app.storage.chats import ChatStore

BUILTIN = "Parley"
EXPORT_KIND = "parley-assistant"


class AssistantError(ValueError):
    """A clear reason for the user (a name taken, not found, a bad file)."""


@dataclass(frozen=True)
class Assistant:
    id: int
    name: str
    revision: int
    instructions: str
    voice: str = ""
    model: str = ""
    knowledge: tuple[str, ...] = ()
    builtin: bool = False

    def to_json(self) -> dict[str, Any]:
        """The portable form (no ids: they belong to one history)."""
        return {
            "kind": EXPORT_KIND,
            "version": 1,
            "name": self.name,
            "instructions": self.instructions,
            "voice": self.voice,
            "model": self.model,
            "knowledge": list(self.knowledge),
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
            tuple(json.loads(r["knowledge"] or "[]")),
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
                self._insert_revision(db, int(cur.lastrowid or 0), 1, BUILTIN, instructions)
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
        with self.store._write() as db:
            self._check_free(name)
            cur = db.execute("INSERT INTO assistants DEFAULT VALUES")
            self._insert_revision(db, int(cur.lastrowid or 0), 1, name, instructions, voice, model)
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

    def import_json(self, data: Any) -> Assistant:
        if not isinstance(data, dict) or data.get("kind") != EXPORT_KIND:
            raise AssistantError("This is not a Parley assistant file (exported with `export`).")
        fields = {k: data.get(k, "") for k in _FIELDS}
        if not all(isinstance(v, str) for v in fields.values()):
            raise AssistantError("The assistant file has a field that is not text.")
        return self.add(fields["name"], fields["instructions"], fields["voice"], fields["model"])

    # --- internals -----------------------------------------------------------------------

    def _revise(self, current: Assistant, changes: dict[str, str]) -> Assistant:
        new = asdict(current) | {k: v for k, v in changes.items() if v is not None}
        new["name"] = self._valid_name(new["name"])
        if not new["instructions"].strip():
            raise AssistantError("An assistant needs instructions.")
        if all(new[k] == getattr(current, k) for k in _FIELDS):
            return current  # nothing changed: no new revision
        with self.store._write() as db:
            if new["name"].lower() != current.name.lower():
                self._check_free(new["name"])
            revision = current.revision + 1
            self._insert_revision(
                db,
                current.id,
                revision,
                new["name"],
                new["instructions"],
                new["voice"],
                new["model"],
            )
            db.execute("UPDATE assistants SET revision = ? WHERE id = ?", (revision, current.id))
        return self.get_by_id(current.id)

    @staticmethod
    def _valid_name(name: str) -> str:
        name = " ".join(name.split())
        if not name:
            raise AssistantError("An assistant needs a name.")
        if len(name) > 60:
            raise AssistantError("An assistant's name can be at most 60 characters.")
        return name

    def _check_free(self, name: str) -> None:
        if self.store._read(self._LATEST + " AND r.name = ? COLLATE NOCASE", (name,)):
            raise AssistantError(f"There is already an assistant called {name!r}.")

    @staticmethod
    def _insert_revision(
        db: Any,
        assistant_id: int,
        revision: int,
        name: str,
        instructions: str,
        voice: str = "",
        model: str = "",
    ) -> None:
        db.execute(
            "INSERT INTO assistant_revisions "
            "(assistant_id, revision, name, instructions, voice, model, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (assistant_id, revision, name, instructions, voice, model, time.time()),
        )
