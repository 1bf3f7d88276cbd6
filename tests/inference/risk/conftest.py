from __future__ import annotations

import pytest

from inference.core.risk.risk_bundle import train_risk_bundle
from inference.core.risk.synthetic_cohort import CohortConfig, generate_cohort


@pytest.fixture(scope="session")
def risk_bundle_dir(tmp_path_factory):
    """A risk model trained once per test session on a small synthetic cohort."""
    bundle, classifier = train_risk_bundle(generate_cohort(CohortConfig(n_adr=12, seed=3)))
    directory = tmp_path_factory.mktemp("risk-model")
    bundle.save(directory, classifier)
    return directory, bundle


@pytest.fixture
def monitored_project(db, risk_bundle_dir):
    from annotations.services.corpus_import import project_get_or_create
    from inference.models.risk import RiskModel

    directory, bundle = risk_bundle_dir
    project = project_get_or_create(slug="ward")
    RiskModel.objects.create(
        project=project, name="test", path=str(directory), state_names=list(bundle.state_names),
        state_values=list(bundle.values), synthetic=True, is_active=True,
    )
    return project
