"""Site administration of users through accounts.services: create, change, deactivate and reactivate,
reset a password; the rules that keep the site administrable; every change audited, no password in the trail."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AccountPolicy, ApiToken
from accounts.selectors import account_must_change_password, user_get, user_list
from annotations.audit.models import AuditAction, AuditEvent
from annotations.errors import ApplicationError
from annotations.models import Project, ProjectMembership

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
User = get_user_model()


def password_login(username: str, password: str) -> bool:
    """Whether the login form lets this person in."""
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def user_events(user) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.USER_CHANGE, object_id=str(user.pk)).order_by("pk"))


def assert_no_secret_in_trail(secret: str) -> None:
    for event in AuditEvent.objects.all():
        assert secret not in json.dumps(event.details) and secret not in event.object_id


def test_creating_a_user_with_a_generated_password_returns_it_once_and_flags_the_account(staff):
    user, generated = services.user_create(actor=staff, username="ann", first_name="Ann", email="ann@example.org")
    assert generated and len(generated) == services.GENERATED_PASSWORD_LENGTH
    assert user.is_active and not user.is_staff and user.check_password(generated)
    assert account_must_change_password(user_id=user.pk)
    [event] = user_events(user)
    assert (event.actor, event.project_id, event.details["operation"]) == (staff, None, "create")
    assert event.details["password_generated"] is True and event.details["must_change_password"] is True
    assert_no_secret_in_trail(generated)


def test_creating_a_user_with_a_chosen_password_validates_it_and_returns_none(staff):
    with pytest.raises(ApplicationError) as error:
        services.user_create(actor=staff, username="bob", password="short")
    assert error.value.code == "invalid_password"
    user, generated = services.user_create(actor=staff, username="bob", password="a long enough pass phrase",
                                           must_change_password=False, is_staff=True)
    assert generated is None and user.is_staff and not account_must_change_password(user_id=user.pk)
    assert_no_secret_in_trail("a long enough pass phrase")


@pytest.mark.parametrize(("username", "code"), [("", "invalid_username"), ("bad name!", "invalid_username"),
                                                ("NURSE", "username_taken")])
def test_a_bad_or_taken_username_is_refused(staff, user, username, code):
    with pytest.raises(ApplicationError) as error:
        services.user_create(actor=staff, username=username)
    assert error.value.code == code
    assert not User.objects.filter(username=username).exists() or username == "nurse"


def test_a_bad_email_is_refused(staff):
    with pytest.raises(ApplicationError) as error:
        services.user_create(actor=staff, username="carl", email="not-an-address")
    assert error.value.code == "invalid_email"


def test_deactivation_ends_login_and_tokens_and_keeps_the_persons_work(staff, user):
    project = Project.objects.create(slug="p", name="P")
    ProjectMembership.objects.create(project=project, user=user, role="annotator")
    _, secret = services.api_token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert client.get(reverse("api-project-list")).status_code == 200
    browser = Client()
    browser.force_login(user)

    assert services.user_deactivate(actor=staff, user=user) == 1
    user.refresh_from_db()
    assert not user.is_active and not ApiToken.objects.filter(user=user).exists()
    assert client.get(reverse("api-project-list")).status_code == 401
    assert not password_login("nurse", PASSWORD)
    assert browser.get(reverse("project-list")).status_code == 302  # the open session has ended
    assert ProjectMembership.objects.filter(user=user).exists()  # membership and work stay, attributed
    [event] = user_events(user)
    assert event.details == {"operation": "deactivate", "username": "nurse", "tokens_revoked": 1}

    services.user_reactivate(actor=staff, user=user)
    user.refresh_from_db()
    assert user.is_active and password_login("nurse", PASSWORD)
    assert [e.details["operation"] for e in user_events(user)] == ["deactivate", "reactivate"]


def test_nobody_deactivates_themselves_or_removes_their_own_staff_rights(staff):
    for call in (lambda: services.user_deactivate(actor=staff, user=staff),
                 lambda: services.user_update(actor=staff, user=staff, is_staff=False),
                 lambda: services.user_update(actor=staff, user=staff, is_active=False)):
        with pytest.raises(ApplicationError) as error:
            call()
        assert error.value.code == "cannot_change_self"
    staff.refresh_from_db()
    assert staff.is_active and staff.is_staff and not user_events(staff)


def test_the_last_active_superuser_keeps_their_rights(superuser, staff):
    for call in (lambda: services.user_deactivate(actor=staff, user=superuser),
                 lambda: services.user_update(actor=staff, user=superuser, is_staff=False),
                 lambda: services.user_deactivate(actor=None, user=superuser)):
        with pytest.raises(ApplicationError) as error:
            call()
        assert error.value.code == "last_superuser"
    superuser.refresh_from_db()
    assert superuser.is_active and superuser.is_staff


def test_only_a_superuser_changes_a_superuser(superuser, staff):
    other = User.objects.create_superuser("root2", password=PASSWORD)
    for call in (lambda: services.user_deactivate(actor=staff, user=other),
                 lambda: services.user_password_reset(actor=staff, user=other),
                 lambda: services.user_update(actor=staff, user=other, email="x@example.org")):
        with pytest.raises(ApplicationError) as error:
            call()
        assert error.value.code == "superuser_protected"
    services.user_deactivate(actor=superuser, user=other)  # another superuser may, and one stays active
    other.refresh_from_db()
    assert not other.is_active


def test_a_password_reset_gives_a_temporary_password_ends_tokens_and_requires_a_new_one(staff, user):
    services.api_token_create(user=user)
    temporary = services.user_password_reset(actor=staff, user=user)
    user.refresh_from_db()
    assert user.check_password(temporary) and not user.check_password(PASSWORD)
    assert not ApiToken.objects.filter(user=user).exists()
    assert account_must_change_password(user_id=user.pk)
    assert [e.details["operation"] for e in user_events(user)] == ["password_reset"]
    assert_no_secret_in_trail(temporary)


def test_the_persons_own_password_change_clears_the_flag(staff, user):
    services.user_password_reset(actor=staff, user=user)
    user.set_password("the person's own new password")
    user.save()
    assert not account_must_change_password(user_id=user.pk)
    assert AccountPolicy.objects.get(user=user).must_change_password is False


def test_an_update_changes_only_what_differs_and_records_field_names_not_values(staff, user):
    services.user_update(actor=staff, user=user, first_name="Nina", email="nina@example.org", is_staff=True,
                         must_change_password=True)
    user.refresh_from_db()
    assert (user.first_name, user.email, user.is_staff) == ("Nina", "nina@example.org", True)
    assert account_must_change_password(user_id=user.pk)
    [event] = user_events(user)
    assert sorted(event.details["changed"]) == ["email", "first_name", "is_staff", "must_change_password"]
    assert "nina@example.org" not in json.dumps(event.details)
    services.user_update(actor=staff, user=user, first_name="Nina")  # nothing changes: nothing recorded
    assert len(user_events(user)) == 1
    with pytest.raises(ApplicationError) as error:
        services.user_update(actor=staff, user=user, is_superuser=True)
    assert error.value.code == "unknown_field"


def test_the_user_list_searches_filters_and_counts_projects(staff, user):
    project = Project.objects.create(slug="p", name="P")
    ProjectMembership.objects.create(project=project, user=user, role="annotator")
    services.user_create(actor=staff, username="zed", email="zed@hospital.example")
    services.user_deactivate(actor=staff, user=User.objects.get(username="zed"))
    assert [u.username for u in user_list(search="HOSPITAL")] == ["zed"]
    assert [u.username for u in user_list(active=False)] == ["zed"]
    assert [u.username for u in user_list(staff=True)] == ["admin-staff"]
    row = user_get(user_id=user.pk)
    assert (row.project_count, row.must_change_password) == (1, False)
    assert user_get(user_id=User.objects.get(username="zed").pk).must_change_password is True


def test_an_open_session_ends_at_deactivation_whatever_the_backend(staff, user, settings):
    # A backend whose get_user does not check is_active (as django-auth-ldap's does not).
    allow_all = "django.contrib.auth.backends.AllowAllUsersModelBackend"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, allow_all]
    browser = Client()
    browser.force_login(user, backend=allow_all)
    assert browser.get(reverse("project-list")).status_code == 200
    services.user_deactivate(actor=staff, user=user)
    response = browser.get(reverse("project-list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
