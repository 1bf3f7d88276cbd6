"""Where an audited action comes from, so that services can write their own audit records.

Services take the acting user (`actor=`/`user=`) and write the audit record in their own transaction;
what they cannot know (the client's address, or the command and OS user behind a management command) is
set here once per request by `AuditOriginMiddleware` and once per command by `audited_command`, and
`annotations.audit.audit_record` reads it. Framework-free apart from settings-free stdlib.
"""

from __future__ import annotations

import contextvars
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditOrigin:
    """`door`: web, api, command or task; `client_address` for requests; `command`/`os_user` for commands."""

    door: str
    client_address: str | None = None
    command: str = ""
    os_user: str = ""

    @property
    def actor_label(self) -> str:
        """Who acted when no application user did (a management command run by an OS user)."""
        if self.door == "command":
            return f"{self.os_user or 'unknown'} (manage.py {self.command})"[:150]
        return ""


_current: contextvars.ContextVar[AuditOrigin | None] = contextvars.ContextVar("audit_origin", default=None)


def audit_origin() -> AuditOrigin | None:
    """The origin of the action now running, or None (outside any request or command)."""
    return _current.get()


@contextmanager
def audit_origin_set(origin: AuditOrigin) -> Iterator[AuditOrigin]:
    token = _current.set(origin)
    try:
        yield origin
    finally:
        _current.reset(token)


def command_origin(command: str) -> AuditOrigin:
    """The origin of a management command: its name and the OS user who ran it."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        os_user = ""
    return AuditOrigin(door="command", command=command, os_user=os_user)
