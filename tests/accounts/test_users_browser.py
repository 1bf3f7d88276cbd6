"""Headless Chromium: a superuser creates a user who must change the password; that person signs in, is sent
to the password change, chooses a new password and reaches the project list; then makes an API token.
Screenshots of the users page and the tokens page go to ADE_REVIEW_SHOTS (default tmp/artifacts)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from accounts.selectors import account_must_change_password
from annotations.models import Project, ProjectMembership
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
SHOTS = Path(os.environ.get("ADE_REVIEW_SHOTS", Path(__file__).resolve().parents[2] / "tmp" / "artifacts"))
NEW_PASSWORD = "nina's own pass phrase"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_new_user_must_change_the_temporary_password_before_reaching_the_projects(browser, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect  # waits without eval (the CSP forbids it)
    User = get_user_model()
    User.objects.create_superuser("root", "root@example.org", "root-pass-phrase")
    for i in range(6):  # a list with some variety for the screenshot
        User.objects.create_user(f"annotator{i}", f"a{i}@example.org", "pw-annotator", first_name=f"Ann {i}",
                                 is_active=i != 4, is_staff=i == 2)
    project = Project.objects.create(slug="ward-7", name="Ward 7 notes")

    admin = browser_login(browser, live_server, "root", "root-pass-phrase")
    admin.click("#nav-users")
    admin.wait_for_selector("#user-results")
    admin.click("#user-new-link")
    admin.fill("input[name=username]", "nina")
    admin.fill("input[name=first_name]", "Nina")
    admin.fill("input[name=last_name]", "Nurse")
    admin.fill("input[name=email]", "nina@example.org")
    admin.check("input[name=password_choice][value=generate]")
    assert admin.is_checked("input[name=must_change_password]")
    shot(admin, "user-new")
    admin.click("#user-new-form button[type=submit]")
    temporary = admin.inner_text("#secret-value").strip()
    assert len(temporary) == 16
    shot(admin, "user-created")
    nina = User.objects.get(username="nina")
    assert account_must_change_password(user_id=nina.pk)
    ProjectMembership.objects.create(project=project, user=nina, role="annotator")
    admin.goto(f"{live_server.url}/accounts/users/")
    admin.wait_for_selector("#user-results")
    # Search narrows the list in place (htmx swaps #user-results).
    admin.fill("#user-q", "nin")
    expect(admin.locator("#user-results tbody tr")).to_have_count(1)
    assert "nina" in admin.inner_text("#user-results")
    admin.fill("#user-q", "")
    expect(admin.locator("#user-results tbody tr")).to_have_count(8)
    shot(admin, "users-page")
    admin.context.close()

    person = browser_login(browser, live_server, "nina", temporary)
    person.wait_for_url(f"{live_server.url}/accounts/password_change/?next=%2F")
    assert "You must choose a new password" in person.inner_text("#password-change-required")
    shot(person, "password-change-required")
    person.goto(f"{live_server.url}/projects/ward-7/")  # any page: back to the password change
    person.wait_for_url("**/accounts/password_change/**")
    person.fill("input[name=old_password]", temporary)
    person.fill("input[name=new_password1]", NEW_PASSWORD)
    person.fill("input[name=new_password2]", NEW_PASSWORD)
    person.click("form.login button[type=submit]")
    person.wait_for_url(f"{live_server.url}/projects/ward-7/")
    person.goto(f"{live_server.url}/")
    assert person.inner_text("h1") == "Projects" and "Ward 7 notes" in person.inner_text("main")
    assert not account_must_change_password(user_id=nina.pk)

    person.click("#nav-tokens")
    person.fill("input[name=name]", "ward laptop script")
    person.click("#token-form button[type=submit]")
    person.wait_for_selector("#new-token")
    assert "ward laptop script" in person.inner_text("#token-panel table")
    assert person.url == f"{live_server.url}/accounts/tokens/"  # htmx swapped the panel, no reload
    shot(person, "tokens-page")
    person.context.close()
