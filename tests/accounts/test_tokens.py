"""API tokens: stored as a hash only, expiring, revocable by their holder, revoked by a password change."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def new_token(username="nurse", password=PASSWORD) -> str:
    response = APIClient().post(reverse("api-token"), {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_new_token_works_and_is_stored_only_as_its_hash(user):
    secret = new_token()
    assert api(secret).get(reverse("api-project-list")).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        rows = cursor.fetchall()
    assert len(rows) == 1
    assert not any(secret in str(value) for value in rows[0])
    assert hashlib.sha256(secret.encode()).hexdigest() in rows[0]


def test_each_request_for_a_token_gives_a_new_one(user):
    assert new_token() != new_token()


def test_a_token_expires_after_the_configured_lifetime(user, settings):
    from accounts.models import ApiToken

    settings.ADE_REVIEW_TOKEN_TTL_HOURS = 2
    secret = new_token()
    token = ApiToken.objects.get()
    assert timedelta(hours=2) - timedelta(minutes=1) < token.expires_at - timezone.now() <= timedelta(hours=2)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api(secret).get(reverse("api-project-list"))
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    assert "expired" in response.json()["message"]


def test_use_is_recorded_on_the_token(user):
    from accounts.models import ApiToken

    secret = new_token()
    assert ApiToken.objects.get().last_used_at is None
    api(secret).get(reverse("api-project-list"))
    assert ApiToken.objects.get().last_used_at is not None


def test_delete_revokes_the_presenting_token_and_only_it(user):
    kept, revoked = new_token(), new_token()
    assert api(revoked).delete(reverse("api-token")).status_code == 204
    assert api(revoked).get(reverse("api-project-list")).status_code == 401
    assert api(kept).get(reverse("api-project-list")).status_code == 200


def test_delete_without_a_token_is_refused(user):
    assert APIClient().delete(reverse("api-token")).status_code == 401


def test_a_password_change_revokes_all_of_the_users_tokens(user, django_user_model):
    other = django_user_model.objects.create_user("other", password="pw-other-user-1")
    first, second, others = new_token(), new_token(), new_token("other", "pw-other-user-1")
    user.set_password("a new password for the nurse")
    user.save()
    assert api(first).get(reverse("api-project-list")).status_code == 401
    assert api(second).get(reverse("api-project-list")).status_code == 401
    assert api(others).get(reverse("api-project-list")).status_code == 200
    other.last_name = "unchanged password"
    other.save()
    assert api(others).get(reverse("api-project-list")).status_code == 200


def test_an_expired_or_wrong_token_still_gets_a_new_one_with_the_password(user):
    client = api("0" * 43)
    response = client.post(reverse("api-token"), {"username": "nurse", "password": PASSWORD}, format="json")
    assert response.status_code == 200
