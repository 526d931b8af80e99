"""Feedback as training data: rated replies written as chat-format JSONL rows that the
Hugging Face `datasets` JSON loader reads and TRL's trainers take (docs/fine-tuning.md).

  sft  {"messages": [system, ..., user, assistant]}: replies rated up, and corrections
  dpo  {"prompt": [...], "chosen": [assistant], "rejected": [assistant]}: corrections
       (chosen = what the user wrote, rejected = what Parley said)
  kto  {"prompt": [...], "completion": [assistant], "label": bool}: thumbs up and down
       (a correction gives a True row for itself and a False one for the original)

Each row's prompt is the exact one the reply was made from: the system prompt and messages
the model was given, as it was given them (see ChatLog.reply_meta). Nothing else goes in:
no settings, no API key (a key that appears in a message is masked), no hidden reasoning.
Interrupted replies count only with a correction (what was heard is not a whole answer).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.llm.base import Message
from app.safety.output_path import write_output
from app.storage.chats import ChatStore

Format = Literal["sft", "dpo", "kto"]
FORMATS: tuple[Format, ...] = ("sft", "dpo", "kto")


@dataclass
class Rated:
    prompt: list[Message]
    reply: str
    rating: int
    correction: str | None
    interrupted: bool


@dataclass
class ExportResult:
    rows: int
    rated: int
    skipped: int  # rated replies whose prompt could not be rebuilt (saved before it was kept)


def _rated(store: ChatStore, secrets: tuple[str, ...]) -> Iterator[Rated | None]:
    def clean(text: str) -> str:
        for secret in secrets:
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    rows = store._read(
        "SELECT m.id, m.text, m.interrupted, m.meta, r.rating, r.correction FROM ratings r "
        "JOIN messages m ON m.id = r.message_id JOIN chats c ON c.id = m.chat_id "
        "WHERE c.deleted IS NULL ORDER BY m.id"
    )
    for row in rows:
        meta = json.loads(row["meta"]) if row["meta"] else {}
        system = store.system_prompt(meta.get("system", "")) if meta else None
        ids = meta.get("context") or []
        if system is None or not ids or None in ids:
            yield None
            continue
        marks = ",".join("?" * len(ids))
        found = {
            r["id"]: r
            for r in store._read(
                f"SELECT id, role, text, context FROM messages WHERE id IN ({marks})", ids
            )
        }
        if len(found) != len(ids):
            yield None
            continue
        prompt: list[Message] = [{"role": "system", "content": clean(system)}]
        for i in ids:
            m = found[i]
            text = m["text"] if m["context"] is None else m["context"]
            prompt.append({"role": m["role"], "content": clean(text)})
        for key in ("cut", "last"):  # the newest message as the model really got it
            if key in meta:
                prompt[-1] = {"role": "user", "content": clean(meta[key])}
        yield Rated(
            prompt,
            clean(row["text"]),
            int(row["rating"]),
            clean(row["correction"]) if row["correction"] else None,
            bool(row["interrupted"]),
        )


def _rows(item: Rated, fmt: Format) -> list[dict[str, Any]]:
    def said(text: str) -> list[Message]:
        return [{"role": "assistant", "content": text}]

    whole = not item.interrupted
    if fmt == "sft":
        chosen = item.correction or (item.reply if item.rating > 0 and whole else None)
        return [{"messages": item.prompt + said(chosen)}] if chosen else []
    if fmt == "dpo":
        if not item.correction:
            return []
        return [
            {"prompt": item.prompt, "chosen": said(item.correction), "rejected": said(item.reply)}
        ]
    out: list[dict[str, Any]] = []
    if item.correction:
        out.append({"prompt": item.prompt, "completion": said(item.correction), "label": True})
        out.append({"prompt": item.prompt, "completion": said(item.reply), "label": False})
    elif item.rating and whole:
        out.append(
            {"prompt": item.prompt, "completion": said(item.reply), "label": item.rating > 0}
        )
    return out


def export_dataset(
    store: ChatStore, out: Path, fmt: Format, secrets: tuple[str, ...] = ()
) -> ExportResult:
    """Write the rows to `out` (app.safety.output_path: a regular file through a temporary
    file, so a failed write leaves no half file under that name; a device or FIFO written
    into)."""
    rated = skipped = 0
    lines: list[str] = []
    for item in _rated(store, secrets):
        rated += 1
        if item is None:
            skipped += 1
            continue
        lines += [json.dumps(row, ensure_ascii=False) for row in _rows(item, fmt)]
    write_output(out, "".join(line + "\n" for line in lines).encode("utf-8"))
    return ExportResult(len(lines), rated, skipped)
