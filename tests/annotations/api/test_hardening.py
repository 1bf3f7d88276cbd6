"""Deploy checks, security headers, CSRF, request size limits (login throttling: tests/accounts)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


def test_a_token_is_issued_for_good_credentials_only(world):
    api = world.client("anonymous")
    bad = api.post(reverse("api-token"), {"username": "admin", "password": "x"}, format="json")
    assert bad.status_code == 400 and bad.data["code"] == "invalid_credentials"
    good = api.post(reverse("api-token"), {"username": "admin", "password": "pw-admin"}, format="json")
    assert good.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {good.data['token']}")
    assert api.get(reverse("api-project-detail", kwargs={"slug": "alpha"})).status_code == 200


def test_a_bad_token_is_401(world):
    api = world.client("anonymous")
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = api.get(reverse("api-project-list"))
    assert response.status_code == 401 and response.data["code"] == "authentication_failed"


def test_production_settings_pass_check_deploy_without_warnings():
    env = {
        # As deployed: without the async-unsafe switch that the browser tests set for Playwright.
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "ade_review.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "CACHE_URL": "redis://127.0.0.1:6379/13",
        "ALLOWED_HOSTS": "example.org",
        "DEBUG": "",
    }
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("key", ["short-key", "ab" * 40, "django-insecure-" + "x1y2z3" * 10])
def test_production_settings_refuse_a_weak_secret_key(key):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ade_review.settings.production", "SECRET_KEY": key,
           "CACHE_URL": "redis://127.0.0.1:6379/13"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_production_settings_refuse_to_start_without_a_shared_cache():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ade_review.settings.production",
           "SECRET_KEY": secrets.token_urlsafe(60), "CACHE_URL": ""}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0 and "CACHE_URL" in result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ade_review.settings.production", "SECRET_KEY": ""}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("url_name", ["login", "api-project-list"])
def test_security_headers(world, url_name):
    client = Client()
    client.force_login(world.users["admin"])
    response = client.get(reverse(url_name))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    csp = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["frame-ancestors"] == "'none'"


def test_the_api_docs_load_their_scripts_from_static_not_a_cdn(world):
    client = Client()
    client.force_login(world.users["admin"])
    page = client.get(reverse("api-docs")).content.decode()
    assert "/static/drf_spectacular_sidecar/" in page
    assert "cdn" not in page.lower() and "<script>" not in page  # no inline script either (CSP)


def test_htmx_posts_without_the_csrf_token_are_refused(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["annotator"])
    page = client.get(reverse("project-list"))
    assert b'hx-headers=\'{"X-CSRFToken": "' in page.content  # set once on <body> for every htmx request
    url = reverse("note-edit", kwargs={"slug": "alpha", "note_id": world.note_a1.pk, "action": "undo"})
    refused = client.post(url, {"version": 1}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 403 and b"CSRF" in refused.content
    token = client.cookies["csrftoken"].value
    accepted = client.post(url, {"version": 1}, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code != 403


def test_api_writes_with_a_session_need_the_csrf_token_and_with_a_token_do_not(world):
    url = reverse("api-entity-create", kwargs={"slug": "alpha", "pk": world.annotator_set.pk})
    body = {"version": 1, "type": "ADE", "fragments": [[30, 36]]}
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.users["annotator"])
    refused = browser.post(url, body, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
    assert world.client("annotator").post(url, body, format="json").status_code == 201


def test_oversized_request_bodies_are_refused(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    url = reverse("api-annotation-set-detail", kwargs={"slug": "alpha", "pk": world.annotator_set.pk})
    body = {"version": 1, "entities": [{"id": f"T{i}", "type": "Drug", "fragments": [[11, 19]]} for i in range(200)]}
    response = world.client("annotator").put(url, body, format="json")
    assert response.status_code == 413 and response.data["code"] == "request_too_large"


def test_the_api_schemas_format_enums_list_the_formats_the_registry_reads_and_writes(settings):
    from annotations.formats.registry import READERS, WRITERS

    overrides = settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]
    assert overrides["ImportFormatEnum"] == sorted(READERS)
    assert overrides["ExportFormatEnum"] == sorted(WRITERS)
