"""What went wrong with an LLM server, in words for the user (never with the API key)."""

from __future__ import annotations

import json
from typing import Any

from app.models.errors import ModelError

ERROR_TEXT_LIMIT = 300  # characters of a server's error text worth showing


class RemoteError(ModelError):
    """The server could not be reached or refused the request; the message says which server
    and what to do, and never contains the API key. `transient`: worth trying again later (the
    server is down, busy or slow), as opposed to settings the user must fix (key, model, URL).
    `status`: the HTTP status, 0 when there was none."""

    def __init__(self, message: str, status: int = 0, transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient


def short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_TEXT_LIMIT else text[: ERROR_TEXT_LIMIT - 1] + "…"


def server_message(body: bytes) -> str:
    """The human part of an error body: OpenAI's {"error": {"message"}}, Ollama's {"error": s},
    FastAPI's {"detail": …}, vLLM's {"message": …}, or the text itself."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return short(text)
    found: Any = data
    if isinstance(data, dict):
        found = data.get("error") or data.get("detail") or data.get("message") or data
        if isinstance(found, dict):
            found = found.get("message") or found.get("msg") or found
        if isinstance(found, list) and found and isinstance(found[0], dict):
            found = found[0].get("msg") or found[0]  # FastAPI validation errors
    return short(found if isinstance(found, str) else json.dumps(found))
