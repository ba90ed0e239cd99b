"""Product search: BM25 (k1 0.9, b 0.4) over WebShop's document text, as pyserini/Anserini does it.

The default backend is `bm25s` with a Lucene-English-like analyzer (a StandardTokenizer-like regex,
possessive stripping, Lucene's 33-word stop list, Porter stemming via PyStemmer). It is close to, not
bit-identical with, Anserini (protocol.md §1). pyserini is used instead when it is importable and an
index directory is given. Ties are broken by document order, as Lucene breaks them by doc id.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from bm25s.stopwords import STOPWORDS_EN

K1, B = 0.9, 0.4
TOP_N = 50  # WebShop keeps the top 50 hits (SEARCH_RETURN_N)

# Lucene's EnglishAnalyzer default stop set (33 words), as bm25s ships it.
LUCENE_STOPWORDS = frozenset(STOPWORDS_EN)
# Words with inner apostrophes or dots stay whole ("l'eau", "6.76"), as StandardTokenizer keeps them.
_TOKEN_RE = re.compile(r"\w+(?:['.]\w+)*")


class Analyzer:
    """Text -> stemmed terms. Stems are cached: catalogue text repeats the same words millions of times."""

    def __init__(self) -> None:
        import Stemmer  # PyStemmer

        self._stemmer = Stemmer.Stemmer("porter")
        self._cache: dict[str, str] = {}

    def __call__(self, text: str) -> list[str]:
        words = []
        for word in _TOKEN_RE.findall(text.lower()):
            if word.endswith("'s"):  # EnglishPossessiveFilter
                word = word[:-2]
            if word and word not in LUCENE_STOPWORDS:
                words.append(word)
        cache = self._cache
        missing = [w for w in set(words) if w not in cache]
        if missing:
            cache.update(zip(missing, self._stemmer.stemWords(missing), strict=True))
        return [cache[w] for w in words]


def document_text(title: str, description: str, bullets: Sequence[str], options: dict[str, list[str]]) -> str:
    """WebShop's indexed text: lower-cased title + description + first bullet + options string."""
    option_text = ", and ".join(f"{name}: {', '.join(values)}" for name, values in options.items())
    first_bullet = bullets[0] if bullets else ""
    return " ".join([title, description, first_bullet, option_text]).lower()


class BM25Index:
    """A bm25s index over the catalogue's documents; rows are catalogue positions."""

    def __init__(self, retriever, analyzer: Analyzer | None = None) -> None:
        self.retriever = retriever
        self.analyzer = analyzer or Analyzer()
        self.num_docs = int(retriever.scores["num_docs"])

    @classmethod
    def build(cls, texts: Iterable[str], show_progress: bool = False) -> BM25Index:
        import bm25s

        analyzer = Analyzer()
        vocab: dict[str, int] = {}
        ids: list[array] = []  # 4 bytes a token: the full catalogue holds hundreds of millions
        for text in texts:
            ids.append(array("i", [vocab.setdefault(term, len(vocab)) for term in analyzer(text)]))
        retriever = bm25s.BM25(method="lucene", k1=K1, b=B)
        retriever.index((ids, vocab), show_progress=show_progress)
        return cls(retriever, analyzer)

    def save(self, directory: Path) -> None:
        self.retriever.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> BM25Index:
        import bm25s

        return cls(bm25s.BM25.load(str(directory), mmap=mmap, show_progress=False))

    def search(self, query: str, k: int = TOP_N) -> list[int]:
        """Positions of the top-k documents, best first (ties: lower position first)."""
        terms = [t for t in self.analyzer(query) if t in self.retriever.vocab_dict]
        if not terms:
            return []
        scores = self.retriever.get_scores(terms)
        top = np.flatnonzero(scores > 0)  # only matching documents (usually far fewer than all)
        if len(top) > k:
            # keep every document tied with the k-th score, so the tie-break below sees them all
            kth = np.partition(scores[top], len(top) - k)[len(top) - k]
            top = top[scores[top] >= kth]
        order = np.lexsort((top, -scores[top]))[:k]
        return [int(i) for i in top[order]]


class PyseriniIndex:
    """Optional: pyserini's LuceneSearcher over a prebuilt WebShop index (ETO's `indexes`)."""

    def __init__(self, index_dir: Path, position: Callable[[str], int | None]) -> None:
        from pyserini.search.lucene import LuceneSearcher  # optional dependency

        self.searcher = LuceneSearcher(str(index_dir))
        self.position = position  # ASIN -> catalogue position

    def search(self, query: str, k: int = TOP_N) -> list[int]:
        hits = self.searcher.search(query, k=k)
        positions = [self.position(json.loads(self.searcher.doc(h.docid).raw())["id"]) for h in hits]
        return [p for p in positions if p is not None]


def pyserini_available() -> bool:
    try:
        import pyserini.search.lucene  # noqa: F401
    except Exception:
        return False
    return True
