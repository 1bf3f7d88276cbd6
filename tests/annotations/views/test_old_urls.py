"""Pages moved from /p/<slug>/ to /projects/<slug>/: old links still work and reveal nothing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_an_old_page_url_redirects_to_its_new_place_with_its_query(client):
    response = client.get("/p/ward/queue/?all=1")
    assert response.status_code == 308
    assert response["Location"] == "/projects/ward/queue/?all=1"


def test_a_form_posted_to_an_old_url_is_redirected_as_a_post(client):
    response = client.post("/p/ward/notes/5/sign-off/", {})
    assert response.status_code == 308  # 308 keeps the method and body, unlike 301/302


def test_an_old_url_cannot_redirect_to_another_host(client):
    response = client.get("/p//evil.example/")
    assert response["Location"] in ("/projects//evil.example/", "/projects/")
    assert not response["Location"].startswith("//")


def test_the_new_page_still_asks_for_a_login(client):
    response = client.get("/projects/ward/queue/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
