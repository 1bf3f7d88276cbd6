"""An export from the command line copies clinical text out of the database: it writes one `export` audit
record (besides the command's run record), as the command and the OS user who ran it, never the text."""

from __future__ import annotations

import getpass
import io
import json

import pytest
from django.core.management import call_command

from annotations.audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def test_export_corpus_is_audited_as_the_command_and_the_os_user(tmp_path, django_user_model):
    django_user_model.objects.create_user("operator", password="x")
    (tmp_path / "a.txt").write_text("Warfarin caused bleeding.\n")
    (tmp_path / "a.ann").write_text("T1\tDrug 0 8\tWarfarin\n")
    call_command("import_corpus", str(tmp_path), "--project", "p", "--format", "brat", "--admin", "operator",
                 stdout=io.StringIO())
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    call_command("export_corpus", "--project", "p", "--format", "brat", "--out", str(tmp_path / "out.zip"),
                 stdout=io.StringIO())
    [event] = AuditEvent.objects.filter(pk__gt=before, action=AuditAction.EXPORT)
    assert event.actor is None and event.project.slug == "p"
    assert event.actor_username == f"{getpass.getuser()} (manage.py export_corpus)"
    assert (event.details["notes"], event.details["format"], event.details["out"]) == (1, "brat", "out.zip")
    assert "Warfarin" not in json.dumps(event.details) and str(tmp_path) not in json.dumps(event.details)
