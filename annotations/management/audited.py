"""Management commands are audited too: as the command and the OS user who ran it.

`AuditedCommand` runs `handle` under the command's audit origin (so services that audit themselves name
the command and OS user) and appends one `command` record of the run: its name, its options (names and
short scalar values: slugs, formats, paths; commands take no clinical text) and whether it succeeded.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from annotations.audit.models import AuditAction
from annotations.audit.origin import audit_origin_set, command_origin
from annotations.audit.services import audit_record

_SKIP = {"verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color", "skip_checks"}


def _options_for_record(options: dict) -> dict:
    kept = {}
    for name, value in options.items():
        if name in _SKIP or value is None:
            continue
        if isinstance(value, bool | int | float):
            kept[name] = value
        else:
            kept[name] = str(value)[:200]
    return kept


class AuditedCommand(BaseCommand):
    """A BaseCommand whose runs leave an audit record (see the module docstring)."""

    def execute(self, *args, **options):
        name = type(self).__module__.rsplit(".", 1)[-1]
        ok = False
        with audit_origin_set(command_origin(name)):
            try:
                result = super().execute(*args, **options)
                ok = True
                return result
            finally:
                self._audit_run(name, options, ok)

    def _audit_run(self, name: str, options: dict, ok: bool) -> None:
        from annotations.models import Project

        slug = options.get("project")
        project = Project.objects.filter(slug=slug).first() if isinstance(slug, str) else None
        audit_record(
            action=AuditAction.COMMAND,
            project=project,
            object_type="command",
            object_id=name,
            details={"command": name, "options": _options_for_record(options), "succeeded": ok},
        )
