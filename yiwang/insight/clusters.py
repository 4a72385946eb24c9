"""Case clusters (类案): duplicates and similar cases grouped, labelled and ranked by heat.

A cluster is a connected component of the graph whose edges are the pairs
judged the same case or a similar case (:mod:`.pairs`). Its label is generated:
the place most of its members name, then the three character n-grams that
weigh most in its members' TF-IDF centroid and are not part of that place.

Heat index (higher = more urgent); each term is damped with ln(1 + x) so no
single one dominates:

    heat = 1.0·ln(1 + volume)          appeals in the cluster
         + 1.0·ln(1 + recent)          appeals in the last 30 days before the newest appeal of the file (growth)
         + 0.5·ln(1 + repeats)         appeals that repeat another member (same case pairs)
         + 0.5·ln(1 + likes)           public support: sum of likes
         + 0.5·ln(1 + dissatisfied)    members marked dissatisfied (column ``dissatisfied``, if present)
         + 0.25·ln(1 + opposes)        public disagreement still means attention

Rounded to three decimals. Clusters are returned hottest first.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import timedelta

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from . import pairs as pairmod
from .appeals import Appeal

RECENT_DAYS = 30
_CJK = re.compile(r"[\u4e00-\u9fff]+")


# Weights of the heat index terms (see the module docstring); yiwang/clusters uses the same ones.
HEAT_WEIGHTS = {"volume": 1.0, "recent": 1.0, "repeats": 0.5, "likes": 0.5, "dissatisfied": 0.5, "opposes": 0.25}


def heat_from_counts(**counts: int) -> float:
    """The heat index from its counts (keys of ``HEAT_WEIGHTS``; a missing one counts 0)."""
    return round(sum(w * math.log1p(counts.get(k, 0)) for k, w in HEAT_WEIGHTS.items()), 3)


def heat(members: list[Appeal], repeats: int, now) -> float:
    recent = sum(1 for a in members if a.time >= now - timedelta(days=RECENT_DAYS))
    return heat_from_counts(volume=len(members), recent=recent, repeats=repeats,
                            likes=sum(a.likes for a in members),
                            dissatisfied=sum(a.dissatisfied for a in members),
                            opposes=sum(a.opposes for a in members))


def label_parts(c: pairmod.Corpus, idx: list[int], vocab: np.ndarray, n_words: int = 3) -> tuple[str, list[str]]:
    """The place most members name and the ``n_words`` heaviest n-grams of their centroid outside it."""
    names = Counter(n for i in idx for n in c.names[i] if len(n) <= 8)
    place = max(names.items(), key=lambda kv: (kv[1], len(kv[0])))[0] if names else ""
    centroid = np.asarray(c.problem[idx].mean(axis=0)).ravel()
    words: list[str] = []
    for k in np.argsort(-centroid)[:max(40, 13 * n_words)]:  # 40 for the batch label, as before
        term = vocab[k]
        if len(term) < 2 or not _CJK.fullmatch(term) or term in place or any(term in w or w in term for w in words):
            continue
        words.append(term)
        if len(words) == n_words:
            break
    return place, words


def _label(c: pairmod.Corpus, idx: list[int], vocab: np.ndarray) -> str:
    place, words = label_parts(c, idx, vocab)
    return f"{place}：{'、'.join(words)}" if place else "、".join(words)


def clusters(appeals: list[Appeal], corpus: pairmod.Corpus | None = None) -> list[dict]:
    c = corpus or pairmod.build(appeals)
    n = len(appeals)
    edges, repeats = [], Counter()
    for p in pairmod.candidate_pairs(c):
        if pairmod.is_duplicate(p):
            edges.append((p.i, p.j))
            repeats[max(p.i, p.j, key=lambda k: appeals[k].time)] += 1
        elif pairmod.is_similar(p):
            edges.append((p.i, p.j))
    if not edges:
        return []
    rows, cols = zip(*edges)
    graph = sparse.coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for i, g in enumerate(comp):
        groups.setdefault(g, []).append(i)
    vocab = c.problem_vocab
    now = max(a.time for a in appeals)
    out = []
    for idx in groups.values():
        if len(idx) < 2:
            continue
        idx.sort(key=lambda k: appeals[k].time)
        members = [appeals[k] for k in idx]
        out.append({"ids": [a.id for a in members], "label": _label(c, idx, vocab),
                    "heat": heat(members, sum(1 for k in idx if repeats[k]), now),
                    "first": members[0].time.isoformat(sep=" "), "last": members[-1].time.isoformat(sep=" ")})
    return sorted(out, key=lambda d: (-d["heat"], d["ids"][0]))
