"""Create the two PostgreSQL roles production runs with (README "Security"):

- the owner role owns the schema's tables and runs `manage.py migrate`;
- the app role is what the web server, workers and commands connect as: normal DML on every table, but
  only SELECT and INSERT on the audit table, and it owns nothing, so it cannot TRUNCATE, UPDATE or DELETE
  audit records nor ALTER TABLE ... DISABLE TRIGGER (only an owner may).

Run it as a superuser (or a role with CREATEROLE that can reassign the tables) after `migrate`, and again
after any migration that creates a table the app role must not change freely; it is idempotent.
`--sql` prints the statements instead, for a DBA to read and run with psql.
"""

from __future__ import annotations

import re

from django.core.management.base import CommandError
from django.db import connection, transaction

from annotations.management.audited import AuditedCommand

AUDIT_TABLE = "annotations_auditevent"
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def db_roles_statements(*, owner: str, app: str, take_ownership: bool) -> list[str]:
    """The SQL that creates (if missing) and grants the owner and app roles on the current database.

    Args: owner, app: role names (lower-case identifiers); take_ownership: also make `owner` the owner of
    every table and sequence of schema public (for a database whose tables the app's login role owns).
    Raises CommandError for a name that is not a plain identifier or when both names are the same.
    """
    for name in (owner, app):
        if not _ROLE.match(name):
            raise CommandError(f"role name {name!r} must be a lower-case identifier (a-z, 0-9, _)")
    if owner == app:
        raise CommandError("the owner and the app role must differ: the owner of a table can disable its triggers")
    o, a = f'"{owner}"', f'"{app}"'

    def create(role: str) -> str:
        return (
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f'CREATE ROLE "{role}" LOGIN; END IF; END $$'
        )

    statements = [create(owner), create(app), f"GRANT USAGE, CREATE ON SCHEMA public TO {o}"]
    if take_ownership:
        statements.append(
            "DO $$ DECLARE r record; BEGIN "
            "FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') LOOP "
            f"EXECUTE format('ALTER TABLE %I OWNER TO {o}', r.relname); END LOOP; "
            "FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'S' AND NOT EXISTS ("
            "SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) LOOP "
            f"EXECUTE format('ALTER SEQUENCE %I OWNER TO {o}', r.relname); END LOOP; END $$"
        )
    statements += [
        # The app role owns nothing: it may not create tables, and drops its own schema rights.
        f"REVOKE CREATE ON SCHEMA public FROM {a}",
        f"GRANT USAGE ON SCHEMA public TO {a}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {a}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {a}",
        # Tables the owner creates in later migrations get the same grants.
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {a}",
        # The audit trail: read and append only.
        f"REVOKE ALL ON {AUDIT_TABLE} FROM {a}",
        f"REVOKE ALL ON {AUDIT_TABLE} FROM PUBLIC",
        f"GRANT SELECT, INSERT ON {AUDIT_TABLE} TO {a}",
    ]
    return statements


class Command(AuditedCommand):
    help = "Create the PostgreSQL owner role (migrations) and app role (append-only audit table); see README."

    def add_arguments(self, parser):
        parser.add_argument("--owner", default="ade_owner", help="role that owns the tables and runs migrate")
        parser.add_argument("--app", default="ade_app", help="role the app connects as")
        parser.add_argument("--take-ownership", action="store_true",
                            help="make --owner the owner of every table and sequence in schema public")
        parser.add_argument("--sql", action="store_true", help="print the statements instead of running them")

    def handle(self, *args, **options):
        statements = db_roles_statements(owner=options["owner"], app=options["app"],
                                         take_ownership=options["take_ownership"])
        if options["sql"]:
            self.stdout.write(";\n".join(statements) + ";")
            return
        if connection.vendor != "postgresql":
            raise CommandError("database roles exist on PostgreSQL only (the SQLite demo has none)")
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(
            f"roles ready: {options['owner']} owns the tables (run migrate as it), {options['app']} is the app's "
            "(set its password with \\password in psql and put it in DATABASE_URL)"
        )
