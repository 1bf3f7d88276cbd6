"""The schema API: read the schema and its conf texts, replace them (400 with file:line problems, 409 with
the counts of the annotations a change would orphan), rename or merge a type, set a type's display name and
colour; changes are for project admins (other members 403, non-members 404)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotations.models import AnnotationSet, Entity
from annotations.services.schemas import project_schema_get

from .conftest import World

pytestmark = pytest.mark.django_db

# The world's schema (tests/annotations/api/conftest.py) as annotation.conf, plus a Route type.
CONF = """[entities]
Drug
ADE
Route

[relations]
Causes\tArg1:Drug, Arg2:ADE

[events]

[attributes]
Severity\tArg:ADE, Value:mild|severe
"""
SCHEMA_URL = reverse("api-project-schema", kwargs={"slug": "alpha"})
RENAME_URL = reverse("api-schema-rename", kwargs={"slug": "alpha"})


def type_url(name: str) -> str:
    return reverse("api-schema-type", kwargs={"slug": "alpha", "name": name})


def test_the_schema_comes_with_its_conf_texts_written_from_it_when_none_was_uploaded(world: World):
    response = world.client("annotator").get(SCHEMA_URL)
    assert response.status_code == 200
    body = response.json()
    assert [t["name"] for t in body["definition"]["entity_types"]] == ["Drug", "ADE"]
    assert body["annotation_conf"].startswith("[entities]\nDrug\nADE\n")
    assert "Causes\tArg1:Drug, Arg2:ADE" in body["annotation_conf"]
    assert body["visual_conf"].startswith("[labels]")


def test_an_admin_replaces_the_conf_texts(world: World):
    response = world.client("admin").put(SCHEMA_URL, {"annotation_conf": CONF, "visual_conf": "[drawing]\nRoute bgColor:teal\n"},
                                         format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["annotation_conf"] == CONF and response.json()["inferred"] is False
    schema = project_schema_get(project=world.alpha)
    assert "Route" in [t.name for t in schema.entity_types] and schema.visual["Route"].colour == "teal"


@pytest.mark.parametrize("role,status", [("annotator", 403), ("reviewer", 403), ("outsider", 404), ("anonymous", 401)])
def test_only_project_admins_change_the_schema(world: World, role, status):
    client = world.client(role)
    assert client.put(SCHEMA_URL, {"annotation_conf": CONF}, format="json").status_code == status
    assert client.post(RENAME_URL, {"kind": "entity", "old": "ADE", "new": "Reaction"}, format="json").status_code == status
    assert client.patch(type_url("Drug"), {"colour": "teal"}, format="json").status_code == status
    assert "Route" not in [t.name for t in project_schema_get(project=world.alpha).entity_types]


def test_conf_problems_answer_400_with_file_and_line(world: World):
    broken = CONF.replace("Causes\tArg1:Drug, Arg2:ADE", "Causes\tArg1:Drug")
    response = world.client("admin").put(
        SCHEMA_URL, {"annotation_conf": broken, "visual_conf": "[drawing]\nDrug bgColor:url(x)\n"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "schema_invalid"
    assert {"file": "annotation.conf", "line": 7, "message": "Causes: a relation needs exactly two arguments"} in body["details"]
    assert any(p["file"] == "visual.conf" and p["line"] == 2 for p in body["details"])


def test_a_change_that_would_orphan_annotations_answers_409_with_counts(world: World):
    response = world.client("admin").put(SCHEMA_URL, {"annotation_conf": CONF.replace("ADE\n", "", 1)}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "schema_orphans"
    ade = next(o for o in body["details"]["orphans"] if o["kind"] == "entity")
    assert (ade["type"], ade["annotations"], ade["notes"], ade["summary"]) == ("ADE", 1, 1, "ADE: 1 entity in 1 note")
    assert "ADE" in [t.name for t in project_schema_get(project=world.alpha).entity_types]


def test_renaming_a_type_rewrites_its_annotations_and_bumps_versions(world: World):
    version = AnnotationSet.objects.get(pk=world.annotator_set.pk).version
    response = world.client("admin").post(RENAME_URL, {"kind": "entity", "old": "Drug", "new": "Medicine"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"kind": "entity", "old": "Drug", "new": "Medicine", "merge": False,
                               "counts": {"entities": 2}, "notes": 1, "annotation_sets": 2}
    assert set(Entity.objects.filter(annotation_set__note__project=world.alpha).values_list("type", flat=True)) == {
        "Medicine", "ADE"}
    assert AnnotationSet.objects.get(pk=world.annotator_set.pk).version == version + 1
    assert project_schema_get(project=world.alpha).relation_types[0].arg1_types == ("Medicine",)


def test_merging_into_a_type_of_another_kind_is_refused(world: World):
    response = world.client("admin").post(RENAME_URL, {"kind": "entity", "old": "Drug", "new": "Causes"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "cross_kind"
    response = world.client("admin").post(RENAME_URL, {"kind": "entity", "old": "Drug", "new": "a b"}, format="json")
    assert response.status_code == 400


def test_a_merge_that_would_break_relations_answers_409_with_counts(world: World):
    from annotations.services import editing

    aset = AnnotationSet.objects.get(pk=world.annotator_set.pk)
    editing.relation_create(annotation_set=aset, expected_version=aset.version, type="Causes", head="T1", tail="T2",
                            user=world.users["annotator"])
    # Mentions names its arguments Source/Target: a Causes relation (Arg1/Arg2) would not fit it.
    world.client("admin").put(SCHEMA_URL, {"annotation_conf": CONF.replace(
        "[events]", "Mentions\tSource:Drug, Target:ADE\n\n[events]")}, format="json")
    response = world.client("admin").post(RENAME_URL, {"kind": "relation", "old": "Causes", "new": "Mentions"},
                                          format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "merge_breaks_annotations"
    assert body["details"]["orphans"][0]["summary"] == "Causes: 1 relation in 1 note"


def test_a_types_display_name_and_colour_are_patched(world: World):
    client = world.client("admin")
    response = client.patch(type_url("Drug"), {"label": "Medicine", "colour": "#8fb8ff"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"name": "Drug", "label": "Medicine", "colour": "#8fb8ff"}
    # A field left out stays as it is.
    assert client.patch(type_url("Drug"), {"colour": "teal"}, format="json").json()["label"] == "Medicine"


@pytest.mark.parametrize("body,code", [
    ({"colour": "red}#note-text{color:red"}, "bad_colour"),
    ({"colour": "url(javascript:alert(1))"}, "bad_colour"),
    ({"label": "line\nbreak"}, "bad_label"),
])
def test_a_hostile_display_name_or_colour_is_refused(world: World, body, code):
    response = world.client("admin").patch(type_url("Drug"), body, format="json")
    assert response.status_code == 400 and response.json()["code"] == code
    assert project_schema_get(project=world.alpha).visual == {}


def test_patching_an_unknown_type_is_404(world: World):
    response = world.client("admin").patch(type_url("Nope"), {"label": "x"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "unknown_type"


def test_the_openapi_schema_documents_the_schema_endpoints(world: World):
    paths = world.client("admin").get("/api/schema/?format=json").json()["paths"]
    assert {"get", "put"} <= set(paths["/api/projects/{slug}/schema/"])
    assert "409" in paths["/api/projects/{slug}/schema/"]["put"]["responses"]
    assert "post" in paths["/api/projects/{slug}/schema/rename/"]
    assert "patch" in paths["/api/projects/{slug}/schema/types/{name}/"]
