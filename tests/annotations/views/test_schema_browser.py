"""The schema page in Chromium: a colour saved from a row's form shows at once (the swapped row's stylesheet),
the rename form shows what it will rewrite, and the annotation.conf form's toolbar preview follows the text
as it is typed, its colours included; the Content-Security-Policy blocks nothing on the way."""

from __future__ import annotations

import pytest

from .conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch_csp(page) -> list[str]:
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return refused


def _background(page, selector: str) -> str:
    return page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor")


def test_an_admin_changes_a_colour_checks_a_rename_and_previews_the_toolbar(browser, live_server, ui):
    page = login(browser, live_server, "admin")
    refused = _watch_csp(page)
    page.goto(f"{live_server.url}/projects/ui/schema/")
    assert _background(page, '#entity-types .swatch[data-t="Drug"]') == "rgb(143, 184, 255)"  # #8fb8ff
    screenshot(page, "schema")

    row = page.locator('#entity-types tr:has(code:text-is("Dose"))')
    row.locator("summary").click()
    row.locator("input[name=label]").fill("Dosage")
    row.locator("input[name=colour]").fill("#123abc")
    row.locator(".style-form button").click()
    page.wait_for_selector('#entity-types tr.saved .ok-note')
    page.wait_for_function(
        """() => getComputedStyle(document.querySelector('#entity-types .swatch[data-t="Dose"]')).backgroundColor
                 === 'rgb(18, 58, 188)'""")
    assert "Dosage" in page.locator('#entity-types tr:has(code:text-is("Dose"))').inner_text()

    drug = page.locator('#entity-types tr:has(code:text-is("Drug"))')
    drug.locator("summary").click()
    drug.locator("input[name=new]").fill("Medicine")
    drug.locator(".rename-form button").click()
    assert drug.locator(".rename-counts").inner_text() == "2 entities in 1 note"
    screenshot(page, "schema_rename_check")

    page.goto(f"{live_server.url}/projects/ui/schema/conf/")
    assert page.eval_on_selector('#conf-preview .type-btn[data-type="Drug"]',
                                 "e => getComputedStyle(e).borderLeftColor") == "rgb(143, 184, 255)"
    visual = page.locator("#visual-conf")
    typed = visual.input_value().replace("#8fb8ff", "#ff00aa").replace("Drug | Drug", "Drug | Medicine")
    assert "#ff00aa" in typed and "Medicine" in typed
    visual.fill(typed)
    visual.press("End")  # an input event after fill, as typing makes
    page.wait_for_function(
        """() => { const b = document.querySelector('#conf-preview .type-btn[data-type="Drug"]');
                   return b && getComputedStyle(b).borderLeftColor === 'rgb(255, 0, 170)'; }""")
    assert "Medicine" in page.locator('#conf-preview .type-btn[data-type="Drug"]').inner_text()
    screenshot(page, "schema_conf_preview")
    assert not refused, refused
