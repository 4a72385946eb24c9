"""Character bigram and trigram counts, as scikit-learn's CountVectorizer makes them, in numpy.

``CountVectorizer(analyzer="char", ngram_range=(2, 3))`` cuts and counts the n-grams
in Python, one list append per n-gram, and no library option changes that. On a
case-cluster window of 22,000 appeals the corpus build, mostly this counting, was 28
of the 39 CPU seconds of one chunk of the case-cluster job (clusters.engine), which
builds it again for every chunk. Here the text of all documents is one array of code
points and every n-gram one integer, so cutting, counting and the vocabulary are a
few array operations: the build went from 24-29 s to 11-15 s
(bench/cluster_ngrams.py). The counts, the vocabulary, its order and the feature
names are CountVectorizer's; the tests compare them on the public appeals.

An n-gram's key packs its code points, each plus one, into 21 bits apiece, first
character highest, and a bigram leaves the lowest 21 bits zero. Ordering the keys
as integers then orders the n-grams as Python orders strings ("ab" < "ab\\0" <
"abc" < "ac"), which is the vocabulary's order in CountVectorizer.
"""

from __future__ import annotations

import re

import numpy as np
from scipy import sparse

_BITS = 21  # every code point (at most 0x10FFFF) plus one fits
_MASK = (1 << _BITS) - 1
_BATCH = 2_000  # documents per array pass: bounds the memory of the n-gram keys
_WHITE_SPACES = re.compile(r"\s\s+")  # CountVectorizer's own normalisation before cutting


def _prepared(doc: str) -> str:
    return _WHITE_SPACES.sub(" ", doc.lower())


def _keys(docs: list[str], first_row: int) -> tuple[np.ndarray, np.ndarray]:
    """(row of each n-gram, its key) for ``docs``, rows numbered from ``first_row``."""
    texts = [_prepared(d) for d in docs]
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64) + 1
    row = np.repeat(np.arange(first_row, first_row + len(texts), dtype=np.int64), lengths)
    n = len(codes)
    rows, keys = [], []
    if n >= 2:
        same = row[:-1] == row[1:]
        rows.append(row[:-1][same])
        keys.append((codes[:-1][same] << np.uint64(2 * _BITS)) | (codes[1:][same] << np.uint64(_BITS)))
    if n >= 3:
        same = row[:-2] == row[2:]
        rows.append(row[:-2][same])
        keys.append((codes[:-2][same] << np.uint64(2 * _BITS)) | (codes[1:-1][same] << np.uint64(_BITS))
                    | codes[2:][same])
    if not keys:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
    return np.concatenate(rows), np.concatenate(keys)


def _run_starts(ordered: np.ndarray) -> np.ndarray:
    """For sorted keys, True where a run of equal keys begins (np.unique hashes first, and is slower here)."""
    starts = np.empty(len(ordered), dtype=bool)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    return starts


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """The distinct keys, ascending."""
    ordered = np.sort(keys)
    return ordered[_run_starts(ordered)]


def _distinct(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct keys ascending, each key's position among them), as np.unique(return_inverse=True)."""
    order = np.argsort(keys)
    ordered = keys[order]
    starts = _run_starts(ordered)
    of = np.empty(len(keys), dtype=np.int64)
    of[order] = np.cumsum(starts) - 1
    return ordered[starts], of


def _name(key: int) -> str:
    chars = ((key >> (2 * _BITS)) & _MASK, (key >> _BITS) & _MASK, key & _MASK)
    return "".join(chr(c - 1) for c in chars if c)


class CharNgramCounter:
    """``CountVectorizer(analyzer="char", ngram_range=(2, 3), dtype=np.float32)``, the parts pairs uses."""

    def __init__(self) -> None:
        self.vocabulary: np.ndarray | None = None  # sorted keys; a key's position is its column

    def fit_transform(self, docs: list[str]) -> sparse.csr_matrix:
        batches = [(rows, *_distinct(keys)) for rows, keys in
                   (_keys(docs[start:start + _BATCH], start) for start in range(0, len(docs), _BATCH))]
        self.vocabulary = _sorted_unique(np.concatenate([distinct for _, distinct, _ in batches]
                                                        or [np.empty(0, dtype=np.uint64)]))
        if not len(self.vocabulary):
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        # Looking up each batch's distinct keys, already in order, walks the vocabulary
        # once; looking up every n-gram where it falls took most of the time.
        parts = [(rows, np.searchsorted(self.vocabulary, distinct)[of]) for rows, distinct, of in batches]
        return self._matrix(parts, len(docs))

    def transform(self, docs: list[str]) -> sparse.csr_matrix:
        if self.vocabulary is None:
            raise ValueError("this counter has not been fitted")
        parts = []
        for start in range(0, len(docs), _BATCH):
            rows, keys = _keys(docs[start:start + _BATCH], start)
            distinct, of = _distinct(keys)
            at = np.searchsorted(self.vocabulary, distinct)
            known = at < len(self.vocabulary)
            known[known] = self.vocabulary[at[known]] == distinct[known]
            cols, kept = at[of], known[of]
            parts.append((rows[kept], cols[kept]))
        return self._matrix(parts, len(docs))

    def _matrix(self, parts: list[tuple[np.ndarray, np.ndarray]], n_docs: int) -> sparse.csr_matrix:
        rows = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int64)
        cols = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int64)
        counts = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                                   shape=(n_docs, len(self.vocabulary)), dtype=np.float32)
        counts.sum_duplicates()  # and sorts each row's columns
        return counts

    def get_feature_names_out(self) -> np.ndarray:
        return np.array([_name(int(k)) for k in self.vocabulary], dtype=object)
