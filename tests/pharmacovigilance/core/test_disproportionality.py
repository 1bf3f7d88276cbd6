"""PRR and ROR with their 95 % intervals equal statsmodels' risk ratio and odds ratio on the same 2x2 tables,
the chi-square equals scipy's, and the Haldane correction applies only where a cell is zero."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2_contingency
from statsmodels.stats.contingency_tables import Table2x2

from pharmacovigilance.core.disproportionality import disproportionality

TABLES = [
    (12, 88, 30, 870),
    (3, 7, 40, 950),
    (1, 1, 1, 1),
    (250, 4000, 900, 120_000),
    (5, 0, 20, 300),  # a zero cell: Haldane
    (0, 40, 12, 600),  # the pair never reported
    (7, 13, 0, 980),  # the reaction never reported without the drug
    (2, 3, 4, 0),
]


@pytest.mark.parametrize("table", TABLES)
def test_prr_and_ror_with_intervals_equal_statsmodels(table):
    a, b, c, d = table
    ours = disproportionality(a, b, c, d)
    # Haldane-Anscombe: 0.5 added to every cell of a table with a zero (statsmodels' own shift_zeros replaces
    # only the zero cells), so statsmodels gets the shifted table and computes the ratios and intervals on it.
    shift = 0.5 if 0 in table else 0.0
    reference = Table2x2(np.array([[a, b], [c, d]], dtype=float) + shift, shift_zeros=False)
    prr_low, prr_high = reference.riskratio_confint(alpha=0.05)
    ror_low, ror_high = reference.oddsratio_confint(alpha=0.05)
    assert ours.prr == pytest.approx(reference.riskratio, rel=1e-9, abs=1e-9)
    assert ours.prr_low == pytest.approx(prr_low, rel=1e-9, abs=1e-9)
    assert ours.prr_high == pytest.approx(prr_high, rel=1e-9, abs=1e-9)
    assert ours.ror == pytest.approx(reference.oddsratio, rel=1e-9, abs=1e-9)
    assert ours.ror_low == pytest.approx(ror_low, rel=1e-9, abs=1e-9)
    assert ours.ror_high == pytest.approx(ror_high, rel=1e-9, abs=1e-9)
    assert ours.corrected == (0 in table)


@pytest.mark.parametrize("table", [t for t in TABLES if (t[0] + t[2]) and (t[1] + t[3])])
def test_chi_square_equals_scipy_with_yates_correction(table):
    a, b, c, d = table
    expected = chi2_contingency(np.array([[a, b], [c, d]]), correction=True)[0]
    assert disproportionality(a, b, c, d).chi2 == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_no_correction_without_a_zero_cell():
    # By hand: PRR = (12/100) / (30/900) = 3.6, ROR = 12*870 / (88*30).
    result = disproportionality(12, 88, 30, 870)
    assert not result.corrected
    assert result.prr == pytest.approx(3.6, rel=1e-12)
    assert result.ror == pytest.approx(12 * 870 / (88 * 30), rel=1e-12)
    se = math.sqrt(1 / 12 - 1 / 100 + 1 / 30 - 1 / 900)
    assert result.prr_low == pytest.approx(3.6 * math.exp(-1.959963984540054 * se), rel=1e-9)


def test_haldane_shift_on_a_zero_cell():
    result = disproportionality(5, 0, 20, 300)
    assert result.corrected
    assert result.ror == pytest.approx(5.5 * 300.5 / (0.5 * 20.5), rel=1e-12)


def test_evans_signal():
    assert disproportionality(12, 88, 30, 870).signal
    assert not disproportionality(2, 8, 30, 870).signal  # fewer than 3 reports of the pair
    assert not disproportionality(10, 90, 100, 900).signal  # PRR 1


@pytest.mark.parametrize("bad", [(-1, 2, 3, 4), (1.5, 2, 3, 4), (True, 2, 3, 4), ("1", 2, 3, 4), (0, 0, 3, 4),
                                 (1, 2, 0, 0)])
def test_bad_tables_are_refused(bad):
    with pytest.raises(ValueError):
        disproportionality(*bad)
