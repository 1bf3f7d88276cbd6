"""/api/users/: staff only (401 anonymous, 403 everybody else), create with a generated password returned
once, change (PATCH), reset a password; the rules of the services answer with their codes; all in OpenAPI."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken
from accounts.selectors import account_must_change_password

pytestmark = pytest.mark.django_db
User = get_user_model()


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        _, secret = services.api_token_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


@pytest.mark.parametrize(("method", "name", "body"), [
    ("get", "api-user-list", None),
    ("post", "api-user-list", {"username": "x"}),
    ("get", "api-user-detail", None),
    ("patch", "api-user-detail", {"is_active": False}),
    ("post", "api-user-password", None),
])
def test_only_staff_may_use_the_users_api(user, staff, method, name, body):
    kwargs = {} if name == "api-user-list" else {"user_id": user.pk}
    url = reverse(name, kwargs=kwargs)
    assert getattr(api(), method)(url, body, format="json").status_code == 401
    refused = getattr(api(user), method)(url, body, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "staff_only"
    assert getattr(api(staff), method)(url, body, format="json").status_code in (200, 201)


def test_the_list_filters_and_counts(staff, user):
    client = api(staff)
    body = client.get(reverse("api-user-list"), {"search": "nur"}).json()
    assert body["count"] == 1
    [row] = body["results"]
    assert row["username"] == "nurse" and row["project_count"] == 0 and row["must_change_password"] is False
    assert "password" not in row
    assert [r["username"] for r in client.get(reverse("api-user-list"), {"is_staff": "true"}).json()["results"]] \
        == ["admin-staff"]
    assert client.get(reverse("api-user-list"), {"is_active": "false"}).json()["count"] == 0


def test_creating_returns_a_generated_password_once(staff):
    client = api(staff)
    response = client.post(reverse("api-user-list"), {"username": "ann", "email": "ann@example.org"}, format="json")
    assert response.status_code == 201
    body = response.json()
    ann = User.objects.get(username="ann")
    assert ann.check_password(body["temporary_password"]) and body["must_change_password"] is True
    again = client.get(reverse("api-user-detail", kwargs={"user_id": ann.pk})).json()
    assert "temporary_password" not in again
    chosen = client.post(reverse("api-user-list"), {"username": "bob", "password": "bob's long pass phrase",
                                                    "must_change_password": False}, format="json").json()
    assert chosen["temporary_password"] is None and chosen["must_change_password"] is False
    taken = client.post(reverse("api-user-list"), {"username": "ANN"}, format="json")
    assert taken.status_code == 409 and taken.json()["code"] == "username_taken"
    weak = client.post(reverse("api-user-list"), {"username": "carl", "password": "pw"}, format="json")
    assert weak.status_code == 400 and weak.json()["code"] == "invalid_password"


def test_patch_changes_flags_and_deactivation_revokes_the_tokens(staff, user):
    _, secret = services.api_token_create(user=user)
    client = api(staff)
    url = reverse("api-user-detail", kwargs={"user_id": user.pk})
    body = client.patch(url, {"first_name": "Nina", "must_change_password": True}, format="json").json()
    assert body["first_name"] == "Nina" and body["must_change_password"] is True and body["is_active"] is True
    body = client.patch(url, {"is_active": False}, format="json").json()
    assert body["is_active"] is False and not ApiToken.objects.filter(user=user).exists()
    held = APIClient()
    held.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert held.get(reverse("api-project-list")).status_code == 401
    # A form-encoded PATCH without is_active leaves it alone (partial: absent booleans are not False).
    assert client.patch(url, {"last_name": "N"}).json()["is_active"] is False
    assert client.patch(url, {"is_active": True}, format="json").json()["is_active"] is True


def test_patch_refuses_what_would_lock_the_site_out(staff, superuser):
    client = api(staff)
    own = client.patch(reverse("api-user-detail", kwargs={"user_id": staff.pk}), {"is_active": False}, format="json")
    assert own.status_code == 403 and own.json()["code"] == "cannot_change_self"
    root = client.patch(reverse("api-user-detail", kwargs={"user_id": superuser.pk}), {"is_staff": False},
                        format="json")
    assert root.status_code == 409 and root.json()["code"] == "last_superuser"
    assert api(staff).get(reverse("api-user-detail", kwargs={"user_id": 99999999})).status_code == 404


def test_a_password_reset_returns_the_temporary_password_once(staff, user):
    response = api(staff).post(reverse("api-user-password", kwargs={"user_id": user.pk}))
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(response.json()["temporary_password"])
    assert account_must_change_password(user_id=user.pk)


def test_the_openapi_schema_documents_the_users_and_token_endpoints(user):
    client = APIClient()
    client.force_authenticate(user)
    paths = client.get(reverse("api-schema"), {"format": "json"}).json()["paths"]
    assert {"get", "post"} <= set(paths["/api/users/"])
    assert {"get", "patch"} <= set(paths["/api/users/{user_id}/"])
    assert "post" in paths["/api/users/{user_id}/password/"]
    assert {"get", "post"} <= set(paths["/api/auth/tokens/"])
    assert "delete" in paths["/api/auth/tokens/{token_id}/"]
    assert {"post", "delete"} <= set(paths["/api/auth/token/"])
    assert "403" in paths["/api/users/"]["get"]["responses"]
