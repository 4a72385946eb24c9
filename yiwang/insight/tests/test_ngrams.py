"""``ngrams.CharNgramCounter`` counts what scikit-learn's character CountVectorizer counts."""

import csv

import numpy as np
import pytest
from django.conf import settings
from sklearn.feature_extraction.text import CountVectorizer

from yiwang.insight import pairs
from yiwang.insight.ngrams import CharNgramCounter

APPEALS = settings.DATA_DIR / "appeals_public_2019.csv"

# What the normalisation and the packing of keys must get right: upper case, runs of
# white space (two or more become one space, a lone newline stays), tabs, characters
# beyond the Basic Multilingual Plane, a NUL (the key's "no third character" is zero),
# documents too short for any n-gram, and an n-gram that is the prefix of another.
EDGES = ["", "a", "AB  cd\n\n e\nf", "x\ty", "😀😁😂", "a\x00b", "ab", "abc", "ÄÖ İ", "噪音噪音噪音", "  "]


def assert_same(texts: list[str], unseen: list[str]) -> None:
    reference = CountVectorizer(analyzer="char", ngram_range=(2, 3), dtype=np.float32)
    ours = CharNgramCounter()
    fitted, expected = ours.fit_transform(texts), reference.fit_transform(texts)
    assert list(ours.get_feature_names_out()) == list(reference.get_feature_names_out())
    for got, want in ((fitted, expected), (ours.transform(unseen), reference.transform(unseen))):
        assert got.shape == want.shape and got.dtype == want.dtype == np.float32
        assert (got != want).nnz == 0


def test_the_edges_count_as_countvectorizer_counts_them():
    assert_same(EDGES + ["小区夜间施工噪音扰民"], ["cba", "AB c", "噪音扰民😀", "", "zz"])


def test_a_fitted_vocabulary_ignores_unseen_ngrams_and_an_unfitted_counter_refuses():
    counter = CharNgramCounter()
    with pytest.raises(ValueError, match="not been fitted"):
        counter.transform(["abc"])
    counter.fit_transform(["abc"])
    assert counter.transform(["xyz"]).nnz == 0
    with pytest.raises(ValueError, match="empty vocabulary"):
        CharNgramCounter().fit_transform(["", "a"])


@pytest.mark.skipif(not APPEALS.exists(), reason=f"needs the shipped appeals in {settings.DATA_DIR}")
def test_the_public_appeals_count_alike_across_batches():
    with open(APPEALS, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:2500]  # more than one batch of documents
    texts = [f"{r['title']}。{r['title']}。{r['detail']}" for r in rows]
    assert_same(texts + EDGES, [r["detail"][::-1] for r in rows[:300]])


def test_pairs_builds_its_corpus_with_it():
    assert isinstance(pairs._counter(), CharNgramCounter)
