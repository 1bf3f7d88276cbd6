"""benchmarks/term_lookup.py on a small made-up MedDRA (benchmarks/cases.py imports measure_term_lookup): the
files it writes are a valid distribution and one tiny run gives every metric."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pharmacovigilance.core import terminology as t

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))  # the scripts import their `_common` helper as a top module
    import benchmarks.term_lookup as bench

    return bench


def test_the_made_up_distribution_reads_cleanly(bench, tmp_path):
    terms = bench.write_meddra_like(tmp_path, 600)
    found, problems = t.terminology_files("meddra", [p.name for p in tmp_path.iterdir()])
    sources = {k: t.Source(m, lambda p=tmp_path / m: t.lines_of(p.read_bytes())) for k, m in found.items()}
    records = list(t.read_meddra(sources, problems=problems))
    assert problems == [] and len(terms) == 600
    assert sum(1 for r in records if getattr(r, "level", "") == "LLT") == 600
    queries = bench.typed_queries(terms, 8)
    assert [k for _, _, k in queries] == ["prefix", "words", "whole", "typo"] * 2


@pytest.mark.django_db
def test_a_tiny_run_gives_every_metric(bench):
    metrics = bench.measure_term_lookup(1200, n_queries=12)
    assert metrics["term_lookup_terms"] == 1200 and metrics["term_lookup_queries"] == 12
    assert metrics["term_lookup_p95_ms"] > 0 and metrics["term_search_p95_ms"] > 0
    assert 0 < metrics["term_lookup_intended_in_top10"] <= 1
    assert all(isinstance(v, int | float) for v in metrics.values())
