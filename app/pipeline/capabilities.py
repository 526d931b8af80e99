"""What Parley cannot do, said plainly when the user asks for it. The default model, asked
"Remind me to call my mother at 6 pm" or "What's the weather in Paris tomorrow?", answered
"I'll set a reminder for you…" and made up a forecast, however the system prompt put it; a
note with the question itself is what a 1.5B model follows."""

from __future__ import annotations

import re

_ASKS = {
    "set reminders, timers or alarms": re.compile(
        r"\b(?:remind me|set (?:a |an |the )?(?:reminder|timer|alarm)|start (?:a )?timer|"
        r"wake me|alarm for|timer for|erinnere mich|wecker|stelle? (?:einen )?timer|"
        r"rappelle[- ]moi|minuteur|recuérdame|recuerdame|pon (?:una )?alarma|temporizador)\b",
        re.IGNORECASE,
    ),
    "look anything up online, so I don't know today's weather, news or prices": re.compile(
        r"\b(?:(?:what's|what is|how's|how is) the weather|weather (?:today|tomorrow|tonight|"
        r"this|next|in|for|like)|will it (?:rain|snow)|forecast for|latest news|news today|"
        r"today's news|headlines|stock price|share price|exchange rate|wie wird das wetter|"
        r"wetter (?:heute|morgen|in)|quel temps|météo (?:de|à|pour|demain)|"
        r"qué tiempo hace)\b",
        re.IGNORECASE,
    ),
}


def cannot_do_note(question: str) -> str:
    """A note for the model when the user's words ask for what Parley cannot do ('' when
    they don't)."""
    wanted = [what for what, asks in _ASKS.items() if asks.search(question)]
    if not wanted:
        return ""
    return (
        f"(Note from Parley: you have no way to {' or '.join(wanted)}. Begin your reply with "
        f"“I can't {wanted[0].split(',')[0]}” and, if it helps, say what the user could use "
        "instead. Do not make anything up.)"
    )
