"""Browser sessions end after an idle period and, whatever the activity, after an absolute lifetime."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.middleware import SESSION_LAST_SEEN, SESSION_STARTED

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def shift(client, key, seconds):
    session = client.session
    session[key] -= seconds
    session.save()


def test_an_active_session_stays_logged_in(user):
    client = logged_in(user)
    assert client.get(reverse("project-list")).status_code == 200
    assert client.get(reverse("project-list")).status_code == 200


def test_an_idle_session_is_logged_out(user, settings):
    settings.ADE_REVIEW_SESSION_IDLE_S = 30 * 60
    client = logged_in(user)
    assert client.get(reverse("project-list")).status_code == 200
    shift(client, SESSION_LAST_SEEN, 30 * 60 + 1)
    response = client.get(reverse("project-list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_activity_keeps_the_session_alive_up_to_its_absolute_lifetime(user, settings):
    settings.SESSION_COOKIE_AGE = 12 * 3600
    client = logged_in(user)
    shift(client, SESSION_STARTED, 12 * 3600 + 1)
    response = client.get(reverse("project-list"))
    assert response.status_code == 302 and "_auth_user_id" not in client.session


def test_an_htmx_request_of_an_expired_session_is_sent_to_the_login_page(user):
    client = logged_in(user)
    shift(client, SESSION_LAST_SEEN, 24 * 3600)
    response = client.get(reverse("project-list"), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith(reverse("login"))


def test_the_session_cookie_is_not_kept_for_weeks(settings):
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.ADE_REVIEW_SESSION_IDLE_S <= 30 * 60
