"""The editor's normalization field with the term look-up, in headless Chromium: an annotator types a few
letters of a reaction, picks a MedDRA suggestion (fields filled by static/js/term_lookup.js), normalizes;
a drug span looks ATC up. Also a site administrator loads a terminology from the upload page and watches
the job finish. Screenshots go to tmp/artifacts (not the repository)."""

from __future__ import annotations

import os

import pytest

from annotations.models import Normalization
from pharmacovigilance.terminology.models import Terminology
from pharmacovigilance.terminology.services import terminology_load
from tests.annotations.views.conftest import PASSWORD, login, screenshot, ui  # noqa: F401  (the `ui` fixture)

from .conftest import ATC, MEDDRA

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def test_an_annotator_codes_a_reaction_and_a_drug_from_the_look_up(browser, live_server, ui):  # noqa: F811
    terminology_load(by=None, system="meddra", version="27.0", files=MEDDRA)
    terminology_load(by=None, system="atc", version="2024", files=ATC)
    note = ui["note"]
    page = login(browser, live_server, "annotator")
    page.goto(f"{live_server.url}/projects/ui/notes/{note.pk}/")
    page.wait_for_selector("html[data-editor-ready]")

    page.locator('#note-text .e[data-id="T3"]').first.click()  # "rash", an Adverse-Effect pre-label
    page.wait_for_selector('#entity-panel[data-entity="T3"]')
    assert page.input_value("#term-lookup select[name=system]") == "meddra"
    page.fill("#term-query", "itchy ra")
    page.wait_for_selector("#term-results .term-suggestion")
    first = page.locator("#term-results .term-suggestion").first
    assert first.get_attribute("data-code") == "95000007" and first.get_attribute("data-pt-text") == "Rash pruritic"
    screenshot(page, "term-lookup-suggestions")
    first.click()
    assert page.input_value("#norm-value") == "MedDRA:95000007"
    assert page.input_value("#norm-text") == "Itchy rash"
    assert page.locator("#term-results .term-suggestion").count() == 0
    page.click("#normalize-btn")
    page.wait_for_selector("#flash.ok")
    saved = Normalization.objects.get(annotation_set__user__username="annotator", entity__local_id="T3")
    assert (saved.resource, saved.resource_id, saved.text) == ("MedDRA", "95000007", "Itchy rash")

    page.locator('#note-text .e[data-id="T1"]').first.click()  # "warfarin", a Drug
    page.wait_for_selector('#entity-panel[data-entity="T1"]')
    assert page.input_value("#term-lookup select[name=system]") == "atc"
    page.fill("#term-query", "warf")
    page.wait_for_selector("#term-results .term-suggestion")
    page.locator("#term-results .term-suggestion").first.click()
    assert page.input_value("#norm-value") == "ATC:B01AA03"


def test_a_site_administrator_loads_a_terminology_from_the_page(browser, live_server, django_user_model, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ADE_REVIEW_JOBS_IN_THREAD = True  # no broker: the job runs in a thread, the page polls it
    django_user_model.objects.create_user("siteadmin", password=PASSWORD, is_staff=True)
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/?next=/terminology/")
    page.fill("input[name=username]", "siteadmin")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_selector("#terminology-upload-form")
    page.select_option("#id_system", "atc")
    page.fill("#id_version", "2024")
    page.set_input_files("#id_upload", str(ATC))
    page.click("#terminology-upload")
    page.wait_for_selector('#load-progress[data-state="succeeded"]')
    assert "loaded ATC 2024 (15 terms)" in page.inner_text("#load-progress")
    screenshot(page, "terminology-load-finished")
    page.goto(f"{live_server.url}/terminology/")
    assert "2024" in page.inner_text("#terminologies-current")
    assert Terminology.objects.get(current=True).version == "2024"
