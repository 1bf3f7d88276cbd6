"""Login throttling (django-axes with the app's handler): per user and address, per address and global limits
that back off for minutes, counted in the shared cache so that every process sees every failure, and the
same rule on every door (login page, admin, token endpoint)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.audit.models import AuditAction, AuditEvent

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.ADE_REVIEW_LOGIN_IP_FAILURE_LIMIT = 12
    settings.ADE_REVIEW_LOGIN_GLOBAL_FAILURE_LIMIT = 1000
    settings.ADE_REVIEW_LOGIN_COOLOFF_S = 60
    settings.ADE_REVIEW_LOGIN_COOLOFF_MAX_S = 900
    return settings


def login(username="nurse", password="wrong", addr="10.0.0.5", client=None):
    return (client or Client()).post(reverse("login"), {"username": username, "password": password},
                                     REMOTE_ADDR=addr)


def test_failures_for_one_user_from_one_address_lock_that_pair_only(user):
    for _ in range(4):
        assert login().status_code == 200
    locked = login()
    assert locked.status_code == 429 and b"Too many failed logins" in locked.content
    assert 0 < int(locked["Retry-After"]) <= 60
    assert login(password=PASSWORD).status_code == 429  # even the right password, while locked
    assert login(password=PASSWORD, addr="10.0.0.6").status_code == 302  # the user from elsewhere is not


def test_an_address_guessing_many_usernames_is_locked_for_all_of_them_and_only_it(user):
    for i in range(12):
        login(username=f"guess{i}", addr="10.0.0.7")
    assert login(password=PASSWORD, addr="10.0.0.7").status_code == 429
    assert login(password=PASSWORD, addr="10.0.0.8").status_code == 302


def test_a_global_limit_stops_guesses_spread_over_many_addresses(user, settings):
    settings.ADE_REVIEW_LOGIN_GLOBAL_FAILURE_LIMIT = 10
    for i in range(10):
        login(username=f"guess{i}", addr=f"10.1.0.{i}")
    assert login(password=PASSWORD, addr="10.2.0.1").status_code == 429


def test_a_lockout_cools_off_by_itself_and_a_repeated_one_lasts_longer(user, settings):
    settings.ADE_REVIEW_LOGIN_COOLOFF_S = 1
    for _ in range(5):
        login()
    assert login(password=PASSWORD).status_code == 429
    time.sleep(1.2)
    for _ in range(5):  # cooled off: the pair may try again, and fails five times more
        assert login().status_code in (200, 429)
    assert login(password=PASSWORD).status_code == 429
    time.sleep(1.2)
    assert login(password=PASSWORD).status_code == 429  # the second lockout lasts 2 s
    time.sleep(1.0)
    assert login(password=PASSWORD).status_code == 302


def test_attempts_while_locked_do_not_prolong_the_lockout(user, settings):
    settings.ADE_REVIEW_LOGIN_COOLOFF_S = 2
    for _ in range(5):
        login()
    for _ in range(10):
        assert login().status_code == 429
    time.sleep(2.2)
    assert login(password=PASSWORD).status_code == 302


def test_the_token_endpoint_and_the_admin_share_the_login_rule(user):
    api = APIClient(REMOTE_ADDR="10.3.0.1")
    for _ in range(5):
        api.post(reverse("api-token"), {"username": "nurse", "password": "wrong"}, format="json")
    refused = api.post(reverse("api-token"), {"username": "nurse", "password": PASSWORD}, format="json")
    assert refused.status_code == 429 and refused.json()["code"] == "login_locked"
    assert login(password=PASSWORD, addr="10.3.0.1").status_code == 429
    admin = Client().post("/admin/login/", {"username": "nurse", "password": PASSWORD}, REMOTE_ADDR="10.3.0.1")
    assert "_auth_user_id" not in admin.client.session


def test_every_failed_attempt_is_audited_locked_ones_too(user):
    for _ in range(7):
        login(addr="10.4.0.1")
    failures = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILURE, actor_username="nurse")
    assert failures.count() == 7 and {e.client_address for e in failures} == {"10.4.0.1"}


FAIL_IN_ANOTHER_PROCESS = """
import django
django.setup()
from django.contrib.auth.signals import user_login_failed
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
# The audit rows of that process would outlive this test's transaction in the shared test database.
user_login_failed.disconnect(dispatch_uid="annotations.audit.login_failure")
client = Client()
codes = [client.post("/accounts/login/", {"username": "nurse", "password": "wrong"}, REMOTE_ADDR="10.5.0.1")
         .status_code for _ in range(5)]
print(codes)
"""


def test_failures_counted_in_another_process_lock_the_login_here(user, redis_cache):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ade_review.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CACHE_URL": redis_cache,
    }
    result = subprocess.run([sys.executable, "-c", FAIL_IN_ANOTHER_PROCESS], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[200, 200, 200, 200, 429]"
    assert login(password=PASSWORD, addr="10.5.0.1").status_code == 429
    assert login(password=PASSWORD, addr="10.5.0.2").status_code == 302
