"""Reads. Selectors own visibility: nobody sees a project they are not a member of."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import connection
from django.db.models import Count, Exists, F, FloatField, Func, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from annotations.formats.evidence import Evidence

from .models import AnnotationSet, Decision, Entity, Note, Patient, Project, Relation, ReviewStatus, SignOff


def _count_of(queryset) -> Subquery:
    """A correlated COUNT(*) subquery: one scan per row shown, instead of joining every note of every project."""
    return Coalesce(Subquery(queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")[:1]), 0)


def project_list_for_user(*, user, archived: bool = False) -> QuerySet[Project]:
    """Projects the user is a member of (the archived ones when `archived`), with their role and note and
    flagged counts. Counted per project by subquery, so a page of the list costs one query however many
    notes the projects hold."""
    notes = Note.objects.filter(project=OuterRef("pk"))
    return (
        Project.objects.filter(memberships__user=user, archived_at__isnull=not archived)
        .annotate(
            role=F("memberships__role"),
            note_count=_count_of(notes),
            flagged_count=_count_of(notes.filter(flagged=True)),
        )
        .order_by("name", "pk")
    )


@dataclass(frozen=True)
class MemberRow:
    user_id: int
    username: str
    full_name: str
    email: str
    is_active: bool
    role: str
    last_activity: object  # datetime | None
    annotated: int
    submitted: int
    signed_off: int


def project_members(
    *, project: Project, offset: int = 0, limit: int = 50, user_ids: list[int] | None = None
) -> tuple[list[MemberRow], int]:
    """A page of the project's members with each one's last activity (newest edit of their own annotation
    sets, sign-off, or login) and counts: notes annotated (their own sets in the project), submitted, and
    signed off by them. Three queries whatever the project's size: the page, its counts, the total."""
    from django.db.models import Max, Min

    from .models import ProjectMembership

    memberships = ProjectMembership.objects.filter(project=project)
    if user_ids is not None:
        memberships = memberships.filter(user_id__in=user_ids)
    total = memberships.count()
    rows = list(
        memberships
        .select_related("user")
        .order_by("user__username", "pk")[offset:offset + limit]
    )
    ids = [m.user_id for m in rows]
    sets = {
        r["user_id"]: r
        for r in AnnotationSet.objects.filter(note__project=project, source_kind="user", user_id__in=ids)
        .values("user_id")
        .annotate(annotated=Count("note_id", distinct=True),
                  submitted=Count("note_id", filter=Q(submitted_at__isnull=False), distinct=True),
                  last=Max("updated_at"))
        .order_by()
    }
    signed = {
        r["user_id"]: r
        for r in SignOff.objects.filter(note__project=project, user_id__in=ids)
        .values("user_id").annotate(n=Count("note_id", distinct=True), last=Max("created_at"), first=Min("created_at"))
        .order_by()
    }
    out = []
    for m in rows:
        u, a, so = m.user, sets.get(m.user_id, {}), signed.get(m.user_id, {})
        last = max(filter(None, [a.get("last"), so.get("last"), u.last_login]), default=None)
        out.append(MemberRow(
            user_id=u.pk, username=u.username, full_name=u.get_full_name(), email=u.email, is_active=u.is_active,
            role=m.role, last_activity=last, annotated=a.get("annotated", 0), submitted=a.get("submitted", 0),
            signed_off=so.get("n", 0),
        ))
    return out, total


def user_find(*, username: str = "", user_id: int | None = None):
    """The account with this id (when given) or username, or None: how the member page and API name a person."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    return users.filter(pk=user_id).first() if user_id is not None else users.filter(username=username).first()


def users_not_in_project(*, project: Project, q: str = "", limit: int = 20):
    """Active users who could be added to the project, by username, name or email (the member picker)."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True).exclude(memberships__project=project)
    q = q.strip()[:150]
    if q:
        users = users.filter(Q(username__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q)
                             | Q(email__icontains=q))
    return list(users.order_by("username")[:limit])


# --- dashboard, queue, notes, patients -----------------------------------------------------------------

QUEUE_PAGE = 50


def _gold_exists():
    """A note whose gold exists already (an imported gold corpus, a signed-off set): not a model's set."""
    return Exists(AnnotationSet.objects.filter(note=OuterRef("pk"), status="gold").exclude(source_kind="model"))


