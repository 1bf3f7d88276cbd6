"""Project roles and what each may do. Every view and API endpoint resolves its project through here.

Default deny: a user who is not a member of a project gets a 404 (its existence is not revealed);
a member whose role lacks the capability gets a 403.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Project, ProjectMembership, ProjectRole


class Capability(StrEnum):
    VIEW = "view"  # read notes, annotations, the queue
    ANNOTATE = "annotate"  # edit one's own annotation sets, accept/reject pre-labels, label notes
    SIGN_OFF = "sign_off"  # confirm or overturn a model flag, sign a note off
    MANAGE = "manage"  # schemas, imports, exports, jobs, members, edit signed-off notes, audit trail


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    ProjectRole.ANNOTATOR: frozenset({Capability.VIEW, Capability.ANNOTATE}),
    ProjectRole.REVIEWER: frozenset({Capability.VIEW, Capability.ANNOTATE, Capability.SIGN_OFF}),
    ProjectRole.ADMIN: frozenset(Capability),
}


def project_role(*, user, project: Project) -> str | None:
    """The user's role in the project, or None when not a member."""
    if not user.is_authenticated:
        return None
    return ProjectMembership.objects.filter(user=user, project=project).values_list("role", flat=True).first()


def user_can(*, user, project: Project, capability: Capability) -> bool:
    role = project_role(user=user, project=project)
    return role is not None and capability in ROLE_CAPABILITIES[role]


def project_get_for_user(*, user, slug: str, capability: Capability = Capability.VIEW) -> tuple[Project, str]:
    """The project `slug` and the user's role in it; Http404 for non-members, PermissionDenied for a
    role without `capability`."""
    if not user.is_authenticated:
        raise Http404("No such project.")
    membership = (
        ProjectMembership.objects.select_related("project").filter(user=user, project__slug=slug).first()
    )
    if membership is None:
        raise Http404("No such project.")
    if capability not in ROLE_CAPABILITIES[membership.role]:
        raise PermissionDenied(f"Your role ({membership.role}) may not {capability.value.replace('_', ' ')} here.")
    return membership.project, membership.role
