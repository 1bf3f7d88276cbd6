"""The synthetic nursing-phrase cohort: seeded, labelled synthetic, and faithful to its documented process."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from inference.core.risk.phrase_classifier import STUDY_STATES
from inference.core.risk.synthetic_cohort import TEMPLATES, CohortConfig, cohort_summary, generate_cohort


@pytest.fixture(scope="module")
def cohort():
    return generate_cohort(CohortConfig(n_adr=60, seed=3))


def test_seeded_and_deterministic(cohort) -> None:
    again = generate_cohort(CohortConfig(n_adr=60, seed=3))
    assert again == cohort
    other = generate_cohort(CohortConfig(n_adr=60, seed=4))
    assert [p.texts for p in other] != [p.texts for p in cohort]


def test_every_record_is_marked_synthetic(cohort) -> None:
    assert all(p.synthetic for p in cohort)
    assert all(ph.synthetic for p in cohort for ph in p.phrases)


def test_adr_patients_and_their_matched_controls(cohort) -> None:
    assert len(cohort) == 120
    assert len({p.id for p in cohort}) == 120
    adr = {p.id: p for p in cohort if p.adr}
    controls = [p for p in cohort if not p.adr]
    assert len(adr) == len(controls) == 60
    for c in controls:
        assert c.matched_to in adr and c.report_time is None and c.onset_time is None
        ratio = c.discharge_time / adr[c.matched_to].discharge_time
        assert 0.8 <= ratio <= 1.2 or c.discharge_time == 48.0  # matched stay length (floor at 2 days)


def test_under_reporting_and_report_times(cohort) -> None:
    adr = [p for p in cohort if p.adr]
    unreported = [p for p in adr if p.report_time is None]
    assert 0 < len(unreported) < len(adr) / 2  # 20 % under-reporting by default
    for p in adr:
        if p.report_time is not None:
            assert p.onset_time is not None and p.onset_time <= p.report_time <= p.discharge_time


def test_phrases_are_ordered_within_the_stay_with_valid_states(cohort) -> None:
    for p in cohort:
        times = np.array(p.times)
        assert len(times) >= 3
        assert np.all(np.diff(times) >= 0) and times[0] >= 0 and times[-1] <= p.discharge_time
        assert all(
            0 <= ph.state < len(STUDY_STATES) and 0 <= ph.true_state < len(STUDY_STATES) for ph in p.phrases
        )
        assert all(ph.text.strip() for ph in p.phrases)
    assert set(TEMPLATES) == set(range(len(STUDY_STATES)))


def test_label_noise_matches_the_config(cohort) -> None:
    assert 0.02 < cohort_summary(cohort)["label_noise_observed"] < 0.09
    clean = generate_cohort(CohortConfig(n_adr=5, seed=1, label_noise=0.0))
    assert all(ph.state == ph.true_state for p in clean for ph in p.phrases)


def test_adr_patients_write_more_drug_reaction_phrases(cohort) -> None:
    def share(patients, states):
        phrases = [ph for p in patients for ph in p.phrases]
        return sum(ph.true_state in states for ph in phrases) / len(phrases)

    adr = [p for p in cohort if p.adr]
    controls = [p for p in cohort if not p.adr]
    assert share(adr, {5, 6}) > 1.5 * share(controls, {5, 6})
    # the culprit drug is named in most ADR patients' drug phrases
    named = [
        any(p.culprit_drug.lower() in ph.text.lower() for ph in p.phrases if ph.true_state in (1, 5, 6))
        for p in adr
    ]
    assert sum(named) >= 0.8 * len(adr)


def test_config_is_a_frozen_dataclass() -> None:
    cfg = CohortConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.n_adr = 3  # type: ignore[misc]
    assert len(cfg.baseline_probs) == len(cfg.adr_probs) == len(cfg.flare_probs) == len(STUDY_STATES)
