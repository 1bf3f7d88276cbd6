""""Must change password": a flagged person is sent to the password change page on every request until they
have chosen a new password; the API refuses them with 403 `password_change_required`; nobody else pays a
query for it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import middleware, services
from accounts.selectors import account_must_change_password

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a fresh pass phrase of my own"


def signed_in(username: str, password: str) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def flagged(staff, user):
    """The nurse after an administrator's reset: (user, temporary password)."""
    return user, services.user_password_reset(actor=staff, user=user)


def test_every_page_sends_a_flagged_person_to_the_password_change_until_they_change_it(flagged):
    user, temporary = flagged
    client = signed_in("nurse", temporary)
    for path in ("/", reverse("token-list"), "/projects/anything/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("password_change") + "?next=")
    page = client.get(reverse("password_change"))
    assert page.status_code == 200 and b'id="password-change-required"' in page.content
    # htmx would swap the redirect's page into a fragment: it is told to load the whole page instead.
    hx = client.get("/", HTTP_HX_REQUEST="true")
    assert hx.status_code == 204 and hx["HX-Redirect"] == reverse("password_change")
    # The temporary password is refused as the new one.
    again = client.post(reverse("password_change"), {"old_password": temporary, "new_password1": temporary,
                                                     "new_password2": temporary})
    assert again.status_code == 200 and b"different from your current one" in again.content
    done = client.post(reverse("password_change"), {"old_password": temporary, "new_password1": NEW_PASSWORD,
                                                    "new_password2": NEW_PASSWORD, "next": "/"})
    assert done.status_code == 302 and done["Location"] == "/"
    assert client.get("/").status_code == 200
    assert not account_must_change_password(user_id=user.pk)


def test_the_api_refuses_a_flagged_person_whatever_the_authentication(flagged, user):
    _, temporary = flagged
    session = signed_in("nurse", temporary)
    response = session.get(reverse("api-project-list"))
    assert response.status_code == 403 and response.json()["code"] == "password_change_required"
    # No token for the temporary password ...
    asked = APIClient().post(reverse("api-token"), {"username": "nurse", "password": temporary}, format="json")
    assert asked.status_code == 403 and asked.json()["code"] == "password_change_required"
    # ... and a token issued before the flag (an administrator flagged without a reset) stops working.
    services.account_policy_set_must_change(user_id=user.pk, value=False)
    _, secret = services.api_token_create(user=user)
    services.user_update(actor=None, user=user, must_change_password=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    response = client.get(reverse("api-project-list"))
    assert response.status_code == 403
    assert response.json()["code"] == "password_change_required"
    assert "change" in response.json()["message"]


def test_a_flag_set_during_a_session_applies_once_the_session_rereads_its_policy(staff, user, monkeypatch):
    client = signed_in("nurse", PASSWORD)
    assert client.get("/").status_code == 200
    services.user_update(actor=staff, user=user, must_change_password=True)
    now = [middleware.time.time()]
    monkeypatch.setattr(middleware.time, "time", lambda: now[0])
    assert client.get("/").status_code == 200  # within POLICY_REREAD_S of the last read
    now[0] += middleware.POLICY_REREAD_S + 1
    assert client.get("/").status_code == 302


def test_an_unflagged_person_pays_no_query_for_the_policy(user, django_assert_num_queries):
    client = Client()
    client.force_login(user)
    client.get(reverse("token-list"))
    with django_assert_num_queries(3):  # session, user, the tokens
        assert client.get(reverse("token-list")).status_code == 200


def test_signing_out_stays_possible_while_flagged(flagged):
    _, temporary = flagged
    client = signed_in("nurse", temporary)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/").status_code == 302 and client.get("/")["Location"].startswith(reverse("login"))
