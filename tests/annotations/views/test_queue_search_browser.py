"""The queue's text search in Chromium: typing a term shows the matches, and neither the address bar nor
any request URL the page sends carries the term (it goes by POST; the URL names a session token)."""

from __future__ import annotations

import pytest

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_typing_a_search_never_puts_the_term_in_a_url(browser, live_server, ui):
    page = login(browser, live_server, "annotator")
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(f"{live_server.url}/projects/ui/queue/")
    page.locator("#q").press_sequentially("bleeds")  # keyup: the form posts itself
    page.wait_for_function("() => location.search.includes('search=')")
    page.wait_for_selector("#queue-results a.note-link")
    assert page.locator("a.note-link").all_inner_texts() == ["note-ade"]
    before = page.url
    page.fill("input[name=patient]", "patient-7")
    page.locator("input[name=patient]").press("Enter")
    page.wait_for_function("(before) => location.href !== before", arg=before)
    assert page.locator("a.note-link").all_inner_texts() == ["note-ade"]
    page.reload()  # the token address shows the same search
    assert page.locator("a.note-link").all_inner_texts() == ["note-ade"]
    assert page.input_value("#q") == "bleeds"
    for url in [*urls, page.url]:
        assert "bleeds" not in url and "patient-7" not in url, url
    page.context.close()
