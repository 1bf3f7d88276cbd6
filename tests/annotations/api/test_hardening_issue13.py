"""Smaller holes of issue 13 (finding 11): no 5xx for OPTIONS on any API route, API JSON is never cached,
and the audit CSV cannot smuggle spreadsheet formulas."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from annotations.audit.csv_export import audit_csv_rows
from annotations.audit.models import AuditAction, AuditEvent
from annotations.audit.services import audit_record

pytestmark = pytest.mark.django_db


def session_client(world, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(world.users[role])
    return client


def api_paths(world) -> list[str]:
    """One concrete path per URL pattern under /api/ (every app's), its parameters filled with ids of project
    alpha."""
    values = {"slug": "alpha", "pk": str(world.annotator_set.pk), "note_id": str(world.note_a1.pk),
              "local_id": "T1", "version_id": str(world.model_version.pk), "job_id": "1", "export_id": "0" * 32,
              "user_id": str(world.users["annotator"].pk), "name": "Drug", "token_id": "1",
              "assignment_id": "1", "unit": "s-0000000000000000", "case_id": "1", "drug_id": "1",
              "reaction_id": "1"}
    apis = [p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and str(p.pattern) == "api/"]
    assert len(apis) >= 2  # each app includes its own API routes under /api/
    paths = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                if route.startswith("^") or "[" in route:  # the catch-all 404
                    continue
                paths.append("/api/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route))

    for api in apis:
        walk(api.url_patterns, "")
    return paths


@pytest.mark.parametrize("role", ["anonymous", "annotator", "admin", "outsider"])
def test_options_on_every_api_route_is_never_a_server_error(world, role):
    client = session_client(world, role)
    paths = api_paths(world)
    assert len(paths) > 30
    failures = {p: r.status_code for p in paths if (r := client.options(p)).status_code >= 500}
    assert failures == {}


def test_api_json_is_never_stored_by_caches(world):
    client = session_client(world, "reviewer")
    for url in (reverse("api-project-list"), reverse("api-note-detail", kwargs={"slug": "alpha", "note_id": world.note_a1.pk}),
                reverse("api-note-detail", kwargs={"slug": "beta", "note_id": world.note_b1.pk})):
        assert "no-store" in client.get(url)["Cache-Control"], url
    assert "no-store" in Client().get(reverse("api-project-list"))["Cache-Control"]


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_audit_csv_cells_cannot_start_a_formula(world, value):
    audit_record(action=AuditAction.LOGIN_FAILURE, actor_username=value, object_id=value,
                 object_type=value, project=world.alpha)
    rows = list(audit_csv_rows(AuditEvent.objects.filter(project=world.alpha)))
    [row] = rows[1:]
    for cell in row:
        assert not cell or cell[0] not in "=+-@\t\r", row
    assert row[2] == "'" + value  # the value itself is kept, behind a quote
    # and the export page writes the same
    response = session_client(world, "admin").get(reverse("audit-event-export", kwargs={"slug": "alpha"}))
    body = b"".join(response.streaming_content).decode()
    [header, record] = list(csv.reader(io.StringIO(body)))
    assert record[2] == "'" + value.replace("\r", "\n") or record[2].startswith("'")
