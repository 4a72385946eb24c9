"""The appeal classifier behind intelligent dispatch (智能派单): text in, category out.

Pure Python and scikit-learn, no Django, so that training, evaluation and the
benchmarks run the same code as the web process.

Why these features (each measured by 5-fold cross-validation on the 823 shipped
labels; the ablation table is printed by ``bench/dispatch_ablation.py``):

* **Character n-grams (1–3) of title and detail, separately.** Chinese needs no
  segmenter for this, and character n-grams beat jieba words on these texts
  (0.81 vs 0.75 macro-F1). The title is short and says what the appeal is about;
  keeping it in its own block, weighted 1.5, lets it count for more.
* **A latent semantic space learnt from the unlabelled appeals.** 823 labels are
  few; the 7,000 unlabelled appeals of the same source teach which character
  n-grams occur together (物业/小区/业主, 工资/拖欠/农民工). A TF-IDF + truncated
  SVD (LSA) fitted on labelled and unlabelled text gives every appeal a dense
  vector in which related wording lands close together.
* **The official taxonomy as prior knowledge.** Every second- and third-level
  name of the taxonomy (特种设备管理, 文物保护, 网约车问题 …) found in the text
  adds evidence for its top-level category, so the model knows the government's
  own map of responsibilities for words it has seen too rarely in the labels.
* **Balanced class weights**, because the bar is macro-F1: small categories
  (交通运输, 商贸旅游) otherwise lose to 城乡建设.
* **Calibrated probabilities** (sigmoid on cross-validated folds), because the
  confidence decides automatic dispatch and must mean what it says.

Self-training on pseudo-labelled unlabelled appeals was tried and made things
worse (the unlabelled files also hold appeals of the eight other top-level
categories, which pseudo-labels push into the seven known ones). So did labels
read from the replies: 987 of the answered appeals name the departments of exactly
one category in the first 400 characters of their reply (教育局, 人社局, 住建局 …);
added to each training fold, the 5-fold macro-F1 fell from 0.874 to 0.841 at half
a label's weight and to 0.832 at full weight (城乡建设 alone is half of them, and a
department answers appeals of other categories too).
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

import joblib
import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

FORMAT = 2  # bump when the saved layout changes; load() refuses other formats
TAXONOMY_CSV = Path(__file__).resolve().parent.parent / "org" / "data" / "category_taxonomy.csv"
MAX_DETAIL_CHARS = 2000  # longer texts add cost, not evidence: the gist is in the first paragraphs
N_ALTERNATIVES = 3
N_KEYWORDS = 6


class LabelledText(NamedTuple):
    id: str
    title: str
    detail: str
    label: str


@dataclass(frozen=True)
class Params:
    """Everything that shapes a model; stored with it so a version can be reproduced."""

    ngram_max: int = 3
    title_weight: float = 1.5
    lsa_dims: int = 512
    lsa_weight: float = 1.0
    lsa_max_features: int = 20000  # as good as 60,000 in cross-validation, a third of the memory
    taxonomy_weight: float = 0.3
    C: float = 0.5
    balanced: bool = True
    calibration_folds: int = 5
    use_lsa: bool = True
    use_taxonomy: bool = True
    seed: int = 0


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    alternatives: list[tuple[str, float]]
    path: list[str]
    keywords: list[str]
    scores: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def clean(text: str) -> str:
    """The spreadsheets carry Excel's ``_x000D_`` and runs of whitespace."""
    return re.sub(r"_x000D_|\s+", " ", text or "").strip()


# --- taxonomy ----------------------------------------------------------------

