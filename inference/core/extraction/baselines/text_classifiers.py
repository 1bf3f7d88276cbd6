"""TF-IDF note (sentence) classification baselines: logistic regression, naive Bayes, linear SVM.

Framework-free. Word 1-2 grams, sublinear tf, lower-cased, `text.tokenize` tokens (so Swedish, Korean
and Chinese text work). Used for ADE-Corpus-V2 sentence classification (ADE vs no ADE).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, precision_recall_fscore_support
from sklearn.naive_bayes import MultinomialNB
from sklearn.svm import LinearSVC

from inference.core.text import tokenize

__all__ = ["MODELS", "tfidf_baselines", "tfidf_vectorizer"]

MODELS = ("logreg", "nb", "svm")


def _analyzer_tokens(text: str) -> list[str]:
    return [t.text.lower() for t in tokenize(text)]


def tfidf_vectorizer() -> TfidfVectorizer:
    """The shared TF-IDF featuriser: word 1-2 grams over `text.tokenize`, sublinear tf, min_df 1."""
    return TfidfVectorizer(
        tokenizer=_analyzer_tokens, lowercase=False, token_pattern=None, ngram_range=(1, 2), sublinear_tf=True
    )


def _positive(labels: Sequence[Hashable], positive_label: Hashable | None) -> Hashable:
    if positive_label is not None:
        return positive_label
    values = set(labels)
    if "ade" in values:
        return "ade"
    if values <= {0, 1} or values <= {False, True}:
        return 1
    raise ValueError("tfidf_baselines: give positive_label for labels other than 'ade' or 0/1")


def tfidf_baselines(
    train_texts: Sequence[str],
    train_labels: Sequence[Hashable],
    test_texts: Sequence[str],
    test_labels: Sequence[Hashable],
    *,
    seed: int = 0,
    positive_label: Hashable | None = None,
    class_weight: str | None = "balanced",
) -> dict[str, float]:
    """Train and test TF-IDF + {logistic regression, multinomial NB, linear SVM}.

    Args: texts and labels of both splits; seed for the solvers; positive_label: the class scored by
    P/R/F1 (default "ade" when present, else 1 for 0/1 or bool labels); class_weight for logistic
    regression and the SVM ("balanced" suits the 1:4 ADE / no-ADE imbalance; naive Bayes keeps its
    fitted class prior). Returns: flat dict with
    "tfidf_{logreg,nb,svm}_{f1,precision,recall,accuracy,train_seconds}" (binary scores of the positive
    class; 0 where undefined; train_seconds include fitting the shared TF-IDF) plus "n_train", "n_test". Errors: ValueError when the positive class cannot
    be inferred.
    """
    pos = _positive(list(train_labels) + list(test_labels), positive_label)
    y_train = [y == pos for y in train_labels]
    y_test = [y == pos for y in test_labels]
    out: dict[str, float] = {"n_train": len(train_texts), "n_test": len(test_texts)}
    t0 = time.perf_counter()
    vec = tfidf_vectorizer()
    x_train = vec.fit_transform(train_texts)
    x_test = vec.transform(test_texts)
    vec_seconds = time.perf_counter() - t0
    models = {
        "logreg": LogisticRegression(max_iter=2000, C=1.0, class_weight=class_weight, random_state=seed),
        "nb": MultinomialNB(alpha=0.1),
        "svm": LinearSVC(C=1.0, class_weight=class_weight, random_state=seed),
    }
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(x_train, y_train)
        seconds = time.perf_counter() - t0 + vec_seconds
        pred = model.predict(x_test)
        p, r, f1, _ = precision_recall_fscore_support(
            y_test, pred, average="binary", pos_label=True, zero_division=0
        )
        out.update(
            {
                f"tfidf_{name}_f1": float(f1),
                f"tfidf_{name}_precision": float(p),
                f"tfidf_{name}_recall": float(r),
                f"tfidf_{name}_accuracy": float(accuracy_score(y_test, pred)) if len(y_test) else 0.0,
                f"tfidf_{name}_train_seconds": seconds,
            }
        )
    return out
