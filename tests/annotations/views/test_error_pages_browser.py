"""The 404 page in a real browser: the app's layout, and its links lead back."""

from __future__ import annotations

import pytest
from django.test import override_settings

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@override_settings(DEBUG=False)
def test_a_missing_page_is_styled_and_leads_back_to_where_the_user_was(browser, live_server, ui):
    page = login(browser, live_server, "outsider")
    page.goto(f"{live_server.url}/")
    # Another project's page: the same 404 as a page that does not exist (nothing says the project exists).
    page.goto(f"{live_server.url}/projects/ui/queue/", referer=f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Page not found"
    assert page.locator("header.topbar .who").inner_text() == "outsider"  # the app's layout, logged in
    background = page.eval_on_selector(".error-page", "e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(255, 255, 255)"  # app.css applies (not the bare DEBUG=False default)
    page.screenshot(path="/tmp/h3/404.png", full_page=True)
    page.click("#back-link")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/projects/no-such-project/")
    page.click("#projects-link")
    page.wait_for_url(f"{live_server.url}/")
