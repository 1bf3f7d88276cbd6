"""Disproportionality of a drug-reaction pair from a 2x2 table: the proportional reporting ratio (PRR) and the
reporting odds ratio (ROR), each with its 95 % confidence interval, and Yates' chi-square.

The table counts reports (here: notes) as

                      reaction   other reactions
    drug              a          b
    other drugs       c          d

PRR = [a / (a + b)] / [c / (c + d)], its interval exp(ln PRR +- z * sqrt(1/a - 1/(a+b) + 1/c - 1/(c+d)))
(Rothman-Greenland, the risk ratio's log interval: statsmodels' `Table2x2.riskratio_confint`);
ROR = (a * d) / (b * c), its interval exp(ln ROR +- z * sqrt(1/a + 1/b + 1/c + 1/d)) (Woolf's, statsmodels'
`Table2x2.oddsratio_confint`). z is the standard normal's 97.5 % quantile.

Zero cells: a ratio or its log interval is undefined when a cell is zero, so then, and only then, 0.5 is added
to every cell of that table (the Haldane-Anscombe correction, as pharmacovigilance papers apply it to the ROR); a
table without a zero is used as it is, and `corrected` says which happened. (statsmodels' `shift_zeros` differs:
it replaces only the zero cells by 0.5; the tests compare with statsmodels on the shifted table.)

A signal by Evans et al. (2001): PRR >= 2, chi-square >= 4 and a >= 3. Framework-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

__all__ = ["Disproportionality", "disproportionality", "Z_95"]

Z_95 = NormalDist().inv_cdf(0.975)
HALDANE = 0.5


@dataclass(frozen=True)
class Disproportionality:
    a: int
    b: int
    c: int
    d: int
    prr: float
    prr_low: float
    prr_high: float
    ror: float
    ror_low: float
    ror_high: float
    chi2: float  # Pearson's with Yates' continuity correction, on the counts as given (no Haldane shift)
    corrected: bool  # 0.5 added to every cell because one was zero

    @property
    def n(self) -> int:
        return self.a + self.b + self.c + self.d

    @property
    def signal(self) -> bool:
        """Evans' criteria: PRR >= 2, chi-square >= 4 and at least 3 reports of the pair."""
        return self.a >= 3 and self.prr >= 2 and self.chi2 >= 4

    def to_dict(self) -> dict:
        return {
            "a": self.a, "b": self.b, "c": self.c, "d": self.d,
            "prr": self.prr, "prr_low": self.prr_low, "prr_high": self.prr_high,
            "ror": self.ror, "ror_low": self.ror_low, "ror_high": self.ror_high,
            "chi2": self.chi2, "corrected": self.corrected, "signal": self.signal,
        }


def _yates_chi2(a: int, b: int, c: int, d: int) -> float:
    n = a + b + c + d
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    if margins == 0:
        return 0.0  # a whole row or column is empty: nothing to compare (scipy gives no statistic either)
    # scipy's chi2_contingency(correction=True) shrinks |O - E| by 0.5 but never below zero; in closed form:
    diff = max(abs(a * d - b * c) - n / 2, 0.0)
    return n * diff * diff / margins


def disproportionality(a: int, b: int, c: int, d: int, *, z: float = Z_95) -> Disproportionality:
    """PRR and ROR with their confidence intervals (95 % by default) for the 2x2 table (a, b, c, d).

    Args: the four cell counts (see the module docstring), each a non-negative whole number; `z` the normal
    quantile of the interval. Result: a Disproportionality. Errors: ValueError for a negative or non-whole
    count, or a table whose drug row or comparison row is empty (no proportion to compare).
    """
    for name, value in (("a", a), ("b", b), ("c", c), ("d", d)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative whole number, got {value!r}")
    if a + b == 0 or c + d == 0:
        raise ValueError("the drug row (a + b) and the comparison row (c + d) must each hold a report")
    corrected = 0 in (a, b, c, d)
    shift = HALDANE if corrected else 0.0
    fa, fb, fc, fd = a + shift, b + shift, c + shift, d + shift
    log_prr = math.log(fa / (fa + fb)) - math.log(fc / (fc + fd))
    se_prr = math.sqrt(1 / fa - 1 / (fa + fb) + 1 / fc - 1 / (fc + fd))
    log_ror = math.log(fa) + math.log(fd) - math.log(fb) - math.log(fc)
    se_ror = math.sqrt(1 / fa + 1 / fb + 1 / fc + 1 / fd)
    return Disproportionality(
        a=a, b=b, c=c, d=d,
        prr=math.exp(log_prr), prr_low=math.exp(log_prr - z * se_prr), prr_high=math.exp(log_prr + z * se_prr),
        ror=math.exp(log_ror), ror_low=math.exp(log_ror - z * se_ror), ror_high=math.exp(log_ror + z * se_ror),
        chi2=_yates_chi2(a, b, c, d), corrected=corrected,
    )
