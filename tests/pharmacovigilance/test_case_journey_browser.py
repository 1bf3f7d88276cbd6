"""Issue 18's case journey in headless Chromium: a reviewer confirms a flagged demo note, opens its case (the drug
and the reaction pre-filled with their evidence), codes the reaction against the made-up MedDRA test files
through the look-up, answers the Naranjo questions (the score and the category shown live), marks the case
serious (hospitalisation) and moves it to assessed; then an admin exports it as FHIR and as ICH E2B(R3) from the
case page, and the downloaded files read back (fhir.resources validates the Bundle; e2br3 reads the ICSR) with
the case's drug, reaction, seriousness and causality intact."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotations.demo_corpus import ANNOTATION_CONF, VISUAL_CONF, demo_documents
from annotations.formats.brat_conf import load_schema
from annotations.models import AnnotationSet, Note, Patient, ProjectMembership
from annotations.services.corpus_import import project_get_or_create, text_hash
from annotations.services.document_store import annotation_sets_write
from annotations.services.schemas import project_schema_set
from pharmacovigilance.models import Case
from tests.conftest import FIXTURES, ROOT, browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
PASSWORD = "case journey pass 1"
ARTIFACTS = Path(os.environ.get("ADE_REVIEW_ARTIFACTS", ROOT / "tmp" / "artifacts")) / "cases"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def flagged_demo_note(db):
    """The demo project's schema and a flagged demo note (clozapine -> gastrointestinal bleeding) with the model's
    pre-annotations; the made-up MedDRA files loaded."""
    from inference.models import ModelVersion

    project = project_get_or_create(slug="demo", name="Demo ward")
    project_schema_set(project=project, schema=load_schema(ANNOTATION_CONF, VISUAL_CONF), inferred=False)
    reviewer = get_user_model().objects.create_user("reviewer", password=PASSWORD)
    ProjectMembership.objects.create(project=project, user=reviewer, role="reviewer")
    admin = get_user_model().objects.create_user("safety-admin", password=PASSWORD)
    ProjectMembership.objects.create(project=project, user=admin, role="admin")
    document = next(d for d in demo_documents() if d.id == "demo-011")
    patient = Patient.objects.create(project=project, external_id=document.metadata["patient"])
    note = Note.objects.create(project=project, patient=patient, external_id=document.id, text=document.text,
                               text_hash=text_hash(document.text), flagged=True, ade_probability=0.93,
                               ade_uncertainty=0.1, timestamp=datetime(2026, 3, 6, 8, tzinfo=UTC),
                               author_role="physician", note_type="discharge summary")
    model = ModelVersion.objects.create(project=project, name="ner-v1", path="/nonexistent", is_active=True)
    model_set = AnnotationSet.objects.create(note=note, source_kind="model", model_version=model,
                                             source_name="ner-v1", status="pre_annotated")
    annotation_sets_write([(model_set, document)], origin="model")
    call_command("load_terminology", str(FIXTURES / "terminologies" / "meddra" / "valid"), "--system", "meddra",
                 "--version", "99.0")
    return note


def test_a_reviewer_confirms_a_flagged_note_opens_its_case_codes_assesses_and_marks_it_assessed(
        browser, live_server, flagged_demo_note):
    from playwright.sync_api import expect

    note = flagged_demo_note
    page = browser_login(browser, live_server, "reviewer", PASSWORD)
    page.set_viewport_size({"width": 1400, "height": 1000})

    # 1. Confirm the model's flag on the note, staying on it.
    page.goto(f"{live_server.url}/projects/demo/notes/{note.pk}/")
    page.wait_for_selector("#decide-form")
    page.uncheck("#decision-next")
    page.click("#decide-form #sign-off-btn")
    page.wait_for_selector("#open-case-btn")
    assert "ADE confirmed" in page.inner_text(".messages")
    page.locator("#open-case-btn").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "01-note-confirmed-open-case.png"))  # the side column scrolls

    # 2. Open the case: drug and reaction pre-filled, each with its evidence from the note.
    page.click("#open-case-btn")
    page.wait_for_url(f"{live_server.url}/projects/demo/cases/*/")
    case = Case.objects.get()
    assert page.inner_text("#case-state") == "Draft" and page.inner_text("#case-patient") == note.patient.external_id
    drug = page.locator("#drugs .case-item").first
    assert drug.locator(".drug-name").inner_text() == "clozapine"
    assert drug.locator("input[name=dose]").input_value() == "5 mg daily"
    assert drug.locator("select[name=role]").input_value() == "suspect"
    assert "“5 mg daily”" in drug.locator(".evidence").inner_text()
    reaction = page.locator("#reactions .case-item").first
    assert reaction.locator(".reaction-term").inner_text() == "gastrointestinal bleeding"
    evidence = reaction.locator(".evidence a.evidence-link").first
    assert evidence.inner_text().startswith("demo-011") and f"/notes/{note.pk}/?set=" in evidence.get_attribute("href")
    assert "developed gastrointestinal bleeding" in page.input_value("#case-fields textarea[name=narrative]")
    shot(page, "02-case-prefilled")

    # 3. Code the reaction: type in the MedDRA look-up, pick the suggestion, save.
    query = reaction.locator("input.term-query")
    query.click()
    query.type("bleeding from the gut", delay=20)
    suggestion = reaction.locator(".term-suggestion", has_text="Bleeding from the gut")
    suggestion.wait_for()
    shot(page, "03-meddra-lookup")
    suggestion.click()
    assert reaction.locator("input[name=code]").input_value() == "95000006"  # the LLT
    assert reaction.locator("input[name=pt_code]").input_value() == "94000007"  # its PT
    assert reaction.locator("input[name=code_version]").input_value() == "99.0"
    reaction.locator("button.save-reaction").click()
    page.wait_for_load_state()
    coded = page.locator("#reactions .case-item").first.locator("h3 .coded-pt")
    assert "94000007" in coded.inner_text() and "Gastrointestinal bleeding" in coded.inner_text()

    # 4. Naranjo: the note's suggestions are pre-answered (Q2 after the drug, Q3 dechallenge), marked as such;
    # answering Q5 (no alternative cause) updates the score live: 2 + 1 + 2 = 5, probable.
    pair = page.locator("#causality .pair").first
    assert pair.locator("input[name=q2][value=yes]").is_checked()
    assert pair.locator("input[name=q3][value=yes]").is_checked()
    assert "suggested: Yes" in pair.locator(f"#q-{pair.get_attribute('id')[5:]}-3").inner_text()
    score = pair.locator(".naranjo-score")
    assert score.locator(".score").inner_text() == "3" and "not saved" in score.inner_text()
    pair.locator("input[name=q5][value=no]").check()
    expect(pair.locator(".naranjo-score .score")).to_have_text("5")  # swapped in by HTMX; nothing saved yet
    assert "not saved" in pair.locator(".naranjo-score").inner_text()
    assert pair.locator(".naranjo-score .category").inner_text() == "probable"
    pair.locator("input[name=q4][value=dont_know]").check()
    pair.locator("input[name=who_umc][value=probable]").check()
    shot(page, "04-naranjo-live-score")
    pair.locator("button.save-causality").click()
    page.wait_for_load_state()
    pair = page.locator("#causality .pair").first
    assert pair.locator(".naranjo-score .score").inner_text() == "5"
    assert "not saved" not in pair.locator(".naranjo-score").inner_text()
    assert "assessed by reviewer" in pair.locator("h3").inner_text()

    # 5. Serious: hospitalisation.
    page.check("#serious-hospitalisation")
    page.click("#case-fields-save")
    page.wait_for_load_state()
    assert page.inner_text("#serious-badge") == "serious"

    # 6. Assessed.
    page.click("#assess-btn")
    page.wait_for_load_state()
    assert page.inner_text("#case-state") == "Assessed"
    assert "assessed by reviewer" in page.inner_text(".case-head")
    shot(page, "05-case-assessed")

    # 7. The line listing shows it: assessed, serious, with its causality; filtered by drug.
    page.goto(f"{live_server.url}/projects/demo/")
    page.click("#cases-link")
    row = page.locator("#case-results tbody tr").first
    assert "Assessed" in row.inner_text() and row.locator(".serious-badge").inner_text() == "serious"
    assert "WHO-UMC probable, Naranjo 5 (probable)" in row.locator(".causality").inner_text()
    page.fill("input[name=drug]", "amoxicillin")
    expect(page.locator("#case-results")).to_contain_text("No cases match.")
    assert "amoxicillin" not in page.url and "search=" in page.url  # the drug filter is not in the address
    page.fill("input[name=drug]", "clozapine")
    expect(page.locator("#case-results .case-link")).to_have_count(1)
    shot(page, "06-line-listing")
    page.context.close()

    case.refresh_from_db()
    assert (case.state, case.serious_hospitalisation, case.assessed_by.username) == ("assessed", True, "reviewer")
    reaction_row = case.reactions.get()
    assert (reaction_row.code, reaction_row.pt_code, reaction_row.code_version) == ("95000006", "94000007", "99.0")
    causality = case.causality.get()
    assert (causality.naranjo_score, causality.naranjo_category, causality.who_umc) == (5, "probable", "probable")
    assert causality.naranjo_answers["5"] == "no" and causality.naranjo_answers["2"] == "yes"

    # 8. An admin exports the assessed case from its page, as FHIR and as E2B(R3), and downloads both files.
    page = browser_login(browser, live_server, "safety-admin", PASSWORD)
    files = {}
    for report_format in ("fhir", "e2b"):
        page.goto(f"{live_server.url}/projects/demo/cases/{case.pk}/")
        page.click("#export-case-reports")
        page.wait_for_selector("#case-export-form")
        assert "1 case" in page.inner_text("#case-export-selected")
        page.check(f"input[name=report_format][value={report_format}]")
        page.click("#start-case-export")
        page.wait_for_selector("#download")  # the job page, the job finished (tasks run in-process in tests)
        shot(page, f"07-exported-{report_format}")
        with page.expect_download() as download:
            page.click("#download")
        files[report_format] = Path(download.value.path()).read_bytes()
    page.context.close()

    import io
    import zipfile

    import e2br3
    from fhir.resources.R4B.bundle import Bundle

    with zipfile.ZipFile(io.BytesIO(files["fhir"])) as archive:
        (name,) = archive.namelist()
        bundle = Bundle.model_validate_json(archive.read(name))  # validates every resource
    resources = {e.resource.get_resource_type(): e.resource for e in bundle.entry}
    event = resources["AdverseEvent"]
    assert event.seriousness.coding[0].code == "serious"
    assert "94000007" in {c.code for c in event.event.coding} or "95000006" in {c.code for c in event.event.coding}
    assert any("clozapine" in (m.code.text or "") for e in bundle.entry
               if (m := e.resource).get_resource_type() == "Medication")
    assessment = event.suspectEntity[0].causality[0].assessment
    assert "probable" in (assessment.text or "").lower() or any(
        "probable" in (c.display or c.code or "").lower() for c in assessment.coding or [])
    assert b"developed gastrointestinal bleeding" not in files["fhir"]  # no note text unless asked for

    (icsr,) = e2br3.parse(files["e2b"]).icsrs
    assert icsr.drugs[0].product_name == "clozapine"
    assert icsr.reactions[0].meddra.code == "95000006" and icsr.reactions[0].hospitalisation is True
    assert icsr.drugs[0].relatedness[0].assessments[0].result == "Probable/Likely"
