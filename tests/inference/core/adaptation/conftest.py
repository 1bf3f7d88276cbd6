"""A tiny random BERT (MiniLM's tokenizer) and the synthetic Chinese/Korean/Swedish corpus, per module."""

from __future__ import annotations

import pytest

from inference.core.adaptation.synthetic import synthetic_corpus
from tests.factories import tiny_encoder


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


@pytest.fixture(scope="module")
def corpus():
    return synthetic_corpus(40, seed=1)


@pytest.fixture(scope="module")
def texts(corpus):
    return [d.text for d in corpus]
