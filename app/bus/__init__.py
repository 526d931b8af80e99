"""The async event bus that connects the GUI, speech-to-text, the LLM and text-to-speech."""

from app.bus.bus import EventBus
from app.bus.events import Event

__all__ = ["Event", "EventBus"]
