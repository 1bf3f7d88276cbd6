"""Shared fixtures: users with project roles, the corpus folder, small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def data_dir() -> Path:
    return Path(os.environ.get("ADE_REVIEW_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def corpus_dir():
    """The public corpora folder; skips when it is absent."""
    path = data_dir()
    if not path.is_dir():
        pytest.skip(f"public corpora not found at {path} (set ADE_REVIEW_DATA)")
    return path
