"""Lexical retrieval over chunks with BM25 (bm25s): no embedding model is available offline,
and for "what does the file say about X" questions the words themselves find the passage."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from app.knowledge.chunks import Chunk

_WORD = re.compile(r"\w+")
# Question words carry no topic; dropping them keeps "what is" from matching everything.
_STOP_WORDS = (
    "a an the is are was were be been of in on at to for from by with and or not no it its this "
    "that these those what which who whom whose when where why how do does did can could would "
    "should will shall may might must i you he she we they me my your our their there here as "
    "about into than then so if but also just please tell me say"
)
_STOP = frozenset(_STOP_WORDS.split())


def tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    words = [w for w in _WORD.findall(text) if w not in _STOP]
    # A light plural/verb stemmer: "prices" finds "price", "invoices" finds "invoice".
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


class ChunkIndex:
    def __init__(self, chunks: Sequence[Chunk]) -> None:
        import bm25s

        self.chunks = list(chunks)
        self._bm25 = bm25s.BM25()
        # A heading or a function's name is words about the chunk; "page 217" is not (it
        # would match a question about item 217 on page 218).
        corpus = [
            tokens(f"{c.where} {c.text}" if c.where.startswith("“") or "(" in c.where else c.text)
            for c in self.chunks
        ]
        self._vocab: dict[str, int] = {}
        ids = [[self._vocab.setdefault(w, len(self._vocab)) for w in doc] for doc in corpus]
        if not self._vocab:
            return  # only stop words ("Why is the"): nothing to index, and nothing will match
        self._bm25.index(
            bm25s.tokenization.Tokenized(ids=ids, vocab=self._vocab), show_progress=False
        )

    def search(self, question: str, k: int = 5) -> list[tuple[Chunk, float]]:
        """The best `k` chunks for `question`, best first (score > 0 only)."""
        words = [self._vocab[w] for w in tokens(question) if w in self._vocab]
        if not words or not self.chunks:
            return []
        scores = self._bm25.get_scores(words)
        best = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
        return [(self.chunks[i], float(scores[i])) for i in best if scores[i] > 0]
