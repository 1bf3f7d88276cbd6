"""Who may see and change cases: the one place the rule lives, built on the project roles of
annotations.permissions. Views, the API, the selectors and the services all ask here.

Cases are for the people who decide on notes: reviewers and project admins (the SIGN_OFF capability) read,
open, edit, assess and report them; annotators do not see them (a case gathers a patient's confirmed ADEs:
reviewers' work, not annotation). Downloading the line listing is an export: project admins only. An
archived project's cases stay readable and change no more.
"""

from __future__ import annotations

from annotations.errors import ApplicationError
from annotations.permissions import ARCHIVED_MESSAGE, ROLE_CAPABILITIES, Capability, project_role


def cases_visible(role: str | None) -> bool:
    """Whether a member with `role` sees the project's cases (reviewers and admins)."""
    return bool(role) and Capability.SIGN_OFF in ROLE_CAPABILITIES.get(role, frozenset())


def case_read_refusal(*, user, project, role: str | None = None) -> ApplicationError | None:
    """Why `user` may not read the project's cases (an ApplicationError, 403), or None when they may."""
    if role is None:
        role = project_role(user=user, project=project)
    if not cases_visible(role):
        return ApplicationError("forbidden", "Cases are for reviewers and admins.", status=403)
    return None


def case_change_refusal(*, user, project, role: str | None = None) -> ApplicationError | None:
    """Why `user` may not open, change, assess or report the project's cases, or None when they may."""
    if role is None:
        role = project_role(user=user, project=project)
    refusal = case_read_refusal(user=user, project=project, role=role)
    if refusal is not None:
        return refusal
    if project.archived_at is not None:
        return ApplicationError("archived", ARCHIVED_MESSAGE, status=403)
    return None


def case_export_refusal(*, user, project, role: str | None = None) -> ApplicationError | None:
    """Why `user` may not download the project's cases (line listing CSV/XLSX, reports), or None."""
    if role is None:
        role = project_role(user=user, project=project)
    if not role or Capability.MANAGE not in ROLE_CAPABILITIES.get(role, frozenset()):
        return ApplicationError("forbidden", "Exporting cases is for project admins.", status=403)
    return None


def case_check(refusal: ApplicationError | None) -> None:
    """Raise the refusal, if any (`case_check(case_change_refusal(...))`)."""
    if refusal is not None:
        raise refusal
