"""Project roles and what each may do. Every view and API endpoint resolves its project through here.

Default deny: a user who is not a member of a project gets a 404 (its existence is not revealed);
a member whose role lacks the capability gets a 403.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from .errors import ApplicationError
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


# The role a request's user was found to have in a project, kept on that user object (one per request:
# the session and token authentications load it afresh) so that the services an edit calls do not read the
# same membership row again.
_ROLES_SEEN = "_ade_project_roles"


def project_role(*, user, project: Project) -> str | None:
    """The user's role in the project, or None when not a member."""
    if not user.is_authenticated:
        return None
    seen = getattr(user, _ROLES_SEEN, None)
    if seen is not None and project.pk in seen:
        return seen[project.pk]
    return ProjectMembership.objects.filter(user=user, project=project).values_list("role", flat=True).first()


def project_role_forget(user) -> None:
    """Drop the roles remembered on this user object (after a change of the user's own membership)."""
    if getattr(user, _ROLES_SEEN, None) is not None:
        setattr(user, _ROLES_SEEN, None)


def user_can(*, user, project: Project, capability: Capability) -> bool:
    role = project_role(user=user, project=project)
    return role is not None and capability in ROLE_CAPABILITIES[role]


ARCHIVED_MESSAGE = "This project is archived and read-only; a project admin can unarchive it in its settings."


def project_get_for_user(
    *, user, slug: str, capability: Capability = Capability.VIEW, archived_ok: bool = False
) -> tuple[Project, str]:
    """The project `slug` and the user's role in it; Http404 for non-members, PermissionDenied for a
    role without `capability`, and for anything beyond VIEW on an archived project (read-only) unless
    `archived_ok` (the project's own settings page, where an admin unarchives it)."""
    if not user.is_authenticated:
        raise Http404("No such project.")
    membership = (
        ProjectMembership.objects.select_related("project").filter(user=user, project__slug=slug).first()
    )
    if membership is None:
        raise Http404("No such project.")
    if capability not in ROLE_CAPABILITIES[membership.role]:
        raise PermissionDenied(f"Your role ({membership.role}) may not {capability.value.replace('_', ' ')} here.")
    if membership.project.archived_at is not None and capability != Capability.VIEW and not archived_ok:
        raise PermissionDenied(ARCHIVED_MESSAGE)
    seen = getattr(user, _ROLES_SEEN, None) or {}
    seen[membership.project_id] = membership.role
    setattr(user, _ROLES_SEEN, seen)
    return membership.project, membership.role


def user_may_create_project(user) -> bool:
    """Site staff, and anyone a site administrator gave Django's `annotations.add_project` permission (the
    Django admin's user page): a new project's creator becomes its admin."""
    return bool(user.is_authenticated and user.is_active and (user.is_staff or user.has_perm("annotations.add_project")))


def project_admin_count(*, project: Project) -> int:
    return ProjectMembership.objects.filter(project=project, role=ProjectRole.ADMIN, user__is_active=True).count()


# --- annotation sets: who may change which set (the editor, the API and the services all ask here) -------


def annotation_set_edit_refusal(*, user, annotation_set, role: str | None = None):
    """Why `user` may not change `annotation_set`, as an ApplicationError, or None when they may.

    Users' sets only (model and import sets are read-only); one's own with ANNOTATE, anyone else's and a
    signed-off note's only with MANAGE. `role` is the user's project role when the caller has it (else it
    is looked up)."""
    note = annotation_set.note
    if role is None:
        role = project_role(user=user, project=note.project)
    capabilities = ROLE_CAPABILITIES.get(role, frozenset()) if role else frozenset()
    admin = Capability.MANAGE in capabilities
    if Capability.ANNOTATE not in capabilities:
        return ApplicationError("forbidden", "Your role may not change annotations here.", status=403)
    if note.project.archived_at is not None:
        return ApplicationError("archived", ARCHIVED_MESSAGE, status=403)
    if annotation_set.source_kind == "curation":
        return _curation_set_edit_refusal(user=user, annotation_set=annotation_set, role=role, admin=admin)
    if annotation_set.source_kind != "user":
        return ApplicationError("read_only_set", "Model and import annotations are read-only; edit your own copy.",
                                status=403)
    if annotation_set.user_id != getattr(user, "pk", None) and not admin:
        return ApplicationError("not_your_set", "These are someone else's annotations; they are read-only to you.",
                                status=403)
    if note.review_status == "signed_off" and not admin:
        return ApplicationError("signed_off", "This note is signed off; only a project admin can change it.",
                                status=403)
    return None


def annotation_set_check_editable(*, user, annotation_set, role: str | None = None) -> None:
    """Raise the ApplicationError of `annotation_set_edit_refusal` when `user` may not change the set."""
    refusal = annotation_set_edit_refusal(user=user, annotation_set=annotation_set, role=role)
    if refusal is not None:
        raise refusal


def sign_off_refusal(*, user, annotation_set, role: str | None = None):
    """Why `user` may not sign off (confirm or overturn on) `annotation_set`, or None: reviewers and admins
    only, and never on their own submission (the four-eyes rule)."""
    note = annotation_set.note
    if role is None:
        role = project_role(user=user, project=note.project)
    if not role or Capability.SIGN_OFF not in ROLE_CAPABILITIES[role]:
        return ApplicationError("forbidden", "Only reviewers and admins may sign notes off.", status=403)
    if annotation_set.user_id is not None and annotation_set.user_id == getattr(user, "pk", None):
        return ApplicationError(
            "own_submission", "You cannot sign off your own annotations: another reviewer must.", status=403
        )
    return None


