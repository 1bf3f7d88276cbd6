"""The demo seeders write known passwords: they refuse to run where settings do not allow demo data."""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotations.models import Project

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("command", ["seed_demo", "seed_risk_demo"])
def test_the_seeders_refuse_where_demo_data_is_not_allowed(settings, command):
    settings.ADE_REVIEW_DEMO_ALLOWED = False
    with pytest.raises(CommandError, match="--force-demo-on-this-database"):
        call_command(command, stdout=io.StringIO())
    assert not Project.objects.exists()


def test_the_force_flag_seeds_anyway(settings):
    settings.ADE_REVIEW_DEMO_ALLOWED = False
    call_command("seed_demo", "--force-demo-on-this-database", stdout=io.StringIO())
    assert Project.objects.filter(slug="demo").exists()


@pytest.mark.parametrize("command", ["seed_demo", "seed_risk_demo"])
def test_production_settings_refuse_the_seeders(command):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ade_review.settings.production",
           "SECRET_KEY": secrets.token_urlsafe(60), "CACHE_URL": "redis://127.0.0.1:6379/13",
           "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}  # refused before any database is touched
    result = subprocess.run([sys.executable, "manage.py", command], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0 and "demo data" in result.stderr, result.stderr