def read_taxonomy(path: Path = TAXONOMY_CSV) -> list[tuple[str, str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return [tuple(r[:3]) for r in rows[1:] if len(r) >= 3]


class Taxonomy:
    """Names of the taxonomy under each top-level category, for features and deeper paths."""

    def __init__(self, rows: Iterable[tuple[str, str, str]], labels: Sequence[str]):
        self.labels = list(labels)
        self.terms: dict[str, list[str]] = defaultdict(list)  # top level → its distinctive names
        self.leaves: dict[str, list[tuple[str, str]]] = defaultdict(list)  # top level → (level 2, level 3)
        for top, second, third in rows:
            if top not in self.labels:
                continue
            self.leaves[top].append((second, third))
            for name in (second, third):
                if name and name != "其他" and name not in self.terms[top]:
                    self.terms[top].append(name)

    def evidence(self, text: str) -> np.ndarray:
        """log(1 + number of the label's taxonomy names found in the text), per label."""
        return np.log1p([sum(1 for name in self.terms[label] if name in text) for label in self.labels])

    def path(self, label: str, text: str) -> list[str]:
        """The deepest path under ``label`` whose name the text itself uses, else ``[label]``.

        No labels exist below the top level, so a deeper level is only claimed when
        the appeal names it (a third-level name, else a second-level one).
        """
        best: list[str] = [label]
        for second, third in self.leaves.get(label, []):
            if third and third != "其他" and third in text:
                return [label, second, third]
            if len(best) == 1 and second and second != "其他" and second in text:
                best = [label, second]
        return best


# --- features ----------------------------------------------------------------

class Features:
    """Title and detail → one sparse row: n-gram blocks, LSA block, taxonomy block."""

    def __init__(self, params: Params, taxonomy: Taxonomy):
        self.params = params
        self.taxonomy = taxonomy
        self.title = TfidfVectorizer(analyzer="char", ngram_range=(1, params.ngram_max), sublinear_tf=True)
        self.detail = TfidfVectorizer(analyzer="char", ngram_range=(1, params.ngram_max), sublinear_tf=True)
        self.lsa_vocab = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, min_df=3,
                                         max_features=params.lsa_max_features)
        # The SVD's components, transposed to (vocabulary × dims) float32: an appeal's
        # projection then reads only the rows of the n-grams it contains.
        self.projection = np.zeros((0, 0), dtype=np.float32)

    def fit(self, titles: list[str], details: list[str], unlabelled: list[str]) -> "Features":
        self.title.fit(titles)
        self.detail.fit(details)
        if self.params.use_lsa:
            corpus = [f"{t} {d}" for t, d in zip(titles, details)] + unlabelled
            counts = self.lsa_vocab.fit_transform(corpus)
            # A small corpus (tests, a first deployment) has fewer documents than dimensions.
            dims = max(1, min(self.params.lsa_dims, min(counts.shape) - 1))
            svd = TruncatedSVD(dims, random_state=self.params.seed).fit(counts)
            self.projection = np.ascontiguousarray(svd.components_.T, dtype=np.float32)
        for vectorizer in (self.title, self.detail, self.lsa_vocab):
            # scikit-learn keeps every n-gram it cut as ``stop_words_``, for introspection
            # only: hundreds of thousands of strings in memory and in the saved model.
            vectorizer.stop_words_ = None
        return self

    def transform(self, titles: list[str], details: list[str]):
        blocks = [self.params.title_weight * self.title.transform(titles), self.detail.transform(details)]
        joined = [f"{t} {d}" for t, d in zip(titles, details)]
        if self.params.use_lsa:
            counts = self.lsa_vocab.transform(joined).astype(np.float32)  # float32 × float32: no upcast copy
            dense = normalize(np.asarray(counts @ self.projection, dtype=float))
            blocks.append(csr_matrix(self.params.lsa_weight * dense))
        if self.params.use_taxonomy:
            evidence = np.vstack([self.taxonomy.evidence(text) for text in joined])
            blocks.append(csr_matrix(self.params.taxonomy_weight * evidence))
        return hstack(blocks).tocsr()

    def transform_one(self, title: str, detail: str):
        """``transform([title], [detail])`` for one appeal, in a fraction of the time.

        This is the path every intake takes, so it avoids scikit-learn's per-call
        validation and sparse-matrix assembly (about 3 ms of the 4 ms an appeal used
        to cost); a test checks it gives the same row as ``transform``.
        """
        fast = self.__dict__.get("_fast")
        if fast is None:
            fast = self._fast = (_CharTfidf(self.title), _CharTfidf(self.detail),
                                 _CharTfidf(self.lsa_vocab) if self.params.use_lsa else None)
        title_tfidf, detail_tfidf, lsa_tfidf = fast
        indices, values, offset = [], [], 0
        for vectorize, text, weight in ((title_tfidf, title, self.params.title_weight), (detail_tfidf, detail, 1.0)):
            idx, val = vectorize(text)
            indices.append(idx + offset)
            values.append(weight * val)
            offset += len(vectorize.idf)
        joined = f"{title} {detail}"
        if lsa_tfidf is not None:
            idx, val = lsa_tfidf(joined)
            dense = val @ self.projection[idx].astype(float)
            norm = np.linalg.norm(dense)
            dense = dense / norm if norm > 0 else dense
            indices.append(np.arange(len(dense)) + offset)
            values.append(self.params.lsa_weight * dense)
            offset += len(dense)
        if self.params.use_taxonomy:
            evidence = self.taxonomy.evidence(joined)
            indices.append(np.arange(len(evidence)) + offset)
            values.append(self.params.taxonomy_weight * evidence)
            offset += len(evidence)
        data, cols = np.concatenate(values), np.concatenate(indices)
        keep = data != 0
        return csr_matrix((data[keep], cols[keep], [0, int(keep.sum())]), shape=(1, offset))

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_fast", None)  # rebuilt on first use; keeps saved models small
        return state

    def ngram_names(self) -> np.ndarray:
        """Names of the n-gram columns (title block then detail block), for explanations."""
        return np.concatenate([self.title.get_feature_names_out(), self.detail.get_feature_names_out()])


_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn's char analyzer


class _CharTfidf:
    """A fitted character n-gram ``TfidfVectorizer`` applied to one text (sublinear tf, idf, l2)."""

    def __init__(self, vectorizer: TfidfVectorizer):
        self.vocabulary = vectorizer.vocabulary_
        self.idf = vectorizer.idf_
        self.low, self.high = vectorizer.ngram_range

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        text = _WHITE_SPACES.sub(" ", text.lower())
        counts: dict[int, int] = {}
        vocabulary = self.vocabulary
        for n in range(self.low, self.high + 1):
            for i in range(len(text) - n + 1):
                j = vocabulary.get(text[i:i + n])
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))) * self.idf[idx]
        return idx, values / np.linalg.norm(values)


