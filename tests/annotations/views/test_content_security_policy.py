"""The pages' Content-Security-Policy allows no inline style (issue 13, finding 3): no 'unsafe-inline', a
fresh style nonce per response, the editor's one <style> element carrying it, and no style attribute in
any page the policy would have to block."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))


def test_the_policy_allows_no_inline_style_or_script_and_names_a_fresh_nonce(client, ui):
    client.force_login(ui["users"]["annotator"])
    first, second = client.get("/projects/ui/"), client.get("/projects/ui/")
    assert "unsafe-inline" not in first["Content-Security-Policy"]
    assert "unsafe-eval" not in first["Content-Security-Policy"]
    nonce = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9_-]{20,})'", directives(first)["style-src"]).group(1)
    assert nonce not in second["Content-Security-Policy"]  # one per response
    assert directives(first)["script-src"] == "'self'"


def test_the_editor_styles_types_only_through_its_nonced_stylesheet(client, ui):
    client.force_login(ui["users"]["annotator"])
    response = client.get(f"/projects/ui/notes/{ui['note'].pk}/")
    html = response.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", directives(response)["style-src"]).group(1)
    assert re.findall(r"<style[^>]*>", html) == [f'<style nonce="{nonce}">']
    assert ".c0,.swatch[data-t=" in html  # the type colours, from the checked schema colours


@pytest.mark.parametrize(
    "path",
    ["/projects/ui/", "/projects/ui/queue/", "NOTE", "PATIENT", "/projects/ui/models/", "/projects/ui/annotate/", "RISK",
     "/projects/ui/jobs/"],
)
def test_no_page_carries_a_style_attribute(client, ui, path):
    path = {
        "NOTE": f"/projects/ui/notes/{ui['note'].pk}/",
        "PATIENT": f"/projects/ui/patients/{ui['patient'].pk}/",
        "RISK": f"/projects/ui/risk/{ui['patient'].pk}/",
    }.get(path, path)
    client.force_login(ui["users"]["admin"])
    response = client.get(path)
    assert response.status_code == 200
    assert not re.search(r"<[^>]+\sstyle\s*=", response.content.decode())
