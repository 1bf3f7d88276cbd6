"""Who annotates which note (issue 17): the project's assignment settings, the hand-out of the next note to
an annotator, admins' assignments by hand, the release of assignments nobody touched, and the touch and
completion that the assignee's edits and submission make (annotations.services.editing calls
`assignment_touch`).

Rules (each service checks them, whatever the door: page, API, command):

- a note goes to at most `Project.annotators_per_note` (k) distinct people and never twice to one person
  (one row per note and person; people who annotated a note before it was assigned count too);
- only notes that still need annotation are handed out: no gold (imported, signed off, curated), not
  signed off, not submitted by the person already;
- an annotator who holds an open assignment gets it back instead of a new one (one at a time; an admin may
  hand out more by hand);
- order: notes that others already hold but that still need people come first (a note reaches its k
  annotations, so it can be compared and adjudicated, before the pool moves on; every annotator still holds
  one note at a time, so the workload spreads by itself), then the project's order: active-learning (the
  annotation queue's own order, registered by the learning app: `assignment_order_register`), random, or
  none at all when notes are assigned by hand;
- an open assignment not touched (an edit of the assignee's set, or the hand-out) within the project's
  timeout goes back to the pool (`assignments_release_stale`: lazily at each hand-out and every few minutes
  by the beat); the person's annotations stay.

Every change is audited (`assignment_change`, or `project_change` for the settings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.models import (
    AnnotationSet,
    AnnotationSetSource,
    AnnotationSetStatus,
    AssignmentOrder,
    Note,
    NoteAssignment,
    Project,
    ProjectMembership,
    ReviewStatus,
)
from annotations.permissions import ARCHIVED_MESSAGE, ROLE_CAPABILITIES, Capability, project_role

MAX_ANNOTATORS_PER_NOTE = 10
MAX_TIMEOUT_HOURS = 24 * 365
MAX_NOTES_PER_ASSIGN = 500

# --- the order of the hand-out ---------------------------------------------------------------------------

NoteOrder = Callable[[QuerySet[Note]], QuerySet[Note]]
_ORDERS: dict[str, NoteOrder] = {}


def assignment_order_register(order: str, function: NoteOrder) -> None:
    """Let another app order the hand-out for projects whose `assignment_order` is `order`: `function`
    orders a queryset of notes (the learning app registers the annotation queue's active-learning order;
    annotations knows nothing of models). Without one, notes go by id."""
    _ORDERS[order] = function


def _ordered(project: Project, notes: QuerySet[Note]) -> QuerySet[Note]:
    if project.assignment_order == AssignmentOrder.RANDOM:
        return notes.order_by("?")
    order = _ORDERS.get(project.assignment_order)
    return order(notes) if order is not None else notes.order_by("pk")


# --- helpers ---------------------------------------------------------------------------------------------


def _audit(by, project: Project, note, change: str, **details) -> None:
    audit_record(action=AuditAction.ASSIGNMENT_CHANGE, actor=by if getattr(by, "pk", None) else None,
                 project=project, note=note, object_type="note",
                 object_id=getattr(note, "pk", note) or "", details={"change": change, **details})


def _check_role(by, project: Project, capability: Capability) -> str:
    role = project_role(user=by, project=project)
    if role is None:
        raise ApplicationError("not_found", "No such project.", status=404)
    if capability not in ROLE_CAPABILITIES[role]:
        if capability == Capability.MANAGE:
            raise ApplicationError("forbidden", "Only the project's admins assign notes by hand.", status=403)
        raise ApplicationError("forbidden", "Your role may not annotate here.", status=403)
    if project.archived_at is not None:
        raise ApplicationError("archived", ARCHIVED_MESSAGE, status=403)
    return role


def _check_assignee(project: Project, user) -> None:
    """A person a note can be given to: an active member whose role may annotate."""
    role = ProjectMembership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    if role is None or not user.is_active:
        raise ApplicationError("not_member", f"{user.get_username()} is not an active member of this project.",
                               status=400)
    if Capability.ANNOTATE not in ROLE_CAPABILITIES[role]:  # pragma: no cover - every role annotates today
        raise ApplicationError("cannot_annotate", f"{user.get_username()}'s role may not annotate.")


def _without_gold(notes: QuerySet[Note]) -> QuerySet[Note]:
    """The notes that still need annotation: not signed off, no gold set (imported, signed off, curated).
    Two conditions, not an OR: the database then anti-joins the gold sets instead of probing them per note."""
    gold = AnnotationSet.objects.filter(note=OuterRef("pk"), status=AnnotationSetStatus.GOLD).exclude(
        source_kind=AnnotationSetSource.MODEL)
    return notes.exclude(review_status=ReviewStatus.SIGNED_OFF).exclude(Exists(gold))


def _others_on(user_id: int | None):
    """An expression: how many people other than `user_id` are on a note (its assignees, open or done, and
    people who have a set of their own on it without an assignment: work from before the assignment)."""
    assigned = NoteAssignment.objects.filter(note=OuterRef("pk")).exclude(user_id=user_id)
    unassigned_sets = (
        AnnotationSet.objects.filter(note=OuterRef("pk"), source_kind=AnnotationSetSource.USER)
        .exclude(user_id=user_id)
        .exclude(Exists(NoteAssignment.objects.filter(note_id=OuterRef("note_id"), user_id=OuterRef("user_id"))))
    )

    def count(queryset):
        return Coalesce(Subquery(queryset.order_by().values("note").annotate(n=Count("pk")).values("n")[:1]),
                        Value(0))

    return count(assigned) + count(unassigned_sets)


def _open_to(project: Project, user) -> QuerySet[Note]:
    """Notes of the project `user` could be handed, but for the number of people on them: no gold, not
    signed off, not assigned to them yet (open or done), not submitted by them. Without text."""
    submitted = AnnotationSet.objects.filter(
        note=OuterRef("pk"), source_kind=AnnotationSetSource.USER, user=user,
        status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD],
    )
    return (
        _without_gold(Note.objects.filter(project=project))
        .exclude(Exists(NoteAssignment.objects.filter(note=OuterRef("pk"), user=user)))
        .exclude(Exists(submitted))
        .defer("text", "metadata", "text_hash")
    )


def notes_needing_annotation(*, project: Project, user) -> QuerySet[Note]:
    """Notes of the project that `user` could be handed: no gold, not signed off, not assigned to them yet
    (open or done), not submitted by them, and held by fewer than k other people. Annotated with `others`
    (people other than `user` on the note). Counted note by note: for one note or a few (the hand-out
    itself reads whole projects with `_started_not_full` and `_untouched`)."""
    return _open_to(project, user).annotate(others=_others_on(user.pk)).filter(
        others__lt=project.annotators_per_note)


def _started_not_full(project: Project, user) -> RawSQL:
    """A subquery of the ids of the notes that 1 to k-1 people other than `user` are on (assignees, and people
    with a set of their own), counted in one pass over the project's assignments and people's sets rather
    than note by note (a project has many more notes than started ones)."""
    assignments = NoteAssignment._meta.db_table
    sets = AnnotationSet._meta.db_table
    notes = Note._meta.db_table
    sql = f"""
        SELECT p.note_id FROM (
            SELECT a.note_id, a.user_id FROM {assignments} a JOIN {notes} n ON n.id = a.note_id
            WHERE n.project_id = %s
            UNION
            SELECT s.note_id, s.user_id FROM {sets} s JOIN {notes} n ON n.id = s.note_id
            WHERE n.project_id = %s AND s.source_kind = %s
        ) p
        GROUP BY p.note_id
        HAVING COUNT(*) - SUM(CASE WHEN p.user_id = %s THEN 1 ELSE 0 END) BETWEEN 1 AND %s
    """
    return RawSQL(sql, [project.pk, project.pk, AnnotationSetSource.USER, user.pk, project.annotators_per_note - 1])


def _untouched(project: Project, user) -> QuerySet[Note]:
    """Notes nobody other than `user` is on yet (no assignment, no set of anyone else's)."""
    return (
        _open_to(project, user)
        .exclude(Exists(NoteAssignment.objects.filter(note=OuterRef("pk"))))
        .exclude(Exists(AnnotationSet.objects.filter(note=OuterRef("pk"), source_kind=AnnotationSetSource.USER)
                        .exclude(user=user)))
    )


def assignment_open_for(*, project: Project, user) -> NoteAssignment | None:
    """The user's oldest open assignment in the project on a note that still needs annotation."""
    return (
        NoteAssignment.objects.filter(note__project=project, user=user, completed_at__isnull=True)
        .exclude(note__review_status=ReviewStatus.SIGNED_OFF)
        .select_related("note")
        .order_by("assigned_at", "pk")
        .first()
    )


def _create(*, note: Note, user, by, now: datetime) -> NoteAssignment:
    return NoteAssignment.objects.create(note=note, user=user, assigned_by=by, touched_at=now)


# --- settings --------------------------------------------------------------------------------------------


def assignment_settings_update(
    *, by, project: Project, annotators_per_note: int | None = None, blind_annotation: bool | None = None,
    blind_prelabels: bool | None = None, assignment_order: str | None = None,
    assignment_timeout_hours: int | None = None,
) -> Project:
    """Change the project's assignment settings (admins; None: unchanged), audited as a project change with
    the old and new values. Lowering k keeps the assignments already made (nobody loses a note mid-work)."""
    _check_role(by, project, Capability.MANAGE)
    values: dict = {}
    if annotators_per_note is not None:
        if not isinstance(annotators_per_note, int) or not 1 <= annotators_per_note <= MAX_ANNOTATORS_PER_NOTE:
            raise ApplicationError("bad_annotators_per_note",
                                   f"Annotators per note must be a whole number from 1 to {MAX_ANNOTATORS_PER_NOTE}.")
        values["annotators_per_note"] = annotators_per_note
    if blind_annotation is not None:
        values["blind_annotation"] = bool(blind_annotation)
    if blind_prelabels is not None:
        values["blind_prelabels"] = bool(blind_prelabels)
    if assignment_order is not None:
        if assignment_order not in AssignmentOrder.values:
            raise ApplicationError("bad_assignment_order",
                                   f"The order is one of: {', '.join(AssignmentOrder.values)}.")
        values["assignment_order"] = assignment_order
    if assignment_timeout_hours is not None:
        if not isinstance(assignment_timeout_hours, int) or not 0 <= assignment_timeout_hours <= MAX_TIMEOUT_HOURS:
            raise ApplicationError("bad_assignment_timeout",
                                   f"The timeout is a whole number of hours from 0 (kept) to {MAX_TIMEOUT_HOURS}.")
        values["assignment_timeout_hours"] = assignment_timeout_hours
    changes: dict[str, list] = {}
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        for field, value in values.items():
            if getattr(locked, field) != value:
                changes[field] = [getattr(locked, field), value]
                setattr(locked, field, value)
        if changes:
            locked.save(update_fields=list(changes))
            audit_record(action=AuditAction.PROJECT_CHANGE, actor=by, project=locked, object_type="project",
                         object_id=locked.pk, details={"change": "assignment_settings", "fields": changes})
    for field in values:
        setattr(project, field, getattr(locked, field))
    return locked


# --- the hand-out ----------------------------------------------------------------------------------------

HAND_OUT_TRIES = 5


def note_assign_next(*, by, project: Project) -> NoteAssignment | None:
    """The note `by` should annotate now: their open assignment if they hold one, else a new assignment of
    the first note that needs them (see the module's rules), else None (nothing left, or the project
    assigns by hand). Releases the project's stale assignments first."""
    _check_role(by, project, Capability.ANNOTATE)
    assignments_release_stale(project=project)
    for _ in range(HAND_OUT_TRIES):
        with transaction.atomic():
            # One hand-out at a time per person (two tabs clicking at once get the same note, not two).
            ProjectMembership.objects.select_for_update().filter(project=project, user=by).first()
            held = assignment_open_for(project=project, user=by)
            if held is not None:
                return held
            if project.assignment_order == AssignmentOrder.MANUAL:
                return None
            # Notes others are on that still need people first, then notes nobody is on, each in the order.
            note = None
            if project.annotators_per_note > 1:
                started = _open_to(project, by).filter(pk__in=_started_not_full(project, by))
                note = _ordered(project, started).first()
            note = note or _ordered(project, _untouched(project, by)).first()
            if note is None:
                return None
            # Lock the note and count again: two people taking the last place at once get one place each.
            Note.objects.select_for_update().filter(pk=note.pk).values_list("pk").first()
            if not notes_needing_annotation(project=project, user=by).filter(pk=note.pk).exists():
                continue
            now = timezone.now()
            try:
                with transaction.atomic():
                    assignment = _create(note=note, user=by, by=None, now=now)
            except IntegrityError:  # pragma: no cover - the row lock above makes this a race of one person
                continue
            _audit(by, project, note, "handed_out", user=by.get_username(), order=project.assignment_order)
            assignment.note = note
            return assignment
    return None


# --- by hand (admins) ------------------------------------------------------------------------------------


def notes_assign(*, by, project: Project, notes: Iterable[Note], user) -> list[NoteAssignment]:
    """Give each of `notes` to `user` (admins). Refused whole, with the notes named, when a note is not the
    project's, is assigned to them already, was submitted by them, or already has k people; audited per note."""
    _check_role(by, project, Capability.MANAGE)
    _check_assignee(project, user)
    notes = list(notes)
    if not notes:
        raise ApplicationError("no_notes", "Choose at least one note.")
    if len(notes) > MAX_NOTES_PER_ASSIGN:
        raise ApplicationError("too_many_notes", f"At most {MAX_NOTES_PER_ASSIGN} notes at a time.")
    if any(n.project_id != project.pk for n in notes):
        raise ApplicationError("not_found", "No such note in this project.", status=404)
    now = timezone.now()
    with transaction.atomic():
        ids = sorted({n.pk for n in notes})
        list(Note.objects.select_for_update().filter(pk__in=ids).values_list("pk"))  # in id order: no deadlock
        rows = {
            r["pk"]: r for r in Note.objects.filter(pk__in=ids).annotate(
                others=_others_on(user.pk),
                mine=Exists(NoteAssignment.objects.filter(note=OuterRef("pk"), user=user)),
                submitted=Exists(AnnotationSet.objects.filter(
                    note=OuterRef("pk"), source_kind=AnnotationSetSource.USER, user=user,
                    status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD])),
            ).values("pk", "external_id", "others", "mine", "submitted")
        }
        problems = []
        for pk in ids:
            r = rows[pk]
            if r["mine"]:
                problems.append(f"{r['external_id']} is assigned to {user.get_username()} already")
            elif r["submitted"]:
                problems.append(f"{r['external_id']} was submitted by {user.get_username()} already")
            elif r["others"] >= project.annotators_per_note:
                problems.append(f"{r['external_id']} has {r['others']} annotator(s) already "
                                f"(the project's limit is {project.annotators_per_note})")
        if problems:
            raise ApplicationError("cannot_assign", "Nothing was assigned: " + "; ".join(problems[:10])
                                   + (f" and {len(problems) - 10} more" if len(problems) > 10 else "") + ".",
                                   details=problems, status=409)
        created = NoteAssignment.objects.bulk_create(
            [NoteAssignment(note_id=pk, user=user, assigned_by=by, touched_at=now) for pk in ids]
        )
        for pk in ids:
            _audit(by, project, pk, "assigned", user=user.get_username())
    return created


