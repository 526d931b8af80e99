"""A clock question in another language, in the English words the clock cues read: "Das
Meeting beginnt um 9:35 und dauert 2 Stunden 50 Minuten. Wann endet es?" -> "... starts at
9:35 and lasts 2 hours 50 minutes. when does it end?"; "Le film commence à 20h45 et dure
2h10. À quelle heure finit-il ?" -> "... starts at 20:45 and lasts 2 hours 10 minutes. what
time does it end?". Before, neither got a calendar call: the model, writing the call itself,
added 2 h 50 to "2:50" ("endet um 5:40") or answered without a tool ("22h15" for 22:55).

Only the cues read this text; the model still gets the user's own words. A word is put into
English only where the language uses it for time (units after a number, a clock time after
"um"/"à"/"a las"), so other sentences keep their meaning to the cues."""

from __future__ import annotations

import re

_N = r"\d+(?:[.,]\d+)?"
# Units after a number, per language (singular and plural).
_UNITS = {
    "de": {"stunden": "hours", "stunde": "hour", "std": "hours", "minuten": "minutes",
           "minute": "minute", "min": "minutes", "tage": "days", "tagen": "days", "tag": "day",
           "wochen": "weeks", "woche": "week"},
    "fr": {"heures": "hours", "heure": "hour", "minutes": "minutes", "minute": "minute",
           "min": "minutes", "jours": "days", "jour": "day", "semaines": "weeks",
           "semaine": "week"},
    "es": {"horas": "hours", "hora": "hour", "minutos": "minutes", "minuto": "minute",
           "min": "minutes", "días": "days", "dias": "days", "día": "day", "semanas": "weeks",
           "semana": "week"},
    "it": {"ore": "hours", "ora": "hour", "minuti": "minutes", "minuto": "minute",
           "min": "minutes", "giorni": "days", "giorno": "day", "settimane": "weeks",
           "settimana": "week"},
    "pt": {"horas": "hours", "hora": "hour", "minutos": "minutes", "minuto": "minute",
           "min": "minutes", "dias": "days", "dia": "day", "semanas": "weeks", "semana": "week"},
    "nl": {"uur": "hours", "uren": "hours", "minuten": "minutes", "minuut": "minute",
           "min": "minutes", "dagen": "days", "dag": "day", "weken": "weeks", "week": "week"},
}  # fmt: skip
# One hour, half an hour and an hour and a half, which text2num leaves as words.
_SPOKEN_AMOUNTS = {
    "de": {"eine stunde": "1 hour", "einer stunde": "1 hour", "eine halbe stunde": "30 minutes",
           "einer halben stunde": "30 minutes", "halbe stunde": "30 minutes",
           "anderthalb stunden": "90 minutes", "eineinhalb stunden": "90 minutes",
           "eine viertelstunde": "15 minutes", "viertelstunde": "15 minutes",
           "eine dreiviertelstunde": "45 minutes", "dreiviertelstunde": "45 minutes"},
    "fr": {"une heure et demie": "90 minutes", "une heure": "1 hour",
           "une demi-heure": "30 minutes", "demi-heure": "30 minutes",
           "un quart d'heure": "15 minutes", "trois quarts d'heure": "45 minutes",
           "et demie": "and a half"},
    "es": {"una hora y media": "90 minutes", "una hora": "1 hour", "media hora": "30 minutes",
           "un cuarto de hora": "15 minutes", "tres cuartos de hora": "45 minutes",
           "y media": "and a half"},
    "it": {"un'ora e mezza": "90 minutes", "un'ora": "1 hour", "un ora": "1 hour",
           "mezz'ora": "30 minutes", "mezzora": "30 minutes", "un quarto d'ora": "15 minutes",
           "tre quarti d'ora": "45 minutes", "e mezza": "and a half"},
    "pt": {"uma hora e meia": "90 minutes", "uma hora": "1 hour", "meia hora": "30 minutes",
           "um quarto de hora": "15 minutes", "e meia": "and a half"},
    "nl": {"anderhalf uur": "90 minutes", "een uur": "1 hour", "een half uur": "30 minutes",
           "half uur": "30 minutes", "een kwartier": "15 minutes", "kwartier": "15 minutes",
           "drie kwartier": "45 minutes"},
}  # fmt: skip
# The word that puts a clock time after it ("um 9:35", "à 20h45", "a las 16:40", "om 10 uur").
_AT = {
    "de": r"um|ab|bis|gegen",
    "fr": r"à|a|dès|jusqu'à|vers",
    "es": r"a las|a la|desde las|hasta las",
    "it": r"alle|all'|dalle|fino alle",
    "pt": r"às|as|a partir das|até às|até as",
    "nl": r"om|vanaf|tot",
}
# Question and verb words of a clock question, anywhere in the sentence.
_WORDS = {
    "de": {"wann": "when", "wie lange": "how long", "um wie viel uhr": "what time",
           "wie spät": "what time", "endet": "ends", "enden": "end", "zu ende": "over",
           "fertig": "done", "vorbei": "over", "kommt": "arrives", "ankommen": "arrive", "an": "",
           "beginnt": "starts", "fängt": "starts", "startet": "starts", "dauert": "lasts",
           "fährt": "leaves", "abfahren": "leave", "losgehen": "leave", "losfahren": "leave",
           "los": "leave", "muss ich": "must I", "müssen wir": "must we",
           "sollte ich": "should I", "später": "later", "danach": "after", "und": "and",
           "nach": "after", "vor": "before", "in": "in"},
    "fr": {"quand": "when", "combien de temps": "how long", "à quelle heure": "what time",
           "quelle heure": "what time", "finit": "ends", "finira": "ends", "termine": "ends",
           "se termine": "ends", "terminera": "ends", "arrive": "arrives", "arrivera": "arrives",
           "commence": "starts", "débute": "starts", "dure": "lasts", "part": "leaves",
           "partir": "leave", "dois-je": "must I", "devons-nous": "must we", "plus tard": "later",
           "après": "after", "avant": "before", "et": "and", "dans": "in"},
    "es": {"cuándo": "when", "cuánto tiempo": "how long", "cuando": "when",
           "a qué hora": "what time", "qué hora": "what time", "termina": "ends",
           "terminará": "ends", "acaba": "ends", "llega": "arrives", "llegará": "arrives",
           "empieza": "starts", "comienza": "starts", "dura": "lasts", "sale": "leaves",
           "salir": "leave", "debo": "must I", "más tarde": "later", "después": "after",
           "antes": "before", "y": "and", "dentro de": "in", "en": "in"},
    "it": {"quando": "when", "quanto tempo": "how long", "a che ora": "what time",
           "che ora": "what time", "finisce": "ends", "termina": "ends", "arriva": "arrives",
           "inizia": "starts", "comincia": "starts", "dura": "lasts", "parte": "leaves",
           "più tardi": "later", "dopo": "after", "prima": "before", "e": "and", "tra": "in",
           "fra": "in"},
    "pt": {"quando": "when", "quanto tempo": "how long", "a que horas": "what time",
           "que horas": "what time", "termina": "ends", "acaba": "ends", "chega": "arrives",
           "começa": "starts", "inicia": "starts", "dura": "lasts", "sai": "leaves",
           "parte": "leaves", "mais tarde": "later", "depois": "after", "antes": "before",
           "e": "and", "daqui a": "in", "em": "in"},
    "nl": {"wanneer": "when", "hoe lang": "how long", "hoe laat": "what time", "eindigt": "ends",
           "afgelopen": "over", "klaar": "done", "komt": "arrives", "aan": "", "begint": "starts",
           "start": "starts", "duurt": "lasts", "vertrekt": "leaves", "vertrekken": "leave",
           "moet ik": "must I", "later": "later", "na": "after", "voor": "before", "en": "and",
           "over": "in"},
}  # fmt: skip
# "20h45" is a clock time after "à", a duration elsewhere ("dure 2h10"); "20h" alike.
_H_FORM = re.compile(r"\b(?P<h>\d{1,2})\s?h\s?(?P<m>[0-5]\d)?\b", re.IGNORECASE)
_CLOCKISH = re.compile(r"\d{1,2}\s?[:h.]\s?\d{2}\b|\d\s*(?:h|uhr|uur)\b", re.IGNORECASE)


