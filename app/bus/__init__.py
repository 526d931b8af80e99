"""The async event bus that connects the GUI, speech-to-text, the LLM and text-to-speech, and
the worker threads the engines run on (worker.py)."""

from app.bus.bus import EventBus
from app.bus.events import Event

__all__ = ["Event", "EventBus"]
