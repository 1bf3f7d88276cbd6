"""The deployable risk bundle: unlabelled phrases, too little data, each phrase model, save and reload."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from inference.core.risk.patient_risk import split_stays, stays_from_patients
from inference.core.risk.phrase_classifier import TextCNNPhraseClassifier, TransformerPhraseClassifier
from inference.core.risk.phrase_labels import LabelledPatient
from inference.core.risk.risk_bundle import (
    UNLABELLED,
    InsufficientData,
    RiskBundle,
    min_patients_per_class,
    train_risk_bundle,
)
from inference.core.risk.synthetic_cohort import CohortConfig, generate_cohort
from tests.factories import tiny_encoder


def as_labelled(patients, keep=lambda k: True, states=None) -> list[LabelledPatient]:
    """Cohort patients as annotation records, with the phrases `keep` rejects left unlabelled."""
    return [
        LabelledPatient(
            id=p.id,
            adr=p.adr,
            report_time=p.report_time,
            texts=tuple(p.texts),
            states=tuple(
                s if keep(k) else UNLABELLED for k, s in enumerate(states(p) if states else p.states)
            ),
            times=tuple(p.times),
            synthetic=True,
        )
        for p in patients
    ]


@pytest.fixture(scope="module")
def cohort():
    return generate_cohort(CohortConfig(n_adr=8, seed=4))


def test_the_8_1_1_split_needs_eight_patients_of_each_class() -> None:
    assert min_patients_per_class() == 8
    assert min_patients_per_class((1, 1, 1)) == 3


def test_unlabelled_phrases_are_no_examples_for_the_phrase_classifier(cohort) -> None:
    patients = as_labelled(cohort, keep=lambda k: k % 2 == 0)
    bundle, classifier = train_risk_bundle(patients, seed=0)
    train, _, test = split_stays(stays_from_patients(patients), seed=0)
    labelled_train = sum(s != UNLABELLED for p in train for s in p.states)
    assert bundle.metrics["labelled_train_phrases"] == labelled_train < sum(len(p.states) for p in train)
    assert bundle.metrics["labelled_test_phrases"] == sum(s != UNLABELLED for p in test for s in p.states)
    assert 0.0 <= bundle.metrics["phrase_accuracy"] <= 1.0 and bundle.synthetic
    assert len(bundle.values) == 7 and bundle.phrase_model == "tfidf" and classifier.kind == "tfidf"


def test_too_few_patients_or_labelled_states_are_refused_with_a_code(cohort) -> None:
    patients = as_labelled(cohort)
    seven_each = [p for p in patients if p.adr][:7] + [p for p in patients if not p.adr][:7]
    with pytest.raises(InsufficientData, match="at least 8 ADR and 8 non-ADR") as exc:
        train_risk_bundle(seven_each)
    assert exc.value.code == "too_few_patients"
    one_state = [replace(p, states=tuple(0 if k == 0 else UNLABELLED for k in range(len(p.states))))
                 for p in patients]  # fmt: skip
    with pytest.raises(InsufficientData) as exc:
        train_risk_bundle(one_state)
    assert exc.value.code == "too_few_phrase_labels"


def test_a_project_state_set_of_its_own_gives_one_value_per_state(cohort) -> None:
    # the study's 7 states folded into 3: calm (unknown, drug-related), reaction, complaint
    fold = {0: 0, 1: 0, 2: 1, 3: 0, 4: 2, 5: 1, 6: 2}
    patients = as_labelled(cohort, states=lambda p: [fold[s] for s in p.states])
    bundle, classifier = train_risk_bundle(patients, states=("calm", "reaction", "complaint"))
    assert bundle.state_names == ("calm", "reaction", "complaint") and len(bundle.values) == 3
    assert classifier.predict_proba(["rash on both arms"]).shape == (1, 3)


@pytest.mark.parametrize("phrase_model", ["cnn", "transformer"])
def test_a_bundle_saves_and_reloads_its_phrase_model(cohort, phrase_model, tmp_path_factory) -> None:
    options = {"epochs": 1}
    if phrase_model == "transformer":
        options |= {
            "encoder": str(tiny_encoder(tmp_path_factory.mktemp("tiny"))),
            "threads": 1,
            "batch_size": 64,
        }
    bundle, classifier = train_risk_bundle(
        as_labelled(cohort), phrase_model=phrase_model, phrase_options=options
    )
    directory = tmp_path_factory.mktemp("bundle")
    bundle.save(directory, classifier)
    assert json.loads((directory / "risk.json").read_text())["phrase_model"] == phrase_model
    again, reloaded = RiskBundle.load(directory)
    assert again == bundle
    assert isinstance(
        reloaded, {"cnn": TextCNNPhraseClassifier, "transformer": TransformerPhraseClassifier}[phrase_model]
    )
    texts = list(cohort[0].texts[:20])
    np.testing.assert_allclose(reloaded.predict_proba(texts), classifier.predict_proba(texts), atol=1e-6)
    with pytest.raises(ValueError):
        replace(bundle, phrase_model="tfidf").save(directory, classifier)


def test_a_bundle_written_before_phrase_models_existed_loads_as_tfidf(cohort, tmp_path) -> None:
    bundle, classifier = train_risk_bundle(as_labelled(cohort))
    bundle.save(tmp_path, classifier)
    data = json.loads((tmp_path / "risk.json").read_text())
    del data["phrase_model"]
    (tmp_path / "risk.json").write_text(json.dumps(data))
    again, reloaded = RiskBundle.load(tmp_path)
    assert again.phrase_model == "tfidf" and reloaded.kind == "tfidf"