def notes_flagged_open(notes: QuerySet[Note]) -> QuerySet[Note]:
    """The flagged notes that still need a decision: the review queue proper (decided notes, with a
    reviewer's final verdict, and notes whose gold exists already leave it)."""
    return notes.filter(flagged=True, final_verdict="").exclude(_gold_exists())


@dataclass(frozen=True)
class NoteStatusCounts:
    """How many of a project's notes are where: what the dashboard and the model page both show.

    `statuses`: (value, label, count) per review status; `flagged`: the flagged queue's length; `gold`:
    notes with a gold version by the one gold rule (`annotations.gold`: what training and the held-out
    scores use, the model page's training + held-out); `awaiting_adjudication`: two or more submissions and
    no sign-off."""

    statuses: list[tuple[str, str, int]]
    total: int
    flagged: int
    gold: int
    awaiting_adjudication: int


def note_status_counts(*, project: Project) -> NoteStatusCounts:
    """The project's note counts (three queries whatever the number of notes)."""
    from .gold import gold_sets

    rows = Note.objects.filter(project=project).values("review_status").annotate(n=Count("id")).order_by()
    by_status = {row["review_status"]: row["n"] for row in rows}
    # A query of its own: the gold test then runs only on the (few) flagged notes, not on every note.
    flagged = notes_flagged_open(Note.objects.filter(project=project)).count()
    selection = gold_sets(project=project)
    return NoteStatusCounts(
        statuses=[(value, label, by_status.get(value, 0)) for value, label in ReviewStatus.choices],
        total=sum(by_status.values()),
        flagged=flagged,
        gold=len(selection.gold),
        awaiting_adjudication=len(selection.awaiting_adjudication),
    )


def project_dashboard(*, project: Project) -> dict:
    """The dashboard's note counts (`note_status_counts`); the model and jobs panel is inference's
    (`{% dashboard_model_panel %}`, inference/templatetags/inference_panels.py)."""
    return {"counts": note_status_counts(project=project)}


@dataclass(frozen=True)
class QueueFilters:
    """What the review queue shows; every field optional. `flagged_only` is the queue proper."""

    flagged_only: bool = True
    status: str = ""
    entity_type: str = ""
    relation_type: str = ""
    annotator: str = ""
    patient: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""


@dataclass(frozen=True)
class QueuePage:
    notes: list
    next_cursor: str | None
    filters: QueueFilters = field(default_factory=QueueFilters)


class _Row(Func):
    """(a, b, c): a row value, compared element by element (PostgreSQL and SQLite)."""

    template = "(%(expressions)s)"
    output_field = FloatField()


def _cursor_parse(cursor: str) -> tuple[float, float, int] | None:
    try:
        p, u, i = cursor.split("_")
        return float(p), float(u), int(i)
    except ValueError:
        return None


