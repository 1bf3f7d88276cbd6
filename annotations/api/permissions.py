"""Project-role permission for API views: resolves the project from the URL through
`annotations.permissions.project_get_for_user` (404 for non-members, 403 for a role without the capability)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, permissions

from annotations.permissions import ROLE_CAPABILITIES, Capability, project_get_for_user


class ProjectRole(permissions.BasePermission):
    """Requires `view.required_capability` (per method through `view.capabilities`, default VIEW) in the
    project named by the `slug` URL argument; sets `view.project` and `view.role`."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        capability = getattr(view, "capabilities", {}).get(request.method, Capability.VIEW)
        try:
            view.project, view.role = project_get_for_user(
                user=request.user, slug=view.kwargs["slug"], capability=capability,
                # Methods that work on an archived project (its settings: unarchive, delete).
                archived_ok=request.method in getattr(view, "archived_ok_methods", ()),
            )
        except Http404:
            raise exceptions.NotFound("No such project.") from None
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        return True


def role_can(role: str, capability: Capability) -> bool:
    return capability in ROLE_CAPABILITIES[role]
