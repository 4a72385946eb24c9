"""地名库: resolve the street (街道) of an appeal from its address and text.

Matching is a leftmost-longest multi-pattern search (Aho-Corasick, the
``ahocorasick-rs`` library) over the names in the :class:`Place` table. We chose
it over a jieba user dictionary because jieba's dictionary is process-global:
adding place names there would change how the classifier segments every text.
Leftmost-longest is what makes "嘉兴路街道" win over "嘉兴路", and "曲阳新村"
over "曲阳路" inside "曲阳新村12号".

Each match votes for its street; a name whose street is blank (a road that
spans several streets, or one whose street nobody has verified) is recognised
but votes for none, so "嘉兴路100号" alone resolves to no street, while
"嘉兴路100号 瑞虹新城" resolves to 嘉兴路街道. Matches in the address count
double. When two streets tie, the result is ambiguous and no street is given.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

import ahocorasick_rs
from django.db.models import Count, Max

from yiwang.org.models import Street

from .models import Place, StreetSource

ADDRESS_WEIGHT = 2


@dataclass(frozen=True)
class Resolution:
    street: Street | None
    source: str  # a StreetSource value
    clues: list[str] = field(default_factory=list)  # "name→street" for each recognised place name


@dataclass
class _Index:
    stamp: tuple
    names: list[str]
    streets: dict[str, int | None]  # name → street id (None: spans several streets)
    automaton: ahocorasick_rs.AhoCorasick | None


_lock = threading.Lock()
_index: _Index | None = None


def _stamp() -> tuple:
    """Changes whenever a place is added, edited or removed (checked on each call: one small query)."""
    agg = Place.objects.filter(active=True).aggregate(n=Count("id"), latest=Max("updated_at"), top=Max("id"))
    return (agg["n"], agg["latest"], agg["top"])


def _load() -> _Index:
    global _index
    stamp = _stamp()
    with _lock:
        if _index is None or _index.stamp != stamp:
            rows = list(Place.objects.filter(active=True).values_list("name", "street_id"))
            names = [name for name, _ in rows if name]
            automaton = (ahocorasick_rs.AhoCorasick(names, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
                         if names else None)
            _index = _Index(stamp, names, dict(rows), automaton)
        return _index


def find_places(text: str) -> list[tuple[str, int | None]]:
    """Place names in ``text`` (leftmost-longest, non-overlapping) with their street ids."""
    index = _load()
    if not text or index.automaton is None:
        return []
    return [(index.names[i], index.streets[index.names[i]]) for i, _, _ in index.automaton.find_matches_as_indexes(text)]


def resolve(address: str = "", text: str = "") -> Resolution:
    """The street named or implied by ``address`` (weighted double) and ``text``."""
    votes: Counter[int] = Counter()
    clues, ambiguous = [], []
    for source, weight in ((address, ADDRESS_WEIGHT), (text, 1)):
        for name, street_id in find_places(source):
            if street_id is None:
                ambiguous.append(name)
                continue
            votes[street_id] += weight
            clues.append((name, street_id))
    streets = Street.objects.in_bulk(list(votes))
    described = [f"{name}→{streets[sid].name}街道" for name, sid in dict.fromkeys(clues)]
    described += [f"{name}→跨街道" for name in dict.fromkeys(ambiguous)]
    if not votes:
        return Resolution(None, StreetSource.AMBIGUOUS if ambiguous else StreetSource.NONE, described)
    ranked = votes.most_common(2)
    if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        return Resolution(None, StreetSource.AMBIGUOUS, described)
    return Resolution(streets[ranked[0][0]], StreetSource.GAZETTEER, described)
