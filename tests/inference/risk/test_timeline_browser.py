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


def test_timeline_has_a_labelled_time_axis_and_its_phrases_open_their_notes(browser, live_server, monitored_project,
                                                                            django_user_model):
    user = django_user_model.objects.create_user("nurse2", password="pw-123456")
    ProjectMembership.objects.create(project=monitored_project, user=user, role="reviewer")
    patient = Patient.objects.create(project=monitored_project, external_id="bed-14")
    start = datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
    notes = [
        Note.objects.create(project=monitored_project, patient=patient, external_id=f"day{i}", text=text,
                            text_hash=text_hash(text), timestamp=start + timedelta(days=2 * i, hours=i))
        for i, text in enumerate(NOTES + NOTES[:1])
    ]
    assert patient_risk_update(patient_id=patient.pk) >= 6

    page = browser_login(browser, live_server, "nurse2", "pw-123456")
    page.goto(f"{live_server.url}/projects/ward/risk/{patient.pk}/")
    page.wait_for_load_state("load")
    ticks = page.locator("#risk-chart .time-tick text")
    labels = [ticks.nth(i).text_content() for i in range(ticks.count())]
    assert 3 <= len(labels) <= 7, labels
    assert any("May" in label for label in labels), labels
    xs = [float(page.locator("#risk-chart g.pt circle").nth(i).get_attribute("cx"))
          for i in range(page.locator("#risk-chart g.pt").count())]
    assert xs == sorted(xs) and xs[-1] - xs[0] > 500  # laid out along time, across the plot
    page.screenshot(path="/tmp/h3/risk_timeline_axis.png", full_page=True)

    last = page.locator("#risk-chart g.pt").last
    last.hover()
    detail_link = page.locator("#phrase-detail a.detail-note-link")
    assert detail_link.inner_text() == "Open note day2"
    assert detail_link.get_attribute("href") == f"/projects/ward/notes/{notes[2].pk}/"

    page.locator("ol.phrases a.phrase-link", has_text="Rash on both arms noted").first.click()
    page.wait_for_url(f"{live_server.url}/projects/ward/notes/{notes[0].pk}/")
    assert "Rash on both arms noted" in page.locator("body").inner_text()