class CalibratedLinear:
    """The probabilities of a fitted sigmoid-calibrated linear SVM, as plain arrays.

    ``CalibratedClassifierCV.predict_proba`` validates its input once per fold and
    per class, about 13 ms for one appeal with 5 folds × 7 classes; this computes
    the same numbers (a test compares them) in a fraction of a millisecond. The
    weights are kept as (features × folds·classes) float32, so a sparse appeal
    times them touches only its own rows, and a saved model is half the size.
    """

    def __init__(self, model: CalibratedClassifierCV):
        self.classes = np.array(model.classes_)
        folds = model.calibrated_classifiers_
        self.coef = np.ascontiguousarray(np.vstack([c.estimator.coef_ for c in folds]).T, dtype=np.float32)
        self.intercept = np.concatenate([c.estimator.intercept_ for c in folds])
        self.a = np.concatenate([[cal.a_ for cal in c.calibrators] for c in folds])
        self.b = np.concatenate([[cal.b_ for cal in c.calibrators] for c in folds])
        self.n_folds, self.n_classes = len(folds), len(self.classes)

    def predict_proba(self, matrix) -> np.ndarray:
        # float32 × float32: mixing in float64 would make scipy copy the whole weight matrix
        decision = np.asarray(csr_matrix(matrix, dtype=np.float32) @ self.coef, dtype=float) + self.intercept
        per_fold = 1.0 / (1.0 + np.exp(self.a * decision + self.b))
        per_fold = per_fold.reshape(-1, self.n_folds, self.n_classes)
        totals = per_fold.sum(axis=2, keepdims=True)
        per_fold = np.where(totals > 0, per_fold / np.where(totals > 0, totals, 1), 1.0 / self.n_classes)
        return per_fold.mean(axis=1)

    def mean_coef(self, columns: int) -> np.ndarray:
        """(columns × classes) weights averaged over the folds, for the first ``columns`` features."""
        return self.coef[:columns].reshape(columns, self.n_folds, self.n_classes).mean(axis=1)


