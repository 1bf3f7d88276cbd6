"""403, 404 and 500 pages with DEBUG=False: the base layout, a way back, and a 404 that says nothing about
whether another project exists."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def _without_csrf(html: str) -> str:
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


@override_settings(DEBUG=False)
def test_a_non_member_gets_the_same_styled_404_for_another_project_as_for_no_project(client, ui):
    client.force_login(ui["users"]["outsider"])
    other = client.get("/projects/ui/")
    missing = client.get("/projects/no-such-project/")
    assert other.status_code == missing.status_code == 404
    html = other.content.decode()
    assert 'class="topbar"' in html and "app.css" in html  # the base layout
    assert 'href="/" id="projects-link"' in html and "Page not found" in html
    assert "UI test project" not in html and "ui" not in re.findall(r"/projects/([^/\"]+)/", html)
    assert _without_csrf(html) == _without_csrf(missing.content.decode())


@override_settings(DEBUG=False)
def test_the_404_links_back_to_the_previous_page_of_this_site_only(client, ui):
    client.force_login(ui["users"]["reviewer"])
    html = client.get("/projects/ui/notes/999999/", HTTP_REFERER="http://testserver/projects/ui/queue/?status=unreviewed").content.decode()
    assert 'href="http://testserver/projects/ui/queue/?status=unreviewed" id="back-link"' in html
    foreign = client.get("/projects/ui/notes/999999/", HTTP_REFERER="https://evil.example/phish").content.decode()
    assert "evil.example" not in foreign and 'id="back-link"' not in foreign
    script = client.get("/projects/ui/notes/999999/", HTTP_REFERER='http://testserver/projects/"><script>x</script>').content.decode()
    assert "<script>x" not in script


@override_settings(DEBUG=False)
def test_a_role_without_the_capability_gets_a_styled_403_that_says_why(client, ui):
    client.force_login(ui["users"]["annotator"])
    response = client.get("/projects/ui/notes/new/")
    assert response.status_code == 403
    html = response.content.decode()
    assert 'class="topbar"' in html and "Not allowed" in html and 'id="projects-link"' in html
    assert "Your role (annotator) may not manage here." in html


@override_settings(DEBUG=False)
def test_a_server_error_renders_the_plain_500_page_without_touching_the_database(ui, monkeypatch,
                                                                             django_assert_num_queries):
    from ade_review import error_pages

    client = Client(raise_request_exception=False)
    client.force_login(ui["users"]["reviewer"])
    monkeypatch.setattr("annotations.views.projects.selectors.project_dashboard",
                        lambda **kw: (_ for _ in ()).throw(RuntimeError("boom")))
    response = client.get("/projects/ui/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode() and 'href="/"' in response.content.decode()
    with django_assert_num_queries(0):
        assert error_pages.server_error(None).status_code == 500
