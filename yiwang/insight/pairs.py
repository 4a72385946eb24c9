"""Same case (重复诉求) and similar case (类案) decisions for pairs of appeals.

How a pair is judged (definitions in issue 5, "What counts as the same case"):

1. **Candidates** come from a sparse nearest-neighbour search (scikit-learn,
   cosine on TF-IDF of character 2–3-grams of title and detail; title counted
   twice), plus every pair by the same user and every pair naming the same
   rare place or entity. No Python loop over all n² pairs.
2. **Two similarities** per pair: ``text`` (the whole appeal) and ``problem``
   (the appeal with its place names and district codes blanked out, so that two
   appeals about one housing estate do not look alike merely by its name; this
   is what separates "same place, different problem").
3. **Place evidence**: a shared specific name (rare in the corpus: named by at
   most ``RARE_DF`` appeals), or a conflict (both name specific places, none
   shared: copy-pasted wording about different places is not the same case).
4. **Decision** (thresholds chosen on ``tests/data/dev_pairs.csv``,
   ``bench/insight_quality.py`` prints the result):

   * same case: shared place and problem ≥ ``DUP_PROBLEM``; or same user,
     no place conflict and text ≥ ``DUP_SAME_USER``; or two distinct shared
     entities and problem ≥ ``DUP_PROBLEM_TWO_NAMES``; or near-identical text
     (≥ ``DUP_NEAR_COPY``) without a place conflict. Shared names nested in
     one another (月亮岛 / 地处月亮岛, 1号线 / 1号线南延) count as one entity.
     A gap over ``DUP_MAX_DAYS`` days needs the same user or a near copy (a
     new instance rather than a repeat).
   * similar case: shared place and problem ≥ ``SIM_PROBLEM`` (same kind of
     problem, another instance), or a shared quoted/numbered programme name.

The score printed for a pair is a 0–1 blend of the evidence, for ranking only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.neighbors import NearestNeighbors

from . import entities
from .appeals import Appeal
from .ngrams import CharNgramCounter

NEIGHBOURS = 12
CANDIDATE_MIN_TEXT = 0.25
RARE_DF = 80  # a name in more appeals than this is a landmark or a generic word, not evidence
MAX_USER_POSTS = 60  # users with more posts than this are portals/bulk posters: no all-pairs

DUP_PROBLEM = 0.30
DUP_SAME_USER = 0.30
DUP_PROBLEM_TWO_NAMES = 0.10
DUP_NEAR_COPY = 0.80
DUP_MAX_DAYS = 90
SIM_PROBLEM = 0.22


@dataclass
class Corpus:
    appeals: list[Appeal]
    text: sparse.csr_matrix  # L2-normalised TF-IDF rows
    problem: sparse.csr_matrix
    names: list[frozenset[str]]  # rare specific names per appeal
    df: Counter
    counter: CharNgramCounter  # its vocabulary names the columns of ``text`` and ``problem``
    near: list[frozenset[str]]  # per appeal: its names and every extracted name equal to, inside or around one

    @property
    def problem_vocab(self) -> np.ndarray:
        # Built on demand: sorting the n-gram vocabulary costs seconds and only cluster labels need it.
        return self.counter.get_feature_names_out()


@dataclass(frozen=True)
class Pair:
    i: int
    j: int
    text: float
    problem: float
    shared: tuple[str, ...]
    conflict: bool
    same_user: bool
    days: float

    @property
    def score(self) -> float:
        place = 1.0 if self.shared else (0.0 if self.conflict else 0.5)
        return round(0.45 * self.problem + 0.25 * self.text + 0.2 * place + 0.1 * self.same_user, 4)


def _counter() -> CharNgramCounter:
    # CountVectorizer(analyzer="char", ngram_range=(2, 3)), counted in numpy (see ngrams).
    return CharNgramCounter()


def _tfidf(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    return TfidfTransformer(sublinear_tf=True).fit_transform(counts).tocsr()


def _blank_places(text: str, names: frozenset[str]) -> str:
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    return entities.DISTRICT.sub(" ", text)


def _related_names(names: set[str]) -> dict[str, set[str]]:
    """For every name, the names it is :func:`entities.same_entity` with (itself included).

    Found through the substrings of each name (names are short) instead of
    comparing every name with every other, which was the slowest step.
    """
    related: dict[str, set[str]] = {n: {n} for n in names}
    for long_ in names:
        for start in range(len(long_) - 2):
            for end in range(start + 3, len(long_) + 1):
                short = long_[start:end]
                if short != long_ and short in related:
                    related[short].add(long_)
                    related[long_].add(short)
    return related


def build(appeals: list[Appeal]) -> Corpus:
    docs = [f"{a.title}。{a.title}。{a.detail}" for a in appeals]
    all_names = [entities.extract(a.text) for a in appeals]
    df = Counter(n for names in all_names for n in names)
    # One n-gram vocabulary for both matrices: fitting it twice (and sorting it) was most of the run time.
    # The problem text is the full text with places blanked, so its n-grams are nearly all in it.
    counter = _counter()
    text = _tfidf(counter.fit_transform(docs))
    problem = _tfidf(counter.transform([_blank_places(d, n) for d, n in zip(docs, all_names)]))
    rare = [frozenset(n for n in names if df[n] <= RARE_DF) for names in all_names]
    related = _related_names(set().union(*rare)) if rare else {}
    near = [frozenset().union(*(related[n] for n in names)) if names else frozenset() for names in rare]
    return Corpus(appeals, text, problem, rare, df, counter, near)


def _candidate_index_pairs(c: Corpus) -> set[tuple[int, int]]:
    n = len(c.appeals)
    out: set[tuple[int, int]] = set()
    k = min(NEIGHBOURS + 1, n)
    if n > 1:
        nn = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(c.text)
        dist, idx = nn.kneighbors(c.text)
        for i in range(n):
            for d, j in zip(dist[i], idx[i]):
                if j != i and 1 - d >= CANDIDATE_MIN_TEXT:
                    out.add((min(i, j), max(i, j)))
    by_user: dict[str, list[int]] = defaultdict(list)
    by_name: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(c.appeals):
        if a.user:
            by_user[a.user].append(i)
        for name in c.names[i]:
            by_name[name].append(i)
    for group in (*by_user.values(), *by_name.values()):
        if 1 < len(group) <= MAX_USER_POSTS:
            out.update(combinations(sorted(group), 2))
    return out


def _rowwise_cos(m: sparse.csr_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    return np.asarray(m[i].multiply(m[j]).sum(axis=1)).ravel()


def _shared(c: Corpus, i: int, j: int) -> tuple[str, ...]:
    """Names of appeal i that are the same entity as a name of appeal j (set algebra on precomputed relations)."""
    return tuple(sorted(c.names[i] & c.near[j], key=lambda n: (-len(n), n)))


def candidate_pairs(c: Corpus) -> list[Pair]:
    return make_pairs(c, sorted(_candidate_index_pairs(c)))


def make_pairs(c: Corpus, idx: list[tuple[int, int]]) -> list[Pair]:
    """The evidence for the given (i, j) index pairs (also used by the benchmark for labelled pairs)."""
    if not idx:
        return []
    ii = np.fromiter((p[0] for p in idx), dtype=np.int64, count=len(idx))
    jj = np.fromiter((p[1] for p in idx), dtype=np.int64, count=len(idx))
    text = _rowwise_cos(c.text, ii, jj)
    problem = _rowwise_cos(c.problem, ii, jj)
    pairs = []
    for k, (i, j) in enumerate(idx):
        a, b = c.appeals[i], c.appeals[j]
        shared = _shared(c, i, j)
        conflict = not shared and bool(c.names[i]) and bool(c.names[j])
        pairs.append(Pair(i, j, float(text[k]), float(problem[k]), shared, conflict,
                          bool(a.user) and a.user == b.user, abs((a.time - b.time).total_seconds()) / 86400))
    return pairs


def is_duplicate(p: Pair) -> bool:
    if p.text >= DUP_NEAR_COPY and not p.conflict:
        return True
    if p.same_user and p.text >= DUP_SAME_USER and not p.conflict:
        return True
    if p.days > DUP_MAX_DAYS or not p.shared:
        return False
    # Two distinct shared entities (the estate and the plant beside it) pin the problem down more than one.
    return p.problem >= (DUP_PROBLEM_TWO_NAMES if distinct_entities(p.shared) >= 2 else DUP_PROBLEM)


def distinct_entities(shared: tuple[str, ...]) -> int:
    """How many entities the shared names stand for: names linked by containment are one entity."""
    groups: list[set[str]] = []
    for name in shared:
        hit = [g for g in groups if any(name in k or k in name for k in g)]
        groups = [g for g in groups if not any(g is h for h in hit)] + [{name}.union(*hit)]
    return len(groups)


def is_similar(p: Pair) -> bool:
    """Same kind of problem at the same place/entity, or one named programme (not a duplicate)."""
    if is_duplicate(p):
        return False
    if p.shared and p.problem >= SIM_PROBLEM:
        return True
    return any(s.endswith("号线") or s.startswith(("《", "“")) for s in p.shared) and p.problem >= SIM_PROBLEM / 2


def duplicates(appeals: list[Appeal], corpus: Corpus | None = None) -> list[dict]:
    c = corpus or build(appeals)
    out = [{"a": appeals[p.i].id, "b": appeals[p.j].id, "score": p.score}
           for p in candidate_pairs(c) if is_duplicate(p)]
    return sorted(out, key=lambda d: (-d["score"], d["a"], d["b"]))
