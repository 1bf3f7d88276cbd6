"""The users pages (/accounts/users/): staff only, searchable and fast at 2,000 users, create with a password
shown once, change, deactivate and reactivate with a confirmation, reset a password."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import ApiToken
from accounts.selectors import account_must_change_password
from annotations.models import Project, ProjectMembership

pytestmark = pytest.mark.django_db
User = get_user_model()


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def shown_secret(response) -> str:
    match = re.search(r'<code class="secret" id="secret-value">([^<]+)</code>', response.content.decode())
    assert match, response.content.decode()[:2000]
    return match.group(1)


@pytest.mark.parametrize("name", ["user-list", "user-new"])
def test_the_users_pages_are_for_staff_only(user, staff, name):
    assert Client().get(reverse(name)).status_code == 302  # to the login page
    assert as_user(user).get(reverse(name)).status_code == 403
    assert as_user(staff).get(reverse(name)).status_code == 200


def test_only_staff_see_the_users_link_and_everybody_the_tokens_link(user, staff):
    assert b'id="nav-users"' not in as_user(user).get(reverse("token-list")).content
    assert b'id="nav-tokens"' in as_user(user).get(reverse("token-list")).content
    assert b'id="nav-users"' in as_user(staff).get(reverse("token-list")).content


def test_the_list_searches_filters_and_swaps_only_its_results_for_htmx(staff, user):
    client = as_user(staff)
    page = client.get(reverse("user-list"), {"q": "nurse"}).content.decode()
    assert ">nurse</a>" in page and ">admin-staff</a>" not in page
    fragment = client.get(reverse("user-list"), {"staff": "yes"}, HTTP_HX_REQUEST="true",
                          HTTP_HX_TARGET="user-results").content.decode()
    assert fragment.strip().startswith('<section id="user-results">') and "<html" not in fragment
    assert ">admin-staff</a>" in fragment and ">nurse</a>" not in fragment


def test_the_list_of_2000_users_takes_a_bounded_number_of_queries(staff, django_assert_max_num_queries):
    password = make_password("x")
    users = User.objects.bulk_create([User(username=f"user{i:04d}", password=password, email=f"u{i}@example.org")
                                      for i in range(2000)])
    projects = Project.objects.bulk_create([Project(slug=f"p{i}", name=f"P{i}") for i in range(20)])
    ProjectMembership.objects.bulk_create([ProjectMembership(project=projects[i % 20], user=u, role="annotator")
                                           for i, u in enumerate(users)] +
                                          [ProjectMembership(project=projects[1], user=users[0], role="admin")])
    client = as_user(staff)
    client.get(reverse("user-list"))
    started = time.perf_counter()
    with django_assert_max_num_queries(4):  # session, user, count, the page (with project counts)
        response = client.get(reverse("user-list"), {"page": 3})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and "2001 users" in response.content.decode()
    assert elapsed < 1.0, elapsed
    first = client.get(reverse("user-list")).content.decode()
    assert re.search(r">user0000</a>.*?<td class=\"num\">2</td>", first, re.S)


def test_creating_a_user_with_a_generated_password_shows_it_once(staff):
    client = as_user(staff)
    response = client.post(reverse("user-new"), {"username": "ann", "first_name": "Ann", "email": "ann@example.org",
                                                 "password_choice": "generate", "must_change_password": "on"})
    assert response.status_code == 200
    password = shown_secret(response)
    ann = User.objects.get(username="ann")
    assert ann.check_password(password) and account_must_change_password(user_id=ann.pk)
    assert response["Cache-Control"] == "no-store"
    assert password not in client.get(reverse("user-detail", args=[ann.pk])).content.decode()
    assert password not in client.get(reverse("user-list")).content.decode()


def test_creating_a_user_with_a_chosen_password_and_refusals_keep_the_form(staff, user):
    client = as_user(staff)
    taken = client.post(reverse("user-new"), {"username": "nurse", "password_choice": "generate"})
    assert taken.status_code == 400 and "is taken" in taken.content.decode()
    missing = client.post(reverse("user-new"), {"username": "bob", "password_choice": "set"})
    assert missing.status_code == 400 and "Type the password" in missing.content.decode()
    weak = client.post(reverse("user-new"), {"username": "bob", "password_choice": "set", "password": "pw"})
    assert weak.status_code == 400 and "too short" in weak.content.decode()
    assert not User.objects.filter(username="bob").exists()
    made = client.post(reverse("user-new"), {"username": "bob", "password_choice": "set",
                                             "password": "bob's long pass phrase", "is_staff": "on"})
    bob = User.objects.get(username="bob")
    assert made.status_code == 302 and made["Location"] == reverse("user-detail", args=[bob.pk])
    assert bob.is_staff and not account_must_change_password(user_id=bob.pk)


def test_changing_a_user_from_their_page(staff, user):
    client = as_user(staff)
    url = reverse("user-detail", args=[user.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"first_name": "Nina", "last_name": "", "email": "nina@example.org",
                                 "must_change_password": "on"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.first_name == "Nina" and account_must_change_password(user_id=user.pk)
    assert client.get(reverse("user-detail", args=[999999])).status_code == 404


def test_deactivation_asks_first_then_revokes_tokens_and_reactivation_restores_login(staff, user):
    services.api_token_create(user=user)
    client = as_user(staff)
    url = reverse("user-deactivate", args=[user.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200 and b'id="confirm-button"' in confirm.content
    user.refresh_from_db()
    assert user.is_active  # a GET changes nothing
    assert client.post(url).status_code == 302
    user.refresh_from_db()
    assert not user.is_active and not ApiToken.objects.filter(user=user).exists()
    detail = client.get(reverse("user-detail", args=[user.pk])).content.decode()
    assert "1 API token(s) revoked" in detail and 'id="reactivate-button"' in detail
    client.post(reverse("user-reactivate", args=[user.pk]))
    user.refresh_from_db()
    assert user.is_active


def test_staff_cannot_deactivate_themselves_from_the_page(staff):
    client = as_user(staff)
    response = client.post(reverse("user-deactivate", args=[staff.pk]), follow=True)
    assert "cannot deactivate your own account" in response.content.decode()
    staff.refresh_from_db()
    assert staff.is_active


def test_a_password_reset_asks_first_and_shows_the_temporary_password_once(staff, user):
    client = as_user(staff)
    url = reverse("user-password-reset", args=[user.pk])
    assert client.get(url).status_code == 200
    response = client.post(url)
    password = shown_secret(response)
    user.refresh_from_db()
    assert user.check_password(password) and account_must_change_password(user_id=user.pk)
