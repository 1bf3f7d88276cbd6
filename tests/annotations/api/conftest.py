"""A small world for API tests: two projects, users in every role, notes and annotation sets."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import api_token_create
from annotations.formats.schema import AttributeType, EntityType, RelationType, Schema
from annotations.models import (
    AnnotationSet,
    Entity,
    Note,
    Project,
    ProjectMembership,
)
from annotations.services.corpus_import import text_hash
from annotations.services.schemas import project_schema_set
from inference.models import ModelVersion

TEXT_A1 = "Patient on warfarin developed severe epistaxis overnight."
TEXT_A2 = "No adverse events; metformin continued."
TEXT_B1 = "Amoxicillin rash noted on day three."
ROLES = ("anonymous", "annotator", "reviewer", "admin", "outsider")


@dataclass
class World:
    alpha: Project
    beta: Project
    users: dict
    note_a1: Note
    note_a2: Note
    note_b1: Note
    import_set: AnnotationSet
    annotator_set: AnnotationSet
    reviewer_set: AnnotationSet
    model_version: ModelVersion

    def client(self, role: str) -> APIClient:
        client = APIClient()
        if role != "anonymous":
            _, secret = api_token_create(user=self.users[role])
            client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
        return client


def note(project, external_id, text):
    return Note.objects.create(project=project, external_id=external_id, text=text, text_hash=text_hash(text))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()  # login throttling and API throttles count in the cache
    yield
    cache.clear()


@pytest.fixture
def world(db) -> World:
    User = get_user_model()
    alpha = Project.objects.create(slug="alpha", name="Alpha")
    beta = Project.objects.create(slug="beta", name="Beta")
    schema = Schema(
        entity_types=(EntityType("Drug"), EntityType("ADE")),
        relation_types=(RelationType("Causes", "Arg1", ("Drug",), "Arg2", ("ADE",)),),
        attribute_types=(AttributeType("Severity", ("ADE",), ("mild", "severe")),),
    )
    project_schema_set(project=alpha, schema=schema, inferred=False)
    users = {name: User.objects.create_user(name, password="pw-" + name) for name in ROLES[1:]}
    for role in ("annotator", "reviewer", "admin"):
        ProjectMembership.objects.create(project=alpha, user=users[role], role=role)
    ProjectMembership.objects.create(project=beta, user=users["outsider"], role="admin")
    a1, a2, b1 = note(alpha, "a1", TEXT_A1), note(alpha, "a2", TEXT_A2), note(beta, "b1", TEXT_B1)
    import_set = AnnotationSet.objects.create(note=a1, source_kind="import", source_name="seed", status="gold")
    Entity.objects.create(annotation_set=import_set, local_id="T1", type="Drug", fragments=[[11, 19]], start=11,
                          end=19, text="warfarin")
    annotator_set = AnnotationSet.objects.create(
        note=a1, source_kind="user", user=users["annotator"], source_name="annotator", status="in_progress"
    )
    Entity.objects.create(annotation_set=annotator_set, local_id="T1", type="Drug", fragments=[[11, 19]], start=11,
                          end=19, text="warfarin")
    Entity.objects.create(annotation_set=annotator_set, local_id="T2", type="ADE", fragments=[[37, 46]], start=37,
                          end=46, text="epistaxis")
    reviewer_set = AnnotationSet.objects.create(
        note=a2, source_kind="user", user=users["reviewer"], source_name="reviewer", status="in_progress"
    )
    model_version = ModelVersion.objects.create(project=alpha, name="m1", path="/nonexistent", is_active=True)
    return World(alpha, beta, users, a1, a2, b1, import_set, annotator_set, reviewer_set, model_version)
