"""A chat written out as Markdown (to read or share) or JSON (to keep or process)."""

from __future__ import annotations

import json
import time
from typing import Any

from app.storage.chats import ChatStore, ChatSummary, StoredMessage


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def chat_dict(chat: ChatSummary, messages: list[StoredMessage]) -> dict[str, Any]:
    return {
        "id": chat.id,
        "title": chat.title,
        "created": chat.created,
        "updated": chat.updated,
        "messages": [
            {
                "id": m.id,
                "role": m.role,
                "text": m.text,
                "interrupted": m.interrupted,
                "not_spoken": bool(m.meta.get("unheard")),  # shown; the speaker was lost
                "created": m.created,
                "images": [
                    {"name": i.name, "sha256": i.sha256, "mime": i.mime, "size": i.size}
                    for i in m.images
                ],
            }
            for m in messages
        ],
    }


def to_json(store: ChatStore, chat_id: int) -> str:
    chat = store.chat(chat_id)
    if chat is None:
        raise KeyError(chat_id)
    return json.dumps(chat_dict(chat, store.messages(chat_id)), ensure_ascii=False, indent=2)


def to_markdown(store: ChatStore, chat_id: int) -> str:
    chat = store.chat(chat_id)
    if chat is None:
        raise KeyError(chat_id)
    lines = [f"# {chat.title or 'Chat'}", "", f"*{_when(chat.created)}*", ""]
    for m in store.messages(chat_id):
        who = "You" if m.role == "user" else "Parley"
        lines.append(f"**{who}** ({_when(m.created)}):")
        lines.append("")
        lines.append(m.text)
        for image in m.images:
            lines.append(f"\n*[image: {image.name}]*")
        if m.interrupted:
            lines.append("\n*(interrupted)*")
        if m.meta.get("unheard"):
            lines.append("\n*(not spoken: the speaker was unavailable)*")
        lines.append("")
    return "\n".join(lines)
