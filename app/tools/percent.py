"""Percentages of amounts as people say them, in the few forms the calculator reads:
"a 20% tip on 45" and "15% VAT on a 80 bill" are "20% of 45"; "45 with a 20% tip",
"increase 80 by 15%" and "15% more than 80" are "80 plus 15%" (the amount with the share
added, as a pocket calculator reads it); "take 15% off 80" is "15% off 80"; "what percent
of 60 is 15" and "15 out of 60 as a percentage" are "15 / 60 * 100". "A 20% tip on 45" had
read as no sum at all, and was answered from memory."""

from __future__ import annotations

import re

_N = r"\d[\d,]*(?:\.\d+)?"
_CUR = r"(?:[$€£¥]\s*)?"  # a currency sign before the amount
_PCT = rf"(?P<p>{_N})\s*(?:%|percent|per cent)"
_AMOUNT = rf"{_CUR}(?P<m>{_N})"
_SHARE = (
    r"(?:tip|gratuity|discount|tax|taxes|vat|sales tax|service(?: charge)?|commission|"
    r"interest|mark-?up|deposit|fee|surcharge|down payment|raise|pay rise|cut|reduction|"
    r"saving|rebate|cashback|share)"
)
_THING = (
    r"(?:bill|total|price|meal|order|purchase|loan|salary|amount|sum|check|cheque|cost|"
    r"item|invoice|fare|rent|balance)"
)
_DET = r"(?:(?:a|an|the|my|our|your|his|her|their)\s+)?"
_RULES = [
    # "20% tip on 45", "15% VAT on a bill of 80", "18% on a 62.50 meal"
    (rf"{_PCT}\s+(?:{_SHARE}\s+)?(?:on|of|for|from)\s+{_DET}(?:{_THING}\s+(?:of\s+)?)?"
     rf"{_AMOUNT}(?:\s+{_THING}\b)?", r"\g<p>% of \g<m>"),
    # "45 with a 20% tip", "80 plus 15% VAT", "80 including 20% tax"
    (rf"{_AMOUNT}\s+(?:{_THING}\s+)?(?:with|plus|\+|including|incl\.?)\s+{_DET}{_PCT}"
     rf"(?:\s+{_SHARE}\b)?", r"\g<m> plus \g<p>%"),
    # "80 minus 15%", "80 less a 15% discount", "80 after a 15% discount"
    (rf"{_AMOUNT}\s+(?:minus|-|less|after|without)\s+{_DET}{_PCT}(?:\s+{_SHARE}\b)?",
     r"\g<m> minus \g<p>%"),
    # "increase 80 by 15%", "80 increased by 15%"
    (rf"\b(?:increase|raise|add|grow)\s+{_AMOUNT}\s+by\s+{_PCT}", r"\g<m> plus \g<p>%"),
    (rf"{_AMOUNT}\s+(?:increased|raised|grown|marked up)\s+by\s+{_PCT}", r"\g<m> plus \g<p>%"),
    (rf"\b(?:reduce|decrease|lower|cut|discount)\s+{_AMOUNT}\s+by\s+{_PCT}",
     r"\g<m> minus \g<p>%"),
    (rf"{_AMOUNT}\s+(?:reduced|decreased|lowered|cut|discounted)\s+by\s+{_PCT}",
     r"\g<m> minus \g<p>%"),
    # "add 15% to 80", "take 15% off 80"
    (rf"\badd\s+{_PCT}\s+(?:{_SHARE}\s+)?to\s+{_DET}{_AMOUNT}", r"\g<m> plus \g<p>%"),
    (rf"\b(?:take|knock)\s+{_PCT}\s+off\s+{_DET}{_AMOUNT}", r"\g<p>% off \g<m>"),
    # "15% more than 80", "15% less than 80"
    (rf"{_PCT}\s+(?:more|higher|greater|bigger|larger)\s+than\s+{_AMOUNT}",
     r"\g<m> plus \g<p>%"),
    (rf"{_PCT}\s+(?:less|lower|smaller|fewer|cheaper)\s+than\s+{_AMOUNT}",
     r"\g<m> minus \g<p>%"),
    # "what percent of 60 is 15", "15 is what percent of 60", "15 out of 60 as a percentage"
    (rf"\bwhat\s+percent(?:age)?\s+of\s+{_CUR}(?P<w>{_N})\s+is\s+{_CUR}(?P<x>{_N})",
     r"what is \g<x> / \g<w> * 100"),
    (rf"{_CUR}(?P<x>{_N})\s+(?:is|as)\s+(?:a\s+)?(?:what|which)\s+percent(?:age)?\s+of\s+"
     rf"{_CUR}(?P<w>{_N})", r"what is \g<x> / \g<w> * 100"),
    (rf"{_CUR}(?P<x>{_N})\s+(?:out of|of)\s+{_CUR}(?P<w>{_N})\s+(?:as a|in)\s+percent(?:age)?",
     r"\g<x> / \g<w> * 100"),
]  # fmt: skip
_COMPILED = [(re.compile(pattern, re.IGNORECASE), repl) for pattern, repl in _RULES]


def percent_phrases(text: str) -> str:
    """`text` with its percentages of amounts in the calculator's forms (see above)."""
    for pattern, repl in _COMPILED:
        text = pattern.sub(repl, text)
    return text
