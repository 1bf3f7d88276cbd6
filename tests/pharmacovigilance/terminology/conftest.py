"""Terminology tests: the made-up files of tests/fixtures/terminologies, loaded into the real database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from annotations.models import Project, ProjectMembership
from pharmacovigilance.terminology.services import terminology_load

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "terminologies"
MEDDRA = FIXTURES / "meddra" / "valid"
MEDDRA_BROKEN = FIXTURES / "meddra" / "broken"
ATC = FIXTURES / "atc" / "valid" / "atc.csv"
SNOMED = FIXTURES / "snomed" / "valid"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("site-admin", password="pw", is_staff=True)


@pytest.fixture
def people(db):
    """A project with an admin, a reviewer and an annotator, and someone in no project."""
    User = get_user_model()
    project = Project.objects.create(slug="ward", name="Ward")
    users = {role: User.objects.create_user(role, password="pw") for role in ("admin", "reviewer", "annotator", "nobody")}
    for role in ("admin", "reviewer", "annotator"):
        ProjectMembership.objects.create(project=project, user=users[role], role=role)
    return project, users


@pytest.fixture
def meddra(staff):
    return terminology_load(by=staff, system="meddra", version="27.0", files=MEDDRA).terminology


@pytest.fixture
def atc(staff):
    return terminology_load(by=staff, system="atc", version="2024", files=ATC).terminology


def meddra_copy(tmp_path: Path, name: str = "MedAscii") -> Path:
    """A writable copy of the valid MedDRA files (a test changes one of them)."""
    folder = tmp_path / name
    shutil.copytree(MEDDRA, folder)
    return folder
