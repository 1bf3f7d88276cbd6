"""Classic baselines on the same data and splits as the transformer models (framework-free).

- `crf_ner.CrfNer`: CRF NER over BIO tags; `rf_re.RandomForestRe`: Random Forest RE;
- `text_classifiers.tfidf_baselines`: TF-IDF + logistic regression / naive Bayes / linear SVM;
- `crf_rf.crf_rf_baselines`: the CRF -> RF pipeline scored end to end, for the benchmarks.
"""

# Lazy (PEP 562): importing one baseline must not need the others' libraries (sklearn-crfsuite is only
# the CRF's), e.g. the TF-IDF baselines on a machine without it.
_HOME = {
    "CrfNer": "crf_ner",
    "CrfNerConfig": "crf_ner",
    "crf_rf_baselines": "crf_rf",
    "RandomForestRe": "rf_re",
    "RandomForestReConfig": "rf_re",
    "tfidf_baselines": "text_classifiers",
}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)


__all__ = [
    "CrfNer",
    "CrfNerConfig",
    "RandomForestRe",
    "RandomForestReConfig",
    "crf_rf_baselines",
    "tfidf_baselines",
]
