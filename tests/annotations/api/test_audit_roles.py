"""The audit table cannot be wiped: a TRUNCATE trigger refuses it whoever asks, and the production app role
(`manage.py setup_db_roles`) may only read and append audit records, so it can neither TRUNCATE, UPDATE or
DELETE them nor disable the triggers that protect them. Runs on PostgreSQL inside the test's transaction:
the roles it creates roll back with it."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from annotations.audit.models import AuditAction, AuditEvent
from annotations.audit.services import audit_record

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="roles and TRUNCATE triggers are PostgreSQL's"),
]


def refused(sql: str) -> bool:
    """True when the statement fails (in a savepoint, so the test's transaction survives)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    except DatabaseError:
        return True
    return False


@pytest.fixture
def roles():
    suffix = uuid.uuid4().hex[:8]
    owner, app = f"ade_test_owner_{suffix}", f"ade_test_app_{suffix}"
    call_command("setup_db_roles", owner=owner, app=app, take_ownership=True)
    audit_record(action=AuditAction.EXPORT, actor_username="seed")
    yield owner, app
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def test_truncate_of_the_audit_table_is_refused_even_for_its_owner(roles):
    owner, _ = roles
    with connection.cursor() as cursor:
        # The test settings let Django's flush through (see ade_review/settings/test.py); production's
        # connections never set this.
        cursor.execute("SET LOCAL ade_review.allow_audit_truncate = 'off'")
        cursor.execute(f'SET ROLE "{owner}"')
    assert refused("TRUNCATE annotations_auditevent")
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    assert refused("TRUNCATE annotations_auditevent")  # the superuser too: the trigger fires for everyone
    assert AuditEvent.objects.filter(actor_username="seed").exists()


def test_the_app_role_may_only_read_and_append_audit_records(roles):
    _, app = roles
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{app}"')
    for sql in (
        "TRUNCATE annotations_auditevent",
        "UPDATE annotations_auditevent SET actor_username = 'x'",
        "DELETE FROM annotations_auditevent",
        "ALTER TABLE annotations_auditevent DISABLE TRIGGER ALL",
        "ALTER TABLE annotations_auditevent DISABLE TRIGGER annotations_auditevent_append_only",
        "DROP TRIGGER annotations_auditevent_no_truncate ON annotations_auditevent",
        "DROP TABLE annotations_auditevent",
    ):
        assert refused(sql), sql
    # Appending and reading work, through the ORM as the app does it.
    audit_record(action=AuditAction.EXPORT, actor_username="app")
    assert {"app", "seed"} <= set(AuditEvent.objects.values_list("actor_username", flat=True))
    # Ordinary tables keep their normal DML.
    assert not refused("UPDATE annotations_project SET name = name")
    assert not refused("DELETE FROM annotations_project WHERE slug = 'no-such-project'")


def test_role_names_must_be_plain_identifiers():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("setup_db_roles", owner='x"; DROP TABLE y; --', app="ade_app", sql=True)
    with pytest.raises(CommandError):
        call_command("setup_db_roles", owner="same", app="same", sql=True)
