"""Helpers for the format tests: fixture folders, the public corpora folder, parse/write round trips."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # the project may not be installed in the running environment
    sys.path.insert(0, str(ROOT))

from annotations.formats.brat import parse_brat, write_ann  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "formats"


def corpora_root() -> Path:
    return Path(os.environ.get("ADE_REVIEW_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def data() -> Path:
    """The public corpora folder (ADE_REVIEW_DATA, default <project>/../shared/data); skips when absent."""
    path = corpora_root()
    if not path.is_dir():
        pytest.skip(f"public corpora folder not found at {path}; set ADE_REVIEW_DATA to run corpus tests")
    return path


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"corpus not found at {path}; set ADE_REVIEW_DATA to the shared data folder")
    return path


def round_trip(doc):
    """Write `doc` as brat and parse it back."""
    return parse_brat(doc.text, write_ann(doc), doc_id=doc.id, source=f"{doc.id}.ann")
