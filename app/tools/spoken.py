"""Numbers as people say them, as digits: spoken questions arrive from speech to text as words
("twelve times twelve", "a quarter past ten", "one hour forty-five minutes"), and the tool
cues, the calculator and the clock read digits. text2num does the conversion, in the language
the question is in: English, German, French, Spanish, Italian, Portuguese or Dutch (the ones
text2num knows). "Wie viel ist sieben plus fünf?" had stayed words, so no tool was offered
and the model answered from memory, wrongly.

The language is told from the question's own small words (question words, operators,
articles), since a number word alone can't say it: "once" is eleven in Spanish. A question
in none of these is read as English, as before. `in_english` also puts a sum's operators and
question words into English ("7 mal 5" -> "7 times 5"), the one form the cues and the
calculator read."""

from __future__ import annotations

import re

_ARTICLE = re.compile(r"\b(?:a|an)\s+(?=\d)", re.IGNORECASE)  # "a hundred" -> "a 100" -> "100"
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl")
LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch",
}  # fmt: skip
# Words that show a question's language (none of them a number word).
_MARKERS = {
    "en": "what what's how much many is are the of and times divided by plus minus percent "
    "hours minutes days today calculate was on in at to a an it do does did for with from "
    "this that my your i you me when where who why",
    "de": "wie viel wieviel was ist sind ergibt macht mal geteilt dividiert durch und der die "
    "das von prozent stunden minuten tage heute hoch rechne berechne quadrat wurzel "
    "um uhr dauert wann beginnt endet",
    "fr": "combien font fait est quel quelle que fois divisé multiplié par et le la les de "
    "des pour cent heures minutes jours moins calcule calculez racine carré "
    "à dure quand commence finit",
    "es": "cuánto cuanto cuántos son es qué cuál por entre dividido multiplicado y el la los "
    "las de ciento horas minutos días más menos calcula raíz cuadrado "
    "dura cuándo empieza termina",
    "it": "quanto quanti fa fanno è che quale per diviso moltiplicato il lo gli di cento ore "
    "minuti giorni più meno calcola radice quadrato alle dura quando inizia finisce",
    "pt": "quanto quantos é são que qual vezes dividido multiplicado por os as de cento horas "
    "minutos dias mais menos calcule calcula raiz quadrado às uma um dura começa termina",
    "nl": "hoeveel wat is zijn keer maal gedeeld door en het een van procent uur minuten "
    "dagen min bereken wortel kwadraat om duurt wanneer begint eindigt",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _MARKERS.items()}
_PERCENT_WORDS = re.compile(
    r"\s*\b(?:por ciento|por cento|per cento|pour cent|pourcent|prozent|procent)\b", re.I
)
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Decimal commas ("3,5 mal 2") in the languages that write them, as the calculator's point.
_COMMA_DECIMAL = re.compile(r"(?<![\d,.])(\d+),(\d+)(?![\d,])")