def _words(text: str, table: dict[str, str]) -> str:
    """Each word of `table` in English, in one pass (so "afgelopen" -> "over" is not then
    read as the Dutch "over", "in"); longer phrases first ("à quelle heure" before "heure")."""
    keys = sorted(table, key=len, reverse=True)
    pattern = "|".join(re.escape(k) for k in keys)
    return re.sub(
        rf"(?<!\w)(?:{pattern})(?!\w)", lambda m: f" {table[m[0].casefold()]} ", text, flags=re.I
    )


# text2num has already made some number words digits ("trois quarts" -> "3 quarts").
_NUMBER_WORDS = {"1": r"une|un|uno|una|um|uma|een|eine|einer|un'", "3": r"trois|tres|tre|drie|drei"}


def _amounts(lang: str) -> dict[str, str]:
    """_SPOKEN_AMOUNTS[lang], with each leading number word also as its digit."""
    table = dict(_SPOKEN_AMOUNTS[lang])
    for words, english in _SPOKEN_AMOUNTS[lang].items():
        for digit, names in _NUMBER_WORDS.items():
            first, _, rest = words.partition(" ")
            if rest and re.fullmatch(names, first):
                table[f"{digit} {rest}"] = english
    return table


# Spoken clock times: "Viertel nach 8" is 8:15, "halb 9" 8:30 (half to nine), "10 vor 6" 5:50;
# Dutch "kwart over 8", "half 9" (8:30), "10 voor 6". (Digits: text2num has run.)
_SPOKEN_TIMES = {
    "de": (r"viertel nach", r"viertel vor", r"halb", r"nach", r"vor"),
    "nl": (r"kwart over", r"kwart voor", r"half", r"over", r"voor"),
}


