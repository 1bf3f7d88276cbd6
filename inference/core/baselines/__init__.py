"""Classic baselines on the same data and splits as the transformer models (framework-free).

- `crf_ner.CrfNer`: CRF NER over BIO tags; `rf_re.RandomForestRe`: Random Forest RE;
- `text_classifiers.tfidf_baselines`: TF-IDF + logistic regression / naive Bayes / linear SVM;
- `crf_rf.crf_rf_baselines`: the CRF -> RF pipeline scored end to end, for the benchmarks.
"""

from inference.core.baselines.crf_ner import CrfNer, CrfNerConfig
from inference.core.baselines.crf_rf import crf_rf_baselines
from inference.core.baselines.rf_re import RandomForestRe, RandomForestReConfig
from inference.core.baselines.text_classifiers import tfidf_baselines

__all__ = [
    "CrfNer",
    "CrfNerConfig",
    "RandomForestRe",
    "RandomForestReConfig",
    "crf_rf_baselines",
    "tfidf_baselines",
]