# --- curation (adjudication, issue 17): who may merge annotators' sets into a note's gold ------------------


def curation_refusal(*, user, project: Project, role: str | None = None):
    """Why `user` may not curate (see annotators' disagreements side by side and decide them) in `project`,
    or None: reviewers and admins only (an annotator in a blind project must not see the others' sets), and
    never in an archived project."""
    if role is None:
        role = project_role(user=user, project=project)
    if not role or Capability.SIGN_OFF not in ROLE_CAPABILITIES[role]:
        return ApplicationError("forbidden", "Only reviewers and admins may curate.", status=403)
    if project.archived_at is not None:
        return ApplicationError("archived", ARCHIVED_MESSAGE, status=403)
    return None


def _curation_set_edit_refusal(*, user, annotation_set, role: str, admin: bool):
    """A curation set is its curator's (or a project admin's) to change, while it is not finished."""
    if Capability.SIGN_OFF not in ROLE_CAPABILITIES[role]:
        return ApplicationError("forbidden", "Only reviewers and admins may curate.", status=403)
    if annotation_set.status == "gold":
        return ApplicationError("curation_finished", "This curation is finished: it is the note's gold. Reopen it "
                                "on its curation page to change it.", status=409)
    if annotation_set.user_id != getattr(user, "pk", None) and not admin:
        return ApplicationError("not_your_set", f"{annotation_set.source_name} is curating this note; their "
                                "curation is read-only to you.", status=403)
    if annotation_set.note.review_status == "signed_off" and not admin:
        return ApplicationError("signed_off", "This note is signed off; only a project admin can change it.",
                                status=403)
    return None


# --- annotation sets: who may see which set (blind annotation, issue 17) ---------------------------------
#
# The one rule of visibility. Every door that lists or shows a note's sets asks here: the editor (its set
# switcher, `?set=`, what an own set starts from, "Correct these"), the API's annotation-set list and detail
# and sign-off list, the review queue's filters on annotations and annotators, the agreement figures.


def annotation_sets_all_visible(*, user, project: Project, role: str | None = None) -> bool:
    """Whether `user` sees every annotation set of the project: always, unless the project is blind
    (`blind_annotation` or `blind_prelabels`) and their role may not sign off (annotators). Reviewers and
    admins see everything: they review, adjudicate and manage."""
    if not (project.blind_annotation or project.blind_prelabels):
        return True
    if role is None:
        role = project_role(user=user, project=project)
    return role is not None and Capability.SIGN_OFF in ROLE_CAPABILITIES[role]


def annotation_set_visibility(*, user, project: Project, role: str | None = None, prefix: str = ""):
    """Which of the project's annotation sets `user` may see, as a Q on AnnotationSet (`prefix`, e.g.
    "annotation_set__", for a model that points at sets), or None when they see them all.

    Blind annotation (`Project.blind_annotation`) shows an annotator only their own sets: not other
    people's, not imports (an imported set is someone's annotation work too, a person's or another tool's:
    brat folders per annotator, a gold corpus), not curations (a merge of other people's sets). The model's
    pre-labels stay visible unless `blind_prelabels` hides them too (then a new set starts empty)."""
    if annotation_sets_all_visible(user=user, project=project, role=role):
        return None

    def q(**lookups) -> Q:
        return Q(**{f"{prefix}{key}": value for key, value in lookups.items()})

    mine = q(source_kind="user", user_id=getattr(user, "pk", None))
    visible = mine
    if not project.blind_prelabels:
        visible |= q(source_kind="model")
    if not project.blind_annotation:
        visible |= ~q(source_kind="model")
    return visible


def annotation_set_visible(*, user, annotation_set, project: Project | None = None, role: str | None = None) -> bool:
    """Whether `user` may see this (loaded) set; `annotation_set_visibility`'s rule for one instance."""
    project = project or annotation_set.note.project
    if annotation_sets_all_visible(user=user, project=project, role=role):
        return True
    kind = annotation_set.source_kind
    if kind == "user" and annotation_set.user_id == getattr(user, "pk", None):
        return True
    if kind == "model":
        return not project.blind_prelabels
    return not project.blind_annotation


def prelabels_visible(*, user, project: Project, role: str | None = None) -> bool:
    """Whether `user` sees the model's pre-labels: what a new set of theirs starts from (else empty)."""
    return not project.blind_prelabels or annotation_sets_all_visible(user=user, project=project, role=role)


BLIND_AGREEMENT_MESSAGE = (
    "This project annotates blind: agreement between annotators tells what the others said, so its figures "
    "are for reviewers and admins."
)


def agreement_check_visible(*, user, project: Project, role: str | None = None) -> None:
    """Agreement figures compare everyone's sets: under blind annotation only those who see every set may
    read them (ApplicationError 403 otherwise; the page and the API both ask here)."""
    if project.blind_annotation and not annotation_sets_all_visible(user=user, project=project, role=role):
        raise ApplicationError("blind_annotation", BLIND_AGREEMENT_MESSAGE, status=403)


# --- terminologies (pharmacovigilance.terminology): the site's, not a project's ----------------------------


def user_may_load_terminologies(user) -> bool:
    """Loading MedDRA, ATC or SNOMED CT replaces what every project codes against: site staff only."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def user_may_see_terminologies(user) -> bool:
    """Which versions are loaded (and who loaded them): site staff and the admins of any project."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or ProjectMembership.objects.filter(user=user, role=ProjectRole.ADMIN).exists()


def user_may_look_up_terms(user) -> bool:
    """Looking a term up (what coding a span or a case needs): site staff and members of any project."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or ProjectMembership.objects.filter(user=user).exists()