def _assignment_locked(assignment: NoteAssignment, project: Project) -> NoteAssignment:
    locked = (NoteAssignment.objects.select_for_update(of=("self",)).select_related("user", "note")
              .filter(pk=assignment.pk, note__project=project).first())
    if locked is None:
        raise ApplicationError("not_found", "No such assignment (released or removed meanwhile).", status=404)
    return locked


def assignment_unassign(*, by, project: Project, assignment: NoteAssignment) -> None:
    """Take an open assignment back (admins): the note returns to the pool, the person's annotations stay.
    A completed one stays: it records who annotated the note."""
    _check_role(by, project, Capability.MANAGE)
    with transaction.atomic():
        locked = _assignment_locked(assignment, project)
        if locked.completed_at is not None:
            raise ApplicationError("completed", f"{locked.user.get_username()} has submitted this note: a "
                                   "completed assignment stays.", status=409)
        locked.delete()
        _audit(by, project, locked.note_id, "unassigned", user=locked.user.get_username())


def assignment_reassign(*, by, project: Project, assignment: NoteAssignment, user) -> NoteAssignment:
    """Move an open assignment to another person (admins), in one step: the note keeps its place among the
    k; the first person's annotations stay theirs."""
    _check_role(by, project, Capability.MANAGE)
    _check_assignee(project, user)
    with transaction.atomic():
        locked = _assignment_locked(assignment, project)
        if locked.completed_at is not None:
            raise ApplicationError("completed", f"{locked.user.get_username()} has submitted this note: a "
                                   "completed assignment stays.", status=409)
        if locked.user_id == user.pk:
            return locked
        note = locked.note
        if NoteAssignment.objects.filter(note=note, user=user).exists():
            raise ApplicationError("already_assigned", f"{note.external_id} is assigned to {user.get_username()} "
                                   "already.", status=409)
        if AnnotationSet.objects.filter(note=note, source_kind=AnnotationSetSource.USER, user=user,
                                        status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD]).exists():
            raise ApplicationError("already_submitted", f"{user.get_username()} has submitted {note.external_id} "
                                   "already.", status=409)
        previous = locked.user.get_username()
        locked.delete()
        created = _create(note=note, user=user, by=by, now=timezone.now())
        _audit(by, project, note, "reassigned", user=user.get_username(), previous=previous)
    created.note = note
    return created


