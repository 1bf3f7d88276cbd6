"""Undo through the API restores exactly the state before the undone edit (issue 14, point 1)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotations.audit.models import AuditEvent
from annotations.models import AnnotationSet, Attribute, Relation

pytestmark = pytest.mark.django_db


def _url(world, name, **kwargs):
    return reverse(name, kwargs={"slug": "alpha", "pk": world.annotator_set.pk, **kwargs})


def _version(world) -> int:
    return AnnotationSet.objects.get(pk=world.annotator_set.pk).version


def test_undoing_an_attribute_keeps_the_relation_between_the_two_entities(world):
    client = world.client("annotator")
    made = client.post(_url(world, "api-relation-create"),
                       {"version": _version(world), "type": "Causes", "arg1": "T1", "arg2": "T2"}, format="json")
    assert made.status_code == 201, made.content
    attribute = client.post(_url(world, "api-attribute-create"),
                            {"version": _version(world), "name": "Severity", "target": "T2", "value": "severe"},
                            format="json")
    assert attribute.status_code == 201, attribute.content

    undone = client.post(_url(world, "api-undo"), {"version": _version(world)}, format="json")

    assert undone.status_code == 200, undone.content
    assert not Attribute.objects.filter(annotation_set=world.annotator_set).exists()
    assert list(Relation.objects.filter(annotation_set=world.annotator_set).values_list("local_id", "type")) == [
        ("R1", "Causes")
    ]
    record = AuditEvent.objects.filter(action="annotation_change").order_by("-id").first()
    assert record.details["operation"] == "undo"
    assert record.details["before"]["relations"] == record.details["after"]["relations"] == []  # untouched
    assert [a["name"] for a in record.details["before"]["attributes"]] == ["Severity"]
    assert record.details["after"]["attributes"] == []
