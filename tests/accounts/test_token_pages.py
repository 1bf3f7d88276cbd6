"""Named API tokens from the browser (/accounts/tokens/) and the API (/api/auth/tokens/): the secret is shown
once, the list shows name, prefix, dates and expiry, a revoked token is a 401, another person's token is a 404."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken
from annotations.audit.models import AuditAction, AuditEvent

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(django_user_model):
    return django_user_model.objects.create_user("other", password=PASSWORD)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_a_token_made_on_the_page_is_shown_once_and_works(user):
    client = browser(user)
    response = client.post(reverse("token-list"), {"name": "nightly export"})
    assert response.status_code == 200
    secret = re.search(r'id="secret-value">([^<]+)<', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=user)
    assert token.name == "nightly export" and secret.startswith(token.prefix)
    assert api(secret).get(reverse("api-project-list")).status_code == 200
    listing = client.get(reverse("token-list")).content.decode()
    assert secret not in listing and "nightly export" in listing and f"{token.prefix}…" in listing
    [event] = AuditEvent.objects.filter(action=AuditAction.TOKEN_CHANGE)
    assert event.details == {"operation": "create", "prefix": token.prefix, "via": "token_page"}
    assert secret not in str(event.details)


def test_the_htmx_form_swaps_only_the_token_panel(user):
    response = browser(user).post(reverse("token-list"), {"name": "ci"}, HTTP_HX_REQUEST="true",
                                  HTTP_HX_TARGET="token-panel")
    html = response.content.decode()
    assert html.strip().startswith('<section id="token-panel">') and 'id="secret-value"' in html and "<html" not in html


@pytest.mark.parametrize("name", ["", "x" * 101, "tab\there"])
def test_a_bad_name_is_refused(user, name):
    response = browser(user).post(reverse("token-list"), {"name": name})
    assert response.status_code == 400 and not ApiToken.objects.exists()


def test_the_list_says_which_tokens_expired(user):
    old, _ = services.api_token_create(user=user, name="old one")
    ApiToken.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=1))
    services.api_token_create(user=user, name="fresh one")
    html = browser(user).get(reverse("token-list")).content.decode()
    row = re.search(rf'<tr class="expired" id="token-{old.pk}">.*?</tr>', html, re.S).group(0)
    assert "old one" in row and "expired" in row
    assert html.count('class="status s-expired"') == 1


def test_revoking_asks_first_and_then_the_token_is_a_401(user):
    token, secret = services.api_token_create(user=user, name="laptop")
    client = browser(user)
    url = reverse("token-revoke", args=[token.pk])
    assert client.get(url).status_code == 200 and ApiToken.objects.filter(pk=token.pk).exists()
    assert client.post(url).status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert api(secret).get(reverse("api-project-list")).status_code == 401
    assert AuditEvent.objects.get(action=AuditAction.TOKEN_CHANGE).details["operation"] == "revoke"


def test_another_persons_token_is_a_404_on_the_page(user, other):
    token, secret = services.api_token_create(user=other)
    client = browser(user)
    assert client.get(reverse("token-revoke", args=[token.pk])).status_code == 404
    assert client.post(reverse("token-revoke", args=[token.pk])).status_code == 404
    assert api(secret).get(reverse("api-project-list")).status_code == 200


def test_the_token_api_lists_creates_and_revokes_own_tokens(user, other):
    _, mine = services.api_token_create(user=user, name="first")
    others, _ = services.api_token_create(user=other)
    client = api(mine)
    created = client.post(reverse("api-token-list"), {"name": "script"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "script" and body["token"].startswith(body["prefix"]) and body["expired"] is False
    listing = client.get(reverse("api-token-list")).json()
    assert [t["name"] for t in listing["results"]] == ["script", "first"]
    assert all("token" not in t for t in listing["results"])
    gone = client.delete(reverse("api-token-detail", kwargs={"token_id": others.pk}))
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"
    assert ApiToken.objects.filter(pk=others.pk).exists()
    assert client.delete(reverse("api-token-detail", kwargs={"token_id": body["id"]})).status_code == 204
    assert api(body["token"]).get(reverse("api-token-list")).status_code == 401
    bad = client.post(reverse("api-token-list"), {"name": "x" * 101}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_the_password_exchange_still_works_and_may_name_its_token(user):
    response = APIClient().post(reverse("api-token"), {"username": "nurse", "password": PASSWORD, "name": "cli"},
                                format="json")
    assert response.status_code == 200 and set(response.json()) == {"token", "expires_at"}
    assert ApiToken.objects.get(user=user).name == "cli"
    assert api(response.json()["token"]).delete(reverse("api-token")).status_code == 204