def _spoken_times(text: str, lang: str) -> str:
    if lang not in _SPOKEN_TIMES:
        return text
    past_q, to_q, half, past, to = _SPOKEN_TIMES[lang]
    # (minutes past the hour, hours to add) of each form; H the hour said, M the minutes said
    forms = (
        (rf"{past_q}\s+(?P<h>\d{{1,2}})", lambda m: (int(m["h"]), 15)),
        (rf"{to_q}\s+(?P<h>\d{{1,2}})", lambda m: (int(m["h"]) - 1, 45)),
        (rf"{half}\s+(?P<h>\d{{1,2}})", lambda m: (int(m["h"]) - 1, 30)),
        (rf"(?P<m>[1-5]?\d)\s+{past}\s+(?P<h>\d{{1,2}})", lambda m: (int(m["h"]), int(m["m"]))),
        (
            rf"(?P<m>[1-5]?\d)\s+{to}\s+(?P<h>\d{{1,2}})",
            lambda m: (int(m["h"]) - 1, 60 - int(m["m"])),
        ),
    )
    for form, clock in forms:
        # Only after the word that puts a time there ("um", "om"): "2 nach 3 Tagen" is none.
        pattern = rf"\b(?P<at>um|om|ab|tot|bis)\s+{form}\b"

        def said(m: re.Match[str], clock=clock) -> str:  # noqa: ANN001
            hour, minutes = clock(m)
            return f"{m['at']} {hour % 24}:{minutes:02d}"

        text = re.sub(pattern, said, text, flags=re.IGNORECASE)
    return text


def clock_in_english(text: str, lang: str) -> str:
    """`text` (numbers already digits) with the clock words of `lang` in English; as it was
    for English, for a language with no table, or when there is no clock time in it."""
    text = _spoken_times(text, lang)
    if lang not in _UNITS or not _CLOCKISH.search(text):
        return text
    at = rf"(?:{_AT[lang]})"
    # "um 14 Uhr 30", "om 10 uur", "à 20h45", "à 20h": a clock time after its word.
    text = re.sub(
        rf"(?<!\w)({at})\s+(\d{{1,2}})\s*(?:uhr|uur|h)\s*([0-5]\d)?(?!\w)",
        lambda m: f"at {m[2]}:{m[3] or '00'}",
        text,
        flags=re.I,
    )
    text = re.sub(rf"(?<!\w){at}\s+(?=\d{{1,2}}[:.]\d{{2}})", "at ", text, flags=re.I)
    # Any other "2h10" or "3h" is an amount of time.
    text = _H_FORM.sub(lambda m: f"{m['h']} hours" + (f" {m['m']} minutes" if m["m"] else ""), text)
    units = "|".join(re.escape(u) for u in sorted(_UNITS[lang], key=len, reverse=True))
    text = re.sub(
        rf"({_N})\s*({units})(?!\w)",
        lambda m: f"{m[1].replace(',', '.')} {_UNITS[lang][m[2].casefold()]}",
        text,
        flags=re.I,
    )
    text = _words(text, _amounts(lang))
    text = _words(text, _WORDS[lang])
    text = re.sub(r"[¿¡]", "", text)
    return re.sub(r"\s{2,}", " ", text).strip()