def _prepare(title: str, detail: str) -> tuple[str, str]:
    return clean(title), clean(detail)[:MAX_DETAIL_CHARS]


# --- the classifier ----------------------------------------------------------

class Classifier:
    def __init__(self, features: Features, linear: CalibratedLinear, meta: dict,
                 model: CalibratedClassifierCV | None = None):
        self.features = features
        self.linear = linear
        self.meta = meta
        self.model = model  # scikit-learn's own estimator, only right after training (tests compare with it)
        self.labels: list[str] = [str(c) for c in linear.classes]
        self._explainer = _Explainer(features, linear)

    def predict(self, title: str, detail: str = "") -> Prediction:
        title, detail = _prepare(title, detail)
        row = self.features.transform_one(title, detail)
        probabilities = self.linear.predict_proba(row)[0]
        order = np.argsort(-probabilities)
        label = self.labels[order[0]]
        return Prediction(
            label=label,
            confidence=round(float(probabilities[order[0]]), 4),
            alternatives=[(self.labels[i], round(float(probabilities[i]), 4)) for i in order[1:1 + N_ALTERNATIVES]],
            path=self.features.taxonomy.path(label, f"{title} {detail}"),
            keywords=self._explainer.keywords(row, order[0], f"{title} {detail}"),
            scores={self.labels[i]: round(float(probabilities[i]), 4) for i in order},
        )

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump({"features": self.features, "linear": self.linear}, directory / "model.joblib", compress=3)
        (directory / "meta.json").write_text(json.dumps({**self.meta, "format": FORMAT}, ensure_ascii=False,
                                                        indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "Classifier":
        """Load a model this code saved. joblib unpickles, so only ever load our own model directories."""
        directory = Path(directory)
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{directory}: model format {meta.get('format')} is not {FORMAT}; retrain it")
        parts = joblib.load(directory / "model.joblib")
        return cls(parts["features"], parts["linear"], meta)


class _Explainer:
    """The n-grams that pushed the appeal towards its label, merged into phrases of the text.

    A linear model's evidence for a class is the sum of feature value × weight;
    the largest positive terms among the n-gram columns are the words to show.
    Overlapping n-grams (拖欠, 欠工, 工资) are merged back into the span of the
    original text they cover (拖欠工资), which reads better than fragments.
    """

    def __init__(self, features: Features, linear: CalibratedLinear):
        n_ngrams = len(features.title.vocabulary_) + len(features.detail.vocabulary_)
        self.coef = linear.mean_coef(n_ngrams)
        self.names = features.ngram_names()

    def keywords(self, row, class_index: int, text: str) -> list[str]:
        ngrams = row[:, : self.coef.shape[0]].tocoo()
        contribution = ngrams.data * self.coef[ngrams.col, class_index]
        top = [self.names[ngrams.col[i]] for i in np.argsort(-contribution)[:25] if contribution[i] > 0]
        return _merge_spans(text, [t for t in top if len(t.strip()) >= 2][:12])[:N_KEYWORDS]


def _merge_spans(text: str, grams: list[str]) -> list[str]:
    covered = np.zeros(len(text), dtype=bool)
    rank = np.full(len(text), len(grams))
    for i, gram in enumerate(grams):
        for match in re.finditer(re.escape(gram), text):
            covered[match.start():match.end()] = True
            rank[match.start():match.end()] = np.minimum(rank[match.start():match.end()], i)
    spans: list[tuple[int, str]] = []
    start = None
    for i, flag in enumerate(list(covered) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            phrase = text[start:i].strip(" ，。、！？,.!?")
            if len(phrase) >= 2:
                spans.append((int(rank[start:i].min()), phrase))
            start = None
    seen: list[str] = []
    for _, phrase in sorted(spans):
        if not any(phrase in kept or kept in phrase for kept in seen):  # 工资 beside 拖欠工资 says nothing new
            seen.append(phrase)
    return seen


# --- training and evaluation -----------------------------------------------

def read_labelled(path: str | Path) -> list[LabelledText]:
    """Rows of a CSV with at least ``id,title,detail,label``; a missing column is a clear error."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"id", "title", "detail", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        rows = [LabelledText(r["id"], r["title"] or "", r["detail"] or "", (r["label"] or "").strip())
                for r in reader]
    unlabelled = [r.id for r in rows if not r.label]
    if unlabelled:
        raise ValueError(f"{path}: row id {unlabelled[0]} has no label ({len(unlabelled)} such rows)")
    return rows


def read_unlabelled(paths: Iterable[str | Path]) -> list[str]:
    texts: list[str] = []
    for path in paths:
        with open(path, encoding="utf-8-sig", newline="") as f:
            texts += [f"{clean(r.get('title', ''))} {clean(r.get('detail', ''))[:MAX_DETAIL_CHARS]}".strip()
                      for r in csv.DictReader(f)]
    return texts


def train(rows: Sequence[LabelledText], unlabelled: Sequence[str] = (), params: Params | None = None,
          taxonomy: list[tuple[str, str, str]] | None = None) -> Classifier:
    params = params or Params()
    started = time.perf_counter()
    labels = sorted({r.label for r in rows})
    if len(labels) < 2:
        raise ValueError("training needs at least two different labels")
    prepared = [_prepare(r.title, r.detail) for r in rows]
    titles, details = [t for t, _ in prepared], [d for _, d in prepared]
    features = Features(params, Taxonomy(taxonomy if taxonomy is not None else read_taxonomy(), labels))
    features.fit(titles, details, [clean(t)[:MAX_DETAIL_CHARS] for t in unlabelled])
    matrix = features.transform(titles, details)
    smallest = min(sum(1 for r in rows if r.label == label) for label in labels)
    svm = LinearSVC(C=params.C, class_weight="balanced" if params.balanced else None, random_state=params.seed)
    model = CalibratedClassifierCV(svm, method="sigmoid", cv=max(2, min(params.calibration_folds, smallest)))
    model.fit(matrix, np.array([r.label for r in rows]))
    meta = {
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "n_train": len(rows), "n_unlabelled": len(unlabelled), "labels": labels,
        "params": asdict(params), "train_seconds": round(time.perf_counter() - started, 1),
    }
    return Classifier(features, CalibratedLinear(model), meta, model=model)


def evaluate(clf: Classifier, rows: Sequence[LabelledText]) -> dict:
    """Accuracy, macro-F1, per-label scores and the mean single-appeal prediction time."""
    truth = [r.label for r in rows]
    started = time.perf_counter()
    predicted = [clf.predict(r.title, r.detail).label for r in rows]
    ms = (time.perf_counter() - started) * 1000 / max(1, len(rows))
    labels = sorted(set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels,
                                                                     zero_division=0)
    return {
        "n": len(rows),
        "accuracy": round(float(np.mean([t == p for t, p in zip(truth, predicted)])), 4) if rows else 0.0,
        "macro_f1": round(float(f1_score(truth, predicted, labels=sorted(set(truth)), average="macro",
                                         zero_division=0)), 4) if rows else 0.0,
        "per_label": {label: {"precision": round(float(p), 4), "recall": round(float(r), 4),
                              "f1": round(float(f), 4), "support": int(s)}
                      for label, p, r, f, s in zip(labels, precision, recall, f1, support)},
        "ms_per_item": round(ms, 3),
    }
