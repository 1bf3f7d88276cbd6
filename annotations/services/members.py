"""Project members: add a person with a role, change the role, remove them. Audited (MEMBER_CHANGE).

The door checks that `by` may manage the project (MANAGE); these functions keep the project's own rules:
roles are admin, reviewer or annotator; a project always keeps one active admin; a removed member's work
stays in the project, attributed to them (annotation sets and sign-offs keep their user).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.models import Project, ProjectMembership, ProjectRole
from annotations.permissions import project_role_forget

User = get_user_model()


def _role(role: str) -> str:
    if role not in ProjectRole.values:
        raise ApplicationError("bad_input", f"A role is one of {', '.join(ProjectRole.values)}.")
    return role


def _audit(by, project: Project, user, change: str, old: str | None, new: str | None, reason: str = "") -> None:
    for person in (user, by):  # a role remembered for this request is stale now (annotations.permissions)
        if person is not None:
            project_role_forget(person)
    details = {"change": change, "user": user.username, "from": old, "to": new}
    if reason:
        details["reason"] = reason  # e.g. "directory": the change came from the hospital directory's groups
    audit_record(action=AuditAction.MEMBER_CHANGE, actor=by, project=project, object_type="member",
                 object_id=user.pk, details=details)


def _other_active_admins(project: Project, user) -> bool:
    return (ProjectMembership.objects.filter(project=project, role=ProjectRole.ADMIN, user__is_active=True)
            .exclude(user=user).exists())


def member_add(*, by, project: Project, user, role: str, reason: str = "") -> ProjectMembership:
    """Make `user` a member with `role`. Errors: 409 when they are one already (change the role instead)."""
    role = _role(role)
    if not user.is_active:
        raise ApplicationError("inactive_user", f"{user.username} is deactivated; a site administrator can "
                               "reactivate them first.")
    try:
        with transaction.atomic():
            membership = ProjectMembership.objects.create(project=project, user=user, role=role)
            _audit(by, project, user, "added", None, role, reason)
    except IntegrityError:
        raise ApplicationError("already_member", f"{user.username} is a member already; change their role "
                               "instead.", status=409) from None
    return membership


def member_set_role(*, by, project: Project, user, role: str, reason: str = "") -> ProjectMembership:
    role = _role(role)
    with transaction.atomic():
        membership = ProjectMembership.objects.select_for_update().filter(project=project, user=user).first()
        if membership is None:
            raise ApplicationError("not_member", f"{user.username} is not a member of this project.", status=404)
        if membership.role == role:
            return membership
        # Lock the project's admins so that two admins demoting each other at once cannot both succeed.
        list(ProjectMembership.objects.select_for_update().filter(project=project, role=ProjectRole.ADMIN))
        if membership.role == ProjectRole.ADMIN and not _other_active_admins(project, user):
            raise ApplicationError("last_admin", "A project keeps at least one active admin: make someone else "
                                   "admin first.", status=409)
        old, membership.role = membership.role, role
        membership.save(update_fields=["role"])
        _audit(by, project, user, "role", old, role, reason)
    return membership


def member_remove(*, by, project: Project, user, reason: str = "") -> None:
    """Remove `user` from the project; their annotations, submissions and sign-offs stay."""
    with transaction.atomic():
        membership = ProjectMembership.objects.select_for_update().filter(project=project, user=user).first()
        if membership is None:
            raise ApplicationError("not_member", f"{user.username} is not a member of this project.", status=404)
        list(ProjectMembership.objects.select_for_update().filter(project=project, role=ProjectRole.ADMIN))
        if membership.role == ProjectRole.ADMIN and not _other_active_admins(project, user):
            raise ApplicationError("last_admin", "A project keeps at least one active admin: make someone else "
                                   "admin first.", status=409)
        membership.delete()
        _audit(by, project, user, "removed", membership.role, None, reason)


def member_roles_apply(*, by, user, roles: dict[Project, str | None], reason: str) -> None:
    """Set `user`'s role in each project to the given one (None: not a member), as one change per project;
    used by sign-in through the hospital directory (its group -> project role mapping). The last-admin
    rule holds here too: a directory change never leaves a project without an admin (the role is kept and
    the refusal is audited instead)."""
    for project, role in roles.items():
        current = ProjectMembership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
        try:
            if role is None and current is not None:
                member_remove(by=by, project=project, user=user, reason=reason)
            elif role is not None and current is None:
                member_add(by=by, project=project, user=user, role=role, reason=reason)
            elif role is not None and current != role:
                member_set_role(by=by, project=project, user=user, role=role, reason=reason)
        except ApplicationError as exc:
            audit_record(action=AuditAction.MEMBER_CHANGE, actor=by, project=project, object_type="member",
                         object_id=user.pk, details={"change": "refused", "user": user.username, "reason": reason,
                                                     "code": exc.code})
