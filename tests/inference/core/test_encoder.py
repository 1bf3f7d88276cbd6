"""Encoder loading (offline, cached) and the tiny test encoder; never the real MiniLM weights."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from inference.core import encoder as enc
from tests.factories import tiny_encoder

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return tiny_encoder(tmp_path_factory.mktemp("tiny"))


def test_tiny_encoder_writes_a_loadable_offline_directory(tiny):
    cfg = json.loads((tiny / "config.json").read_text())
    assert cfg["hidden_size"] == 32 and cfg["num_hidden_layers"] == 2
    assert (tiny / "model.safetensors").is_file() and (tiny / "tokenizer.json").is_file()
    assert enc.resolve_encoder(tiny) == tiny.resolve()
    tok = enc.load_tokenizer(tiny)
    assert tok.is_fast
    model = enc.load_encoder_model(tiny)
    out = model(input_ids=torch.tensor([tok("aspirin rash")["input_ids"]])).last_hidden_state
    assert out.shape[-1] == 32


def test_tiny_encoder_is_deterministic_per_seed(tmp_path):
    a = tiny_encoder(tmp_path / "a", seed=3)
    b = tiny_encoder(tmp_path / "b", seed=3)
    c = tiny_encoder(tmp_path / "c", seed=4)
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert (a / "model.safetensors").read_bytes() != (c / "model.safetensors").read_bytes()


def test_loading_is_cached_and_models_are_fresh_copies(tiny):
    assert enc.load_tokenizer(tiny) is enc.load_tokenizer(tiny)
    assert enc.load_tokenizer(tiny, fresh=True) is not enc.load_tokenizer(tiny)
    m1, m2 = enc.load_encoder_model(tiny), enc.load_encoder_model(tiny)
    assert m1 is not m2
    with torch.no_grad():
        m1.embeddings.word_embeddings.weight.add_(1.0)  # fine-tuning one copy leaves the others alone
    assert not torch.equal(m1.embeddings.word_embeddings.weight, m2.embeddings.word_embeddings.weight)
    assert torch.equal(
        m2.embeddings.word_embeddings.weight, enc.load_encoder_model(tiny).embeddings.word_embeddings.weight
    )


def test_default_encoder_is_the_bundled_minilm_directory():
    path = enc.default_encoder_path()
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["num_hidden_layers"] == 6 and cfg["hidden_size"] == 384
    assert enc.resolve_encoder(None) == path.resolve() == enc.resolve_encoder("minilm-l6")


def test_missing_encoder_directory_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError):
        enc.resolve_encoder(tmp_path / "nothing")


def test_ml_core_imports_without_django():
    code = (
        "import sys\n"
        "sys.modules['django'] = None\n"  # any `import django` now fails
        "import inference.core.encoder, inference.core.extraction.alignment, inference.core.extraction.ner, inference.core.extraction.relations\n"
        "import inference.core.extraction.note_classifier, inference.core.extraction.pipeline, inference.core.training\n"
        "import inference.core.extraction.artifacts, inference.cli\n"
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_configured_encoder_directory_is_used_when_none_is_named(tiny, monkeypatch):
    monkeypatch.setenv("ADE_REVIEW_ENCODER", str(tiny))
    assert enc.resolve_encoder(None) == Path(tiny).resolve()
    assert enc.resolve_encoder("minilm-l6") == enc.default_encoder_path().resolve()
