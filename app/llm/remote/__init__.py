"""The remote engine: a chat model on an OpenAI-compatible server (chat.py), over HTTP
(connection.py), reading its streamed replies (stream.py), with its address checked before
connecting (address.py) and its failures in plain words (errors.py)."""

from app.llm.remote.address import address_problem
from app.llm.remote.chat import DEFAULT_CONTEXT, RemoteChat
from app.llm.remote.connection import Timeouts
from app.llm.remote.errors import RemoteError

__all__ = ["DEFAULT_CONTEXT", "RemoteChat", "RemoteError", "Timeouts", "address_problem"]