# Each language's operators and question words, in English; matched between numbers (or
# before or after one) only, since "per", "por", "durch", "min" are also ordinary words.
_BETWEEN = {
    "de": {"mal": "times", "multipliziert mit": "times", "geteilt durch": "divided by",
           "dividiert durch": "divided by", "durch": "divided by", "hoch": "to the power of",
           "% von": "% of"},
    "fr": {"fois": "times", "multiplié par": "times", "divisé par": "divided by",
           "moins": "minus", "à la puissance": "to the power of",
           "pour cent de": "percent of", "pour cent": "percent", "% de": "% of"},
    "es": {"multiplicado por": "times", "por ciento de": "percent of", "por ciento": "percent",
           "por": "times", "dividido por": "divided by", "dividido entre": "divided by",
           "entre": "divided by", "más": "plus", "menos": "minus",
           "elevado a": "to the power of", "% de": "% of"},
    "it": {"moltiplicato per": "times", "per cento di": "percent of", "per cento": "percent",
           "per": "times", "diviso per": "divided by", "diviso": "divided by", "più": "plus",
           "meno": "minus", "elevato alla": "to the power of", "elevato a": "to the power of",
           "% di": "% of"},
    "pt": {"vezes": "times", "multiplicado por": "times", "dividido por": "divided by",
           "mais": "plus", "menos": "minus", "elevado a": "to the power of",
           "por cento de": "percent of", "por cento": "percent", "% de": "% of"},
    "nl": {"keer": "times", "maal": "times", "gedeeld door": "divided by", "min": "minus",
           "tot de macht": "to the power of", "procent van": "percent of",
           "procent": "percent", "% van": "% of"},
}  # fmt: skip
_BEFORE = {  # before a number
    "de": {"die quadratwurzel aus": "square root of", "die wurzel aus": "square root of",
           "quadratwurzel aus": "square root of", "quadratwurzel von": "square root of",
           "wurzel aus": "square root of", "wurzel von": "square root of"},
    "fr": {"la racine carrée de": "square root of", "racine carrée de": "square root of"},
    "es": {"la raíz cuadrada de": "square root of", "raíz cuadrada de": "square root of"},
    "it": {"la radice quadrata di": "square root of", "radice quadrata di": "square root of"},
    "pt": {"a raiz quadrada de": "square root of", "raiz quadrada de": "square root of"},
    "nl": {"de wortel van": "square root of", "de vierkantswortel van": "square root of",
           "wortel van": "square root of", "vierkantswortel van": "square root of"},
}  # fmt: skip
_AFTER = {  # after a number
    "de": {"zum quadrat": "squared", "im quadrat": "squared", "hoch 2": "squared"},
    "fr": {"au carré": "squared", "au cube": "cubed"},
    "es": {"al cuadrado": "squared", "al cubo": "cubed"},
    "it": {"al quadrato": "squared", "al cubo": "cubed"},
    "pt": {"ao quadrado": "squared", "ao cubo": "cubed"},
    "nl": {"in het kwadraat": "squared", "kwadraat": "squared"},
}  # fmt: skip
_ASKING = {  # at the start of the question
    "de": r"wie ?viel (?:ist|sind|ergibt|macht|ergeben|machen)|was (?:ist|sind|ergibt|macht)|"
    r"(?:be)?rechne(?: mal)?|berechnen sie",
    "fr": r"combien (?:font|fait|vaut|valent|égale)|que (?:font|fait|vaut)|"
    r"qu'est-ce que (?:font|fait)|calcule[sz]?|c'est combien",
    "es": r"cuánto (?:es|son|da|dan|hace)|cuanto (?:es|son|da)|qué es|calcula|calcule",
    "it": r"quanto (?:fa|fanno|è|vale|dà)|calcola|calcolami",
    "pt": r"quanto (?:é|são|dá|vale|faz)|calcule|calcula",
    "nl": r"hoeveel (?:is|zijn|maakt)|wat is|wat zijn|bereken",
}

_ARTICLES = r"(?:el|la|los|las|le|les|il|lo|der|die|das|den|de|het|o|a|os|as)"


def language_of(text: str) -> str:
    """The language of a question, from its small words: one of LANGUAGES ("en" unless
    another wins over English by two words or more: speech to text wrote "What's 15% of
    200?" as "was 15% on 200.", and one German-looking word had the answer come in German)."""
    tokens = [t.casefold() for t in _TOKEN.findall(text)]
    scores = {lang: sum(t in words for t in tokens) for lang, words in _WORDS.items()}
    best = max(LANGUAGES, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] >= 2 and scores[best] > scores["en"] else "en"


def with_digits(text: str, lang: str | None = None) -> str:
    """`text` with its spelled numbers as digits: "twelve times twelve" -> "12 times 12",
    "three point five" -> "3.5", "a hundred and twenty" -> "120", "sieben plus fünf" ->
    "7 plus 5". Everything else as it was. `lang`: the question's language (else told from
    its words)."""
    from text_to_num import alpha2digit

    lang = lang or language_of(text)
    if lang != "en":  # "quince por ciento": "ciento" is no hundred here
        text = _PERCENT_WORDS.sub("%", text)
    try:
        converted = alpha2digit(text, lang, threshold=0)  # "one hour": 1 hour, as well
    except Exception:  # a library bug must not lose the question: the words stay words
        return text
    if lang == "en":
        return _ARTICLE.sub("", converted)
    return _COMMA_DECIMAL.sub(r"\1.\2", converted)


def _replace(text: str, table: dict[str, str], form: str) -> str:
    for words in sorted(table, key=len, reverse=True):  # "diviso per" before "per"
        text = re.sub(form.format(re.escape(words)), f" {table[words]} ", text, flags=re.I)
    return text


def in_english(text: str) -> str:
    """A question about a sum, in the one form the cues and the calculator read: its numbers
    as digits and, in another language, its operators and question words in English
    ("Wie viel ist sieben mal fünf?" -> "what is 7 times 5?"). Other words stay as they are."""
    lang = language_of(text)
    text = with_digits(text, lang)
    if lang == "en":
        return text
    text = _replace(text, _BETWEEN[lang], r"(?<=\d|%)\s*\b{}(?=\s*\d)")
    text = _replace(text, _BEFORE[lang], r"\b{}\s*(?=\d)")
    text = _replace(text, _AFTER[lang], r"(?<=\d)\s*{}\b")
    asking = rf"^\s*[¿¡]?\s*(?:{_ASKING[lang]})\b(?:\s+{_ARTICLES}\b)?"
    text = re.sub(asking, "what is ", text, flags=re.I)
    return re.sub(r"\s{2,}", " ", text).strip()
