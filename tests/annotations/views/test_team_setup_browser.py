"""Issue 16's walk-through in headless Chromium, from an empty database holding only a superuser made by
`createsuperuser`: the superuser creates the team's accounts; the team's lead creates a project from an
uploaded MACCROBAT zip (schema inferred, events included), adds an annotator and a reviewer, gives a type a
colour and a display name; the annotator signs in, sees that project and no other, and opens a note with the
imported annotations."""

from __future__ import annotations

import os
import zipfile

import pytest
from django.core.management import call_command

from annotations.models import Note, Project, ProjectMembership
from annotations.services.schemas import project_schema_get
from tests.conftest import browser_login

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
DOCUMENTS = ("15939911", "16778410", "17803823")
ROOT_PASSWORD = "root pass phrase 1"


def _maccrobat_zip(corpus_dir, tmp_path):
    source = corpus_dir / "maccrobat2020"
    if not source.is_dir():
        pytest.skip(f"MACCROBAT not found at {source}")
    archive = tmp_path / "maccrobat.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for stem in DOCUMENTS:
            for suffix in (".txt", ".ann"):
                zf.write(source / f"{stem}{suffix}", f"maccrobat/{stem}{suffix}")
    return archive


def _create_user(page, live_server, username: str, *, staff: bool) -> str:
    """The superuser's Users page: a new account with a generated password (shown once), returned."""
    page.goto(f"{live_server.url}/accounts/users/new/")
    page.fill("input[name=username]", username)
    page.fill("input[name=first_name]", username.title())
    if staff:
        page.check("input[name=is_staff]")
    page.check("input[name=password_choice][value=generate]")
    page.click("#user-new-form button[type=submit]")
    return page.inner_text("#secret-value").strip()


def _first_login(browser, live_server, username: str, temporary: str):
    """Sign in with the temporary password and choose an own one (the account must change it)."""
    page = browser_login(browser, live_server, username, temporary)
    page.wait_for_url("**/accounts/password_change/**")
    mine = f"{username} own pass phrase 9"
    page.fill("input[name=old_password]", temporary)
    page.fill("input[name=new_password1]", mine)
    page.fill("input[name=new_password2]", mine)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def test_a_team_is_set_up_from_the_browser_and_its_annotator_sees_only_its_project(
    browser, live_server, corpus_dir, tmp_path, settings, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path / "media"
    archive = _maccrobat_zip(corpus_dir, tmp_path)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", ROOT_PASSWORD)
    call_command("createsuperuser", "--noinput", "--username", "root", "--email", "root@example.org")

    root = browser_login(browser, live_server, "root", ROOT_PASSWORD)
    passwords = {name: _create_user(root, live_server, name, staff=name == "lead")
                 for name in ("lead", "ann", "rev")}
    # Another team's project, which the annotator must not see.
    root.goto(f"{live_server.url}/projects/new/")
    root.fill("input[name=name]", "Other team")
    root.check("input[name=schema_source][value=template]")
    root.click("#create-project")
    root.wait_for_url(f"{live_server.url}/projects/other-team/")
    root.context.close()

    lead = _first_login(browser, live_server, "lead", passwords["lead"])
    lead.click("#new-project")
    lead.fill("input[name=name]", "Case reports")
    lead.fill("textarea[name=description]", "MACCROBAT case reports, team B")
    assert lead.is_checked("input[name=schema_source][value=corpus]")
    screenshot(lead, "project_new")
    lead.click("#create-project")
    lead.wait_for_url("**/projects/case-reports/jobs/?kind=import*")
    assert lead.input_value("select[name=kind]") == "import"
    lead.set_input_files("input[name=upload]", str(archive))
    lead.click("#start-job")
    lead.wait_for_selector("#job-progress[data-state=succeeded]", timeout=60_000)
    project = Project.objects.get(slug="case-reports")
    assert Note.objects.filter(project=project).count() == len(DOCUMENTS)
    schema = project_schema_get(project=project)
    assert schema.event_types, "MACCROBAT's events are part of the inferred schema"
    assert {"Medication", "Sign_symptom"} <= {t.name for t in schema.event_types}
    assert {"Age", "Dosage"} <= {t.name for t in schema.entity_types}

    lead.goto(f"{live_server.url}/projects/case-reports/members/")
    for username, role in (("ann", "annotator"), ("rev", "reviewer")):
        lead.fill("#member-username", username)
        lead.select_option("#member-role", role)
        lead.click("#member-add-button")
        lead.wait_for_selector(f"#members tr[data-username={username}]")
    roles = dict(ProjectMembership.objects.filter(project=project).values_list("user__username", "role"))
    assert roles == {"lead": "admin", "ann": "annotator", "rev": "reviewer"}
    screenshot(lead, "project_members")

    lead.goto(f"{live_server.url}/projects/case-reports/schema/")
    row = lead.locator('#entity-types tr:has(code:text-is("Dosage"))')
    row.locator("summary").first.click()
    row.locator("input[name=label]").fill("Dose given")
    row.locator("input[name=colour]").fill("#12ab34")
    row.locator(".style-form button").click()
    lead.wait_for_selector("#entity-types tr.saved .ok-note")
    style = project_schema_get(project=project).visual["Dosage"]
    assert (style.label, style.colour) == ("Dose given", "#12ab34")
    lead.context.close()

    ann = _first_login(browser, live_server, "ann", passwords["ann"])
    listed = ann.locator(".project-list li[data-slug]")
    assert listed.count() == 1 and listed.first.get_attribute("data-slug") == "case-reports"
    assert "Other team" not in ann.inner_text("main")
    assert ann.goto(f"{live_server.url}/projects/other-team/").status == 404
    note = Note.objects.get(project=project, external_id="17803823")  # it holds Dosage entities
    ann.goto(f"{live_server.url}/projects/case-reports/notes/{note.pk}/")
    ann.wait_for_selector("#note-text .e")
    assert ann.locator("#note-text .e").count() > 10
    # The display name the lead chose names the type's annotations in the text.
    assert ann.locator('#note-text .e[data-l^="Dose given"]').count() >= 1
    screenshot(ann, "annotator_note")
    ann.context.close()
