"""The safety overview in headless Chromium, under the app's Content-Security-Policy: a reviewer reaches it from
the project page, the forest plot and the monthly chart load (PNG from the app's own view), the table shows the
pair's signal, and switching the options re-draws the page; an admin reaches the case export page from there."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model

from annotations.formats.jsonl import dumps_document
from annotations.models import ProjectMembership
from annotations.services.corpus_import import corpus_import, project_get_or_create
from tests.conftest import browser_login

from .test_safety import corpus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def test_a_reviewer_reads_the_signal_and_its_plots(browser, live_server, tmp_path):
    project = project_get_or_create(slug="safety-browser", name="Safety browser")
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(dumps_document(d) for d in corpus()), encoding="utf-8")
    corpus_import(project=project, path=path, fmt="jsonl")
    for name, role in (("rita", "reviewer"), ("adam", "admin")):
        user = get_user_model().objects.create_user(name, password=f"pw-{name}-123")
        ProjectMembership.objects.create(project=project, user=user, role=role)

    page = browser_login(browser, live_server, "rita", "pw-rita-123")
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_server.url}/projects/{project.slug}/")
    page.click("#safety-link")
    page.wait_for_selector("#safety-table")
    for image in ("#safety-forest", "#safety-time-chart"):  # polled here: the CSP forbids wait_for_function's eval
        for _ in range(100):
            width = page.eval_on_selector(image, "img => img.complete ? img.naturalWidth : -1")
            if width >= 0:
                break
            page.wait_for_timeout(100)
        assert width > 300, image
    row = page.locator('#safety-table tr[data-drug="atc:B01AA03"][data-reaction="mdr:10005103"]')
    assert "signal" in row.inner_text() and "4" in row.inner_text()
    page.select_option("select[name=atc_level]", "1")
    page.click("#safety-options button[type=submit]")
    page.wait_for_selector('#safety-table tr[data-drug="atc:B"]')
    assert refused == []
    assert page.locator("#case-export-link").count() == 0  # exports are for admins

    admin = browser_login(browser, live_server, "adam", "pw-adam-123")
    admin.goto(f"{live_server.url}/projects/{project.slug}/")
    admin.click("#case-export-link")
    admin.wait_for_selector("#case-export-form")
    assert "0 cases" in admin.inner_text("#case-export-form")