# --- the timeout -----------------------------------------------------------------------------------------


def assignments_stale(*, project: Project, now: datetime | None = None) -> QuerySet[NoteAssignment]:
    """The project's open assignments not touched within its timeout (none when the timeout is 0)."""
    if not project.assignment_timeout_hours:
        return NoteAssignment.objects.none()
    cutoff = (now or timezone.now()) - timedelta(hours=project.assignment_timeout_hours)
    return NoteAssignment.objects.filter(note__project=project, completed_at__isnull=True, touched_at__lt=cutoff)


def assignments_release_stale(*, project: Project | None = None, by=None, now: datetime | None = None) -> int:
    """Give the notes of open assignments nobody touched within their project's timeout back to the pool
    (`project`: that project's only; else every project's: the beat). The people's annotations stay.
    Audited per assignment; returns how many were released. By `by` (an admin's "Release now": checked) or
    by the system (None)."""
    if by is not None and project is not None:
        _check_role(by, project, Capability.MANAGE)
    if project is not None:
        projects = [project]
    else:
        open_assignments = NoteAssignment.objects.filter(note__project=OuterRef("pk"), completed_at__isnull=True)
        projects = list(Project.objects.filter(assignment_timeout_hours__gt=0).filter(Exists(open_assignments)))
    released = 0
    for p in projects:
        with transaction.atomic():
            rows = list(assignments_stale(project=p, now=now).select_for_update(of=("self",))
                        .values_list("pk", "note_id", "user__username", "touched_at"))
            if not rows:
                continue
            NoteAssignment.objects.filter(pk__in=[r[0] for r in rows]).delete()
            for _pk, note_id, username, touched_at in rows:
                _audit(by, p, note_id, "released", user=username, touched_at=touched_at.isoformat(),
                       timeout_hours=p.assignment_timeout_hours)
            released += len(rows)
    return released


# --- the assignee's edits --------------------------------------------------------------------------------


def assignment_touch(*, annotation_set: AnnotationSet, now: datetime, completed: bool | None = None) -> None:
    """The assignee changed their set (`completed` None), submitted it (True) or reopened it (False): one
    UPDATE of their assignment on the note, and none at all when they hold none (the set's lock query says so:
    `AnnotationSet.assigned`, annotations.services.annotation_sets.annotation_set_lock). Called inside the
    edit's transaction."""
    if annotation_set.source_kind != AnnotationSetSource.USER or not getattr(annotation_set, "assigned", True):
        return
    updates: dict = {"touched_at": now}
    rows = NoteAssignment.objects.filter(note_id=annotation_set.note_id, user_id=annotation_set.user_id)
    if completed is True:
        updates["completed_at"] = now
        rows = rows.filter(completed_at__isnull=True)
    elif completed is False:
        updates["completed_at"] = None
    else:
        rows = rows.filter(completed_at__isnull=True)
    rows.update(**updates)


def assigned_exists() -> Exists:
    """For a queryset of AnnotationSet: whether the set's person holds an assignment of its note."""
    return Exists(NoteAssignment.objects.filter(note_id=OuterRef("note_id"), user_id=OuterRef("user_id")))

