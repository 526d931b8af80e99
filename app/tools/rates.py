"""An amount of time given as a rate: "1 euro per 20 minutes", "20 minutes per euro", "each
coin buys 15 minutes". The time to add is then the rate times what was paid ("3.50 euros":
70 minutes), not the 20 minutes the words say: read as the one duration, a parking ticket
bought at 14:50 ran out at 15:10 instead of 16:00."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.tools.dates import Found

_N = r"\d+(?:\.\d+)?"
_CURRENCY = {"€": "euro", "$": "dollar", "£": "pound"}
# Right after the duration: "20 minutes per euro", "15 minutes for each coin".
_AFTER = re.compile(
    r"\s*(?:per|for each|for every|for one|for 1|for a|for an|a|an|each)\s+(?P<what>[a-z]+)\b",
    re.IGNORECASE,
)
# Right before it: "1 euro per 20 minutes", "$2 for 30 minutes", "each coin buys 15 minutes".
_BEFORE = re.compile(
    rf"(?:(?P<n>{_N})\s*(?P<what>[a-z]+)|(?P<cur>[€$£])\s*(?P<cn>{_N}))\s+"
    r"(?:per|for|buys|gives(?: you)?|gets(?: you)?|pays for|is)\s*$|"
    r"\b(?:each|every|one|1|a|an)\s+(?P<one>[a-z]+)\s+"
    r"(?:buys|gives(?: you)?|gets(?: you)?|pays for|is worth|lasts|runs(?: for)?)\s*$",
    re.IGNORECASE,
)


_EVERY = re.compile(r"\b(?:every|each)\s*$", re.IGNORECASE)
_ORDINALS = {
    "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "fifth": 5, "5th": 5,
    "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8, "ninth": 9, "9th": 9,
    "tenth": 10, "10th": 10,
}  # fmt: skip
_ORDINAL = re.compile(r"\bthe\s+(" + "|".join(_ORDINALS) + r")\b", re.IGNORECASE)
_AMOUNT = re.compile(rf"(?P<n>{_N})\s*(?P<what>[a-z]+)|(?P<cur>[€$£])\s*(?P<cn>{_N})", re.I)


@dataclass(frozen=True)
class Rate:
    what: str  # "euro", "coin": the thing paid, singular
    per: float  # how many of it buy the duration
    start: int  # where the rate's words are (its own amount is no payment)
    end: int


def _singular(word: str) -> str:
    word = _CURRENCY.get(word, word).lower()
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def rate_of(text: str, duration: Found) -> Rate | None:
    """The rate the duration at `duration` is part of, if it is one."""
    after = _AFTER.match(text, duration.end)
    if after:
        return Rate(_singular(after["what"]), 1.0, duration.start, after.end())
    if _EVERY.search(text[: duration.start]):  # "a bus every 20 minutes": no amount to add
        return Rate("", 0.0, duration.start, duration.end)
    before = _BEFORE.search(text[: duration.start])
    if before is None:
        return None
    span = (before.start(), duration.end)
    if before["one"]:
        return Rate(_singular(before["one"]), 1.0, *span)
    if before["cur"]:
        return Rate(_CURRENCY[before["cur"]], float(before["cn"]), *span)
    return Rate(_singular(before["what"]), float(before["n"]), *span)


def paid(text: str, rate: Rate) -> float | None:
    """How many of `rate.what` the words say were paid ("3.50 euros", "€3.50", "4 coins"),
    outside the rate itself; None unless exactly one amount is given."""
    amounts = []
    for m in _AMOUNT.finditer(text):
        if rate.start <= m.start() < rate.end:
            continue
        if m["cur"] and _CURRENCY[m["cur"]] == rate.what:
            amounts.append(float(m["cn"]))
        elif m["what"] and _singular(m["what"]) == rate.what:
            amounts.append(float(m["n"]))
    return amounts[0] if len(amounts) == 1 else None


def minutes_paid_for(text: str, duration: Found) -> int | None:
    """The minutes a rate and an amount paid come to ("1 euro per 20 minutes ... 3.50
    euros": 70), or an interval's to the one asked for ("every 20 minutes from 7:00 ...
    the third": 40); None when the duration is no rate or the amount is not said once."""
    rate = rate_of(text, duration)
    if rate is None:
        return None
    if not rate.per:  # "every 20 minutes from 7:00 ... the third bus": two intervals on
        m = _ORDINAL.search(text, duration.end)
        return (_ORDINALS[m[1].lower()] - 1) * int(duration.value) if m else None
    amount = paid(text, rate)
    if amount is None:
        return None
    return round(amount / rate.per * int(duration.value))


def is_rate(text: str, duration: Found) -> bool:
    return rate_of(text, duration) is not None