def note_queue_queryset(
    *, project: Project, filters: QueueFilters, cursor: str = "", visible: Q | None = None
) -> QuerySet[Note]:
    """The review queue's notes after `cursor`, in queue order (probability, uncertainty, id; descending).

    Text search uses PostgreSQL full-text search (english, GIN-indexed) and icontains elsewhere. The filters on
    annotations (entity and relation types, annotator) look only at the sets the viewer may see (`visible`:
    annotations.permissions.annotation_set_visibility): under blind annotation they reveal nobody else's work.
    """
    sets = AnnotationSet.objects.all() if visible is None else AnnotationSet.objects.filter(visible)
    qs = Note.objects.filter(project=project).alias(
        pc=Coalesce("ade_probability", Value(-1.0)), uc=Coalesce("ade_uncertainty", Value(-1.0))
    )
    if filters.flagged_only:
        # The queue proper: what still needs a decision. Decided notes (a reviewer's final verdict) and
        # notes whose gold exists already (an imported gold corpus, a signed-off set) leave it.
        qs = notes_flagged_open(qs)
    if filters.status:
        qs = qs.filter(review_status=filters.status)
    if filters.entity_type:
        entities = Entity.objects.filter(annotation_set__note=OuterRef("pk"), type=filters.entity_type)
        if visible is not None:
            entities = entities.filter(annotation_set__in=sets)
        qs = qs.filter(Exists(entities.exclude(decision=Decision.REJECTED)))
    if filters.relation_type:
        relations = Relation.objects.filter(annotation_set__note=OuterRef("pk"), type=filters.relation_type)
        if visible is not None:
            relations = relations.filter(annotation_set__in=sets)
        qs = qs.filter(Exists(relations.exclude(decision=Decision.REJECTED)))
    if filters.annotator:
        qs = qs.filter(
            Exists(sets.filter(note=OuterRef("pk"), source_kind="user", user__username=filters.annotator))
        )
    if filters.patient:
        qs = qs.filter(patient__external_id=filters.patient)
    if filters.date_from:
        qs = qs.filter(timestamp__date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(timestamp__date__lte=filters.date_to)
    if filters.q:
        if connection.vendor == "postgresql":
            from django.contrib.postgres.search import SearchQuery, SearchVector

            qs = qs.alias(search=SearchVector("text", config="english")).filter(
                search=SearchQuery(filters.q, config="english", search_type="websearch")
            )
        else:
            qs = qs.filter(text__icontains=filters.q)
    after = _cursor_parse(cursor) if cursor else None
    if after:
        p, u, i = after
        # A row comparison, not an OR of cases: the database seeks into note_queue_keyset_idx at the
        # cursor instead of scanning and filtering every row before it.
        qs = qs.alias(key=_Row(F("pc"), F("uc"), F("id"))).filter(key__lt=_Row(Value(p), Value(u), Value(i)))
    return (
        qs.select_related("patient")
        .defer("text", "metadata", "text_hash")
        .order_by(F("pc").desc(), F("uc").desc(), F("id").desc())
    )


def note_queue(
    *, project: Project, filters: QueueFilters, cursor: str = "", limit: int | None = None, visible: Q | None = None
) -> QueuePage:
    """One page of the review queue: notes ranked by ADE probability, then uncertainty, then id (newest
    first), keyset-paginated on that order (fast at any depth: no OFFSET, no COUNT over the table)."""
    limit = limit or QUEUE_PAGE
    rows = list(note_queue_queryset(project=project, filters=filters, cursor=cursor, visible=visible)[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        p = -1.0 if last.ade_probability is None else last.ade_probability
        u = -1.0 if last.ade_uncertainty is None else last.ade_uncertainty
        next_cursor = f"{p!r}_{u!r}_{last.pk}"
    return QueuePage(notes=rows, next_cursor=next_cursor, filters=filters)


def note_queue_next(*, project: Project, exclude_note_id: int | None = None) -> Note | None:
    """The first note of the flagged queue (what a reviewer opens next), other than `exclude_note_id`."""
    qs = note_queue_queryset(project=project, filters=QueueFilters())
    if exclude_note_id is not None:
        qs = qs.exclude(pk=exclude_note_id)
    return qs.first()


def queue_filter_choices(*, project: Project, schema=None) -> dict:
    """The values the queue's filter menus offer (from the schema, not from scanning annotations)."""
    from .services.schemas import project_schema_get

    schema = schema if schema is not None else project_schema_get(project=project)
    return {
        "statuses": ReviewStatus.choices,
        "entity_types": [t.name for t in schema.entity_types if t.annotatable] if schema else [],
        "relation_types": sorted({r.name for r in schema.relation_types if not r.name.startswith("<")}) if schema else [],
    }


def note_get(*, project: Project, note_id: int) -> Note:
    """A note of the project (404 otherwise), with its patient."""
    return get_object_or_404(Note.objects.select_related("patient", "project"), project=project, pk=note_id)


def patient_get(*, project: Project, patient_id: int) -> Patient:
    return get_object_or_404(Patient, project=project, pk=patient_id)


def patient_notes(*, patient: Patient) -> QuerySet[Note]:
    """A patient's notes in time order (undated last), without their texts."""
    return (
        Note.objects.filter(patient=patient)
        .defer("text", "metadata", "text_hash")
        .order_by(F("timestamp").asc(nulls_last=True), "pk")
    )


def note_sign_offs(*, note: Note) -> QuerySet[SignOff]:
    return SignOff.objects.filter(note=note).select_related("user").order_by("-created_at")


def note_annotation_sets(*, note: Note, visible: Q | None = None) -> QuerySet[AnnotationSet]:
    """The annotation sets of a note that the viewer may see (`visible`: the one rule,
    annotations.permissions.annotation_set_visibility; None: all), for the view of who said what."""
    sets = AnnotationSet.objects.filter(note=note)
    if visible is not None:
        sets = sets.filter(visible)
    return (
        sets
        .select_related("user", "model_version", "copied_from")
        .order_by("source_kind", "pk")
    )


def annotation_set_own(*, note: Note, user) -> AnnotationSet | None:
    """The user's own annotation set on the note, or None before their first edit of it."""
    return AnnotationSet.objects.filter(note=note, source_kind="user", user=user).first()


def annotation_set_correctable_newest(*, note: Note, visible: Q | None = None) -> AnnotationSet | None:
    """The note's newest gold set, else its newest imported one, that holds annotations and that the viewer
    may see (`visible`, as in `note_annotation_sets`): what "Correct these" copies into a person's own set
    (editing.annotation_set_copy_for_correction); None when it has neither (a note imported as bare text
    opens on the person's own empty set, ready to annotate)."""
    newest = ("-created_at", "-pk")
    annotated = AnnotationSet.objects.filter(note=note).filter(
        Exists(Entity.objects.filter(annotation_set=OuterRef("pk")))
    )
    if visible is not None:
        annotated = annotated.filter(visible)
    gold = annotated.filter(status="gold").order_by(*newest).first()
    return gold or annotated.filter(source_kind="import").order_by(*newest).first()


def annotation_set_model_newest(*, note: Note) -> AnnotationSet | None:
    """The newest model set of the note: what a user's own set starts from (as pending pre-labels)."""
    return AnnotationSet.objects.filter(note=note, source_kind="model").order_by("-created_at", "-pk").first()


@dataclass(frozen=True)
class FlagReason:
    """Why the model flagged a note: its strongest predicted ADE relation (drug -> reaction) with the
    relation's confidence and the sentence around it; or, flagged by the note classifier alone, the
    sentence with the highest ADE score (`sentence_score`) stored when classification ran."""

    drug: str = ""
    reaction: str = ""
    confidence: float | None = None
    sentence: str = ""
    by_classifier_only: bool = False
    sentence_score: float | None = None


SENTENCE_CAP = 300


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence (or line) holding text[start:end], at most SENTENCE_CAP characters around it."""
    left = max((text.rfind(c, 0, start) for c in ".!?\n"), default=-1) + 1
    rights = [i for i in (text.find(c, end) for c in ".!?\n") if i >= 0]
    right = min(rights) + 1 if rights else len(text)
    left, right = max(left, start - SENTENCE_CAP // 2), min(right, end + SENTENCE_CAP // 2)
    return ("…" if left > 0 and text[left - 1] not in ".!?\n" else "") + text[left:right].strip() + (
        "…" if right < len(text) and text[right - 1] not in ".!?\n" else "")


def note_evidence_of(note: Note, text: str | None = None):
    """The stored evidence of a flagged note (`Note.ade_evidence`) as an `Evidence`, or None; checked
    against the text's length when given."""
    found = Evidence.from_dict(note.ade_evidence) if note.ade_evidence else None
    if found is None or not 0 <= found.start < found.end or (text is not None and found.end > len(text)):
        return None
    return found


def _stored_reason(evidence, text: str) -> FlagReason:
    if evidence.source == "relation" and evidence.arg1 and evidence.arg2:
        (s1, e1), (s2, e2) = evidence.arg1, evidence.arg2
        return FlagReason(drug=text[s1:e1], reaction=text[s2:e2], confidence=evidence.score,
                          sentence=_sentence_around(text, evidence.start, evidence.end))
    sentence = text[evidence.start : evidence.end]
    if len(sentence) > SENTENCE_CAP:
        sentence = sentence[:SENTENCE_CAP].rstrip() + "…"
    return FlagReason(sentence=sentence, by_classifier_only=True, sentence_score=evidence.score)


def note_flag_reasons(*, project: Project, notes: list[Note], schema=None) -> dict[int, FlagReason]:
    """For each flagged note of a queue page, why it is flagged: the strongest ADE relation of its newest
    model set, by the schema's ADE evidence types (the one rule of `editing.evidence_relation_types`); else
    the evidence stored when classification ran (`Note.ade_evidence`: a predicted relation, or the
    sentence with the highest ADE score). At most four queries per page whatever its length (one more
    without `schema`); carries clinical text (callers audit the read)."""
    from .services.editing import evidence_relation_types
    from .services.schemas import project_schema_get

    flagged = [n.pk for n in notes if n.flagged]
    if not flagged:
        return {}
    types = evidence_relation_types(schema if schema is not None else project_schema_get(project=project), project)
    # The newest model set of each note (a note has few), then that set's relations: two plain queries
    # rather than a correlated subquery per relation row, and none when no model has pre-annotated them.
    newest: dict[int, tuple] = {}
    for pk, note_id, created_at in AnnotationSet.objects.filter(
        note_id__in=flagged, source_kind="model"
    ).values_list("pk", "note_id", "created_at"):
        if note_id not in newest or (created_at, pk) > newest[note_id]:
            newest[note_id] = (created_at, pk)
    relations = Relation.objects.filter(
        annotation_set_id__in=[pk for _, pk in newest.values()], arg1_entity__isnull=False, arg2_entity__isnull=False,
    ).exclude(decision=Decision.REJECTED)
    if types is not None:
        relations = relations.filter(type__in=types)
    best: dict[int, tuple] = {}
    for row in () if not newest else relations.annotate(note_id=F("annotation_set__note_id")).values_list(
        "note_id", "confidence", "arg1_entity__text", "arg2_entity__text", "arg1_entity__start", "arg1_entity__end",
        "arg2_entity__start", "arg2_entity__end",
    ).order_by("note_id", F("confidence").desc(nulls_last=True), "pk"):
        best.setdefault(row[0], row)
    stored = {n.pk: e for n in notes if n.flagged and n.pk not in best and (e := note_evidence_of(n)) is not None}
    wanted = list(best) + list(stored)
    texts = dict(Note.objects.filter(pk__in=wanted).values_list("pk", "text")) if wanted else {}
    reasons = {}
    for note_id in flagged:
        row = best.get(note_id)
        if row is not None:
            _, confidence, drug, reaction, s1, e1, s2, e2 = row
            reasons[note_id] = FlagReason(drug=drug, reaction=reaction, confidence=confidence,
                                          sentence=_sentence_around(texts[note_id], min(s1, s2), max(e1, e2)))
        elif note_id in stored and stored[note_id].end <= len(texts.get(note_id, "")):
            reasons[note_id] = _stored_reason(stored[note_id], texts[note_id])
        else:
            reasons[note_id] = FlagReason(by_classifier_only=True)
    return reasons


# --- note assignments (issue 17; the writes: annotations.services.assignment) ------------------------------


def assignment_cutoff(*, project: Project):
    """Open assignments touched before this moment are stale (None: the project keeps them)."""
    from datetime import timedelta

    from django.utils import timezone

    hours = project.assignment_timeout_hours
    return timezone.now() - timedelta(hours=hours) if hours else None


def assignments_with_sets(assignments):
    """Assignments with their note (no text), their person, who assigned them, and the person's own set on
    the note (`set_status`, `set_id`; None before their first edit)."""
    own = AnnotationSet.objects.filter(note_id=OuterRef("note_id"), source_kind="user", user_id=OuterRef("user_id"))
    return (
        assignments.select_related("note", "user", "assigned_by")
        .defer("note__text", "note__metadata", "note__text_hash")
        .annotate(set_status=Subquery(own.values("status")[:1]), set_id=Subquery(own.values("pk")[:1]))
    )


def assignment_states(rows, *, project: Project) -> list:
    """Set each assignment's `state`: open, stale (open, untouched past the project's timeout: it goes back
    to the pool at the next hand-out or beat) or completed (its person submitted)."""
    from .models import AnnotationSetStatus

    cutoff = assignment_cutoff(project=project)
    labels = dict(AnnotationSetStatus.choices)
    rows = list(rows)
    for a in rows:
        a.set_status_label = labels.get(getattr(a, "set_status", None) or "", "")
        if a.completed_at is not None:
            a.state = "completed"
        elif cutoff is not None and a.touched_at < cutoff:
            a.state = "stale"
        else:
            a.state = "open"
    return rows


def _assignment_rows(assignments, *, project: Project) -> list:
    return assignment_states(assignments_with_sets(assignments), project=project)


ASSIGNMENT_STATES = ("open", "stale", "completed")


def assignment_list(*, project: Project, user_id: int | None = None, note_id: int | None = None,
                    state: str = ""):
    """The project's assignments (of one person, one note, in one state), open ones first, oldest first
    (the order "Get next note" gives them back), then completed ones, newest first; see
    `assignments_with_sets` and `assignment_states` for what each carries."""
    from .models import NoteAssignment

    rows = NoteAssignment.objects.filter(note__project=project)
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    if note_id is not None:
        rows = rows.filter(note_id=note_id)
    cutoff = assignment_cutoff(project=project)
    if state == "completed":
        rows = rows.filter(completed_at__isnull=False)
    elif state == "open":
        rows = rows.filter(completed_at__isnull=True)
        if cutoff is not None:
            rows = rows.filter(touched_at__gte=cutoff)
    elif state == "stale":
        rows = rows.filter(completed_at__isnull=True, touched_at__lt=cutoff) if cutoff is not None else rows.none()
    return assignments_with_sets(rows).order_by(F("completed_at").desc(nulls_first=True), "assigned_at", "pk")


MY_NOTES_PAGE = 50


def my_assignments(*, project: Project, user, offset: int = 0, limit: int = MY_NOTES_PAGE) -> tuple[list, int]:
    """A page of the user's assignments in the project, open ones first (oldest first: the order "Get next
    note" gives them back), then completed ones (newest first), and how many there are. Three queries."""
    from .models import NoteAssignment

    total = NoteAssignment.objects.filter(note__project=project, user=user).count()
    rows = assignment_list(project=project, user_id=user.pk)[offset:offset + limit]
    return assignment_states(rows, project=project), total


@dataclass(frozen=True)
class WorkloadRow:
    user_id: int
    username: str
    is_active: bool
    role: str
    open: int
    stale: int
    completed: int


def assignment_workload(*, project: Project) -> list[WorkloadRow]:
    """Who has what: every member who may annotate, with their open, stale and completed assignments in the
    project (one query whatever the numbers)."""
    from .models import NoteAssignment, ProjectMembership

    cutoff = assignment_cutoff(project=project)
    mine = NoteAssignment.objects.filter(note__project=project, user_id=OuterRef("user_id"))
    stale = mine.filter(completed_at__isnull=True, touched_at__lt=cutoff)
    rows = (
        ProjectMembership.objects.filter(project=project)
        .annotate(
            n_open=_count_of(mine.filter(completed_at__isnull=True)),
            n_stale=_count_of(stale) if cutoff else Value(0),
            n_completed=_count_of(mine.filter(completed_at__isnull=False)),
        )
        .order_by("user__username")
        .values_list("user_id", "user__username", "user__is_active", "role", "n_open", "n_stale", "n_completed")
    )
    return [WorkloadRow(*row) for row in rows]


ASSIGNMENT_NOTES_PAGE = 50
ASSIGNMENT_NOTE_FILTERS = {
    "all": "All notes",
    "assigned": "Assigned to someone",
    "open": "With an open assignment",
    "unassigned": "Assigned to nobody",
}


def assignment_notes(
    *, project: Project, which: str = "all", after: int = 0, limit: int = ASSIGNMENT_NOTES_PAGE
) -> tuple[list[Note], int | None]:
    """A page of the project's notes (by id, after note id `after`) for the assignments page, each with
    `assignees` (its assignments, in `_assignment_rows`' shape) and `people` (how many it has); the next
    page's `after` or None. Three queries whatever the page holds."""
    from .models import NoteAssignment

    notes = Note.objects.filter(project=project, pk__gt=after)
    assignments = NoteAssignment.objects.filter(note=OuterRef("pk"))
    if which == "assigned":
        notes = notes.filter(Exists(assignments))
    elif which == "open":
        notes = notes.filter(Exists(assignments.filter(completed_at__isnull=True)))
    elif which == "unassigned":
        notes = notes.exclude(Exists(assignments))
    page = list(notes.defer("text", "metadata", "text_hash").order_by("pk")[: limit + 1])
    following = page[limit - 1].pk if len(page) > limit else None
    page = page[:limit]
    by_note: dict[int, list] = {n.pk: [] for n in page}
    for a in _assignment_rows(NoteAssignment.objects.filter(note_id__in=list(by_note)).order_by("assigned_at", "pk"),
                              project=project):
        by_note[a.note_id].append(a)
    for n in page:
        n.assignees = by_note[n.pk]
    return page, following
