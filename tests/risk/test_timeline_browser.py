"""The risk timeline in a real browser: the curve is drawn and hovering a point shows its phrase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from annotations.models import Note, Patient, ProjectMembership
from annotations.services.corpus_import import text_hash
from inference.risk.monitor import patient_risk_update
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTES = [
    "Pt c/o nausea after iv vancomycin.\nRash on both arms noted; doctor informed.",
    "Pt states feeling dizzy since morning dose.\nBP 90/60, low bp reported to Dr Kim.",
]


def test_timeline_draws_the_curve_and_shows_the_hovered_phrase(browser, live_server, monitored_project,
                                                               django_user_model, tmp_path):
    user = django_user_model.objects.create_user("nurse", password="pw-123456")
    ProjectMembership.objects.create(project=monitored_project, user=user, role="reviewer")
    patient = Patient.objects.create(project=monitored_project, external_id="bed-12")
    start = datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
    for i, text in enumerate(NOTES):
        Note.objects.create(project=monitored_project, patient=patient, external_id=f"n{i}", text=text,
                            text_hash=text_hash(text), timestamp=start + timedelta(hours=8 * i))
    points = patient_risk_update(patient_id=patient.pk)

    page = browser_login(browser, live_server, "nurse", "pw-123456")
    page.goto(f"{live_server.url}/projects/ward/risk/")
    page.click("text=bed-12")
    page.wait_for_load_state("load")  # the hover handlers are attached by a deferred script
    assert points >= 4 and page.locator("#risk-chart g.pt").count() == points
    assert page.locator("#risk-chart polyline.risk-line").get_attribute("points").count(",") == points
    page.locator("#risk-chart g.pt").nth(1).hover()
    assert "Rash on both arms noted" in page.locator("#phrase-detail").inner_text()
    assert page.locator("text=Synthetic data").is_visible()
    page.screenshot(path=str(tmp_path / "risk_timeline.png"), full_page=True)
