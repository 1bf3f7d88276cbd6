"""Two clients write the same annotation set at once: one wins, the other gets a conflict, and what is stored
is exactly the winner's version (nothing lost, nothing merged)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.urls import reverse

from annotations.models import AnnotationSet, Entity

pytestmark = pytest.mark.django_db(transaction=True)


def race(calls):
    """Run the calls in threads released together; returns their responses in call order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def stored(aset_pk):
    return sorted((e.local_id, e.type, tuple(map(tuple, e.fragments))) for e in Entity.objects.filter(
        annotation_set_id=aset_pk))


@pytest.mark.parametrize("round_", range(3))
def test_two_whole_set_writes_at_once_one_wins_one_conflicts(world, round_):
    aset = world.annotator_set
    url = reverse("api-annotation-set-detail", kwargs={"slug": "alpha", "pk": aset.pk})
    # Same user, two tabs (admin may edit the annotator's set too: two different people).
    mine, theirs = world.client("annotator"), world.client("admin")
    body_a = {"version": 1, "entities": [{"id": "T1", "type": "Drug", "fragments": [[11, 19]]}]}
    body_b = {"version": 1, "entities": [{"id": "T9", "type": "ADE", "fragments": [[37, 46]]}]}
    a, b = race([lambda: mine.put(url, body_a, format="json"), lambda: theirs.put(url, body_b, format="json")])
    assert sorted([a.status_code, b.status_code]) == [200, 409], (a.data, b.data)
    loser = a if a.status_code == 409 else b
    assert loser.data["code"] == "conflict" and loser.data["details"]["current_version"] == 2
    winner_body = body_a if a.status_code == 200 else body_b
    expected = sorted((e["id"], e["type"], tuple(map(tuple, e["fragments"]))) for e in winner_body["entities"])
    assert stored(aset.pk) == expected
    assert AnnotationSet.objects.get(pk=aset.pk).version == 2


def test_two_entity_creates_at_once_store_exactly_one(world):
    aset = world.annotator_set
    url = reverse("api-entity-create", kwargs={"slug": "alpha", "pk": aset.pk})
    client_a, client_b = world.client("annotator"), world.client("admin")
    a, b = race([
        lambda: client_a.post(url, {"version": 1, "type": "ADE", "fragments": [[30, 36]]}, format="json"),
        lambda: client_b.post(url, {"version": 1, "type": "Drug", "fragments": [[0, 7]]}, format="json"),
    ])
    assert sorted([a.status_code, b.status_code]) == [201, 409]
    assert Entity.objects.filter(annotation_set=aset).count() == 3
    assert AnnotationSet.objects.get(pk=aset.pk).version == 2


def test_the_loser_can_reload_and_apply_its_edit(world):
    aset = world.annotator_set
    url = reverse("api-entity-create", kwargs={"slug": "alpha", "pk": aset.pk})
    client = world.client("annotator")
    assert client.post(url, {"version": 1, "type": "ADE", "fragments": [[30, 36]]}, format="json").status_code == 201
    stale = client.post(url, {"version": 1, "type": "Drug", "fragments": [[0, 7]]}, format="json")
    assert stale.status_code == 409
    retry = client.post(url, {"version": stale.data["details"]["current_version"], "type": "Drug",
                              "fragments": [[0, 7]]}, format="json")
    assert retry.status_code == 201 and retry.data["version"] == 3
    assert Entity.objects.filter(annotation_set=aset).count() == 4
