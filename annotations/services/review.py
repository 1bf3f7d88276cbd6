"""Reviewer sign-off: confirm or overturn the model's flag on a note, deciding on one submitted version.

The reviewer's decision is the note's final verdict (confirm: an ADE; overturn: no ADE). It is bound to
what the reviewer saw: the sign-off names the annotation set and the version read, and is refused (409)
when either changed. The set becomes the note's gold only when its own verdict agrees with the reviewer's;
a contradicting set is never made gold: it goes back to its annotator (in progress again) with the
reviewer's comment, the note shows "Returned to annotator", and the final verdict stands. Either way the
note leaves the flagged queue and is not flagged again. A reviewer never signs off their own annotations
(annotations.permissions). The service writes its audit record in its own transaction.
"""

from __future__ import annotations

import dataclasses

from django.db import transaction
from django.utils import timezone

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError, ConflictError
from annotations.models import (
    AnnotationSet,
    AnnotationSetStatus,
    Decision,
    Entity,
    Note,
    NoteLabel,
    NoteLabelValue,
    Relation,
    ReviewStatus,
    SignOff,
    SignOffDecision,
    SignOffOutcome,
)
from annotations.permissions import sign_off_refusal
from annotations.signals import gold_changed

from .assignment import assignment_touch
from .document_store import annotation_sets_to_documents, annotation_sets_write
from .editing import evidence_relation_types
from .schemas import project_schema_get

FINAL_VERDICT = {SignOffDecision.CONFIRM: NoteLabelValue.ADE, SignOffDecision.OVERTURN: NoteLabelValue.NO_ADE}


def note_sign_off_candidate(*, note: Note) -> AnnotationSet | None:
    """The submission a reviewer decides on: the newest submitted user set of the note (None if none)."""
    return (
        AnnotationSet.objects.filter(note=note, status=AnnotationSetStatus.SUBMITTED, source_kind="user")
        .select_related("user")
        .order_by("-submitted_at", "-pk")
        .first()
    )


def note_sign_off(
    *,
    note: Note,
    user,
    decision: str,
    comment: str = "",
    annotation_set_id: int | None,
    version: int | None,
) -> SignOff:
    """Sign `note` off with `decision` (confirm / overturn the model's flag) on submitted set
    `annotation_set_id` as read at `version`.

    Result: the SignOff; its `outcome` says whether the set became gold or was returned to its annotator.
    Errors (ApplicationError codes): bad_decision, comment_required (overturning, or returning a set,
    without saying why), missing_version, not_found, already_signed_off (409), conflict (409: the set
    changed since it was read), not_submitted (409), forbidden / own_submission (403).
    """
    if decision not in SignOffDecision.values:
        raise ApplicationError("bad_decision", "Choose to confirm or to overturn the model's flag.")
    comment = comment.strip()
    if decision == SignOffDecision.OVERTURN and not comment:
        raise ApplicationError("comment_required", "Say why you overturn the model's flag.")
    if annotation_set_id is None or version is None:
        raise ApplicationError(
            "missing_version", "Name the annotation set and the version you reviewed (annotation_set, version)."
        )
    final = FINAL_VERDICT[SignOffDecision(decision)]
    with transaction.atomic():
        locked = Note.objects.select_for_update(of=("self",)).select_related("project").get(pk=note.pk)
        if locked.review_status == ReviewStatus.SIGNED_OFF:
            raise ApplicationError("already_signed_off", "This note is already signed off.", status=409)
        aset = (
            AnnotationSet.objects.select_for_update()
            .filter(pk=annotation_set_id, note=locked, source_kind="user")
            .first()
        )
        if aset is None:
            raise ApplicationError("not_found", "No such submission of this note.", status=404)
        aset.note = locked
        refusal = sign_off_refusal(user=user, annotation_set=aset)
        if refusal is not None:
            raise refusal
        if aset.version != version:
            raise ConflictError(
                f"These annotations changed since you reviewed them (now version {aset.version}, you saw "
                f"{version}). Nothing was signed off: reload and review what is there now.",
                current_version=aset.version,
            )
        if aset.status != AnnotationSetStatus.SUBMITTED:
            raise ApplicationError(
                "not_submitted", "This version is not submitted for review (it was reopened or decided).", status=409
            )
        label = NoteLabel.objects.filter(annotation_set=aset).values_list("value", flat=True).first()
        agrees = label == final
        if not agrees and not comment:
            raise ApplicationError(
                "comment_required",
                "The annotator's verdict differs from yours: say why, so they can correct it.",
            )
        outcome = SignOffOutcome.GOLD if agrees else SignOffOutcome.RETURNED
        sign_off = SignOff.objects.create(
            note=locked, annotation_set=aset, user=user, decision=decision, comment=comment,
            annotation_set_version=version, final_verdict=final, outcome=outcome,
        )
        now = timezone.now()
        if agrees:
            AnnotationSet.objects.filter(pk=aset.pk).update(status=AnnotationSetStatus.GOLD, updated_at=now)
            review_status = ReviewStatus.SIGNED_OFF
        else:  # back to its annotator, editable again; never gold while it contradicts the reviewer
            AnnotationSet.objects.filter(pk=aset.pk).update(status=AnnotationSetStatus.IN_PROGRESS, updated_at=now)
            assignment_touch(annotation_set=aset, now=now, completed=False)  # their assignment is open again
            review_status = ReviewStatus.RETURNED
        Note.objects.filter(pk=locked.pk).update(review_status=review_status, final_verdict=final, flagged=False)
        audit_record(
            action=AuditAction.SIGN_OFF,
            actor=user,
            project=locked.project,
            note=locked,
            object_type="sign_off",
            object_id=sign_off.pk,
            details={
                "decision": decision,
                "final_verdict": final,
                "outcome": outcome,
                "annotation_set": aset.pk,
                "version": version,
                "set_verdict": label or None,
            },
        )
        if agrees:
            project_id, note_id = locked.project_id, locked.pk
            transaction.on_commit(lambda: gold_changed.send(sender=SignOff, project_id=project_id, note_ids=[note_id]))
    note.review_status, note.final_verdict, note.flagged = review_status, final, False
    return sign_off


def note_decide_from_model(
    *, note: Note, user, decision: str, comment: str = "", model_set_id: int | None, version: int | None
) -> SignOff:
    """Decide a flagged note directly from the model's pre-annotations, without an annotator's submission.

    The reviewer approves the model's set `model_set_id` as read at `version` (the model is its author, so
    the reviewer is not approving their own work). The note's final verdict is recorded, its flag cleared,
    and its gold becomes a copy of the model's annotations (provenance: the model version; every
    pre-label accepted) with the reviewer's verdict: on confirm the strongest ADE relation is the evidence;
    on overturn the model's ADE relations are left out (they are what the reviewer rejected). To correct
    spans first, a reviewer edits their own set and submits it, and another reviewer signs it off.

    Errors: as `note_sign_off`, and not_found when the set is not a model set of this note.
    """
    from annotations.formats.schema import ADE_RELATION_NAMES

    if decision not in SignOffDecision.values:
        raise ApplicationError("bad_decision", "Choose to confirm or to overturn the model's flag.")
    comment = comment.strip()
    if decision == SignOffDecision.OVERTURN and not comment:
        raise ApplicationError("comment_required", "Say why you overturn the model's flag.")
    if model_set_id is None or version is None:
        raise ApplicationError("missing_version", "Name the model's annotations and the version you reviewed.")
    final = FINAL_VERDICT[SignOffDecision(decision)]
    with transaction.atomic():
        locked = Note.objects.select_for_update(of=("self",)).select_related("project").get(pk=note.pk)
        if locked.review_status == ReviewStatus.SIGNED_OFF:
            raise ApplicationError("already_signed_off", "This note is already signed off.", status=409)
        model_set = (
            AnnotationSet.objects.filter(pk=model_set_id, note=locked, source_kind="model")
            .select_related("model_version").first()
        )
        if model_set is None:
            raise ApplicationError("not_found", "No such model pre-annotation of this note.", status=404)
        if model_set.version != version:
            raise ConflictError("The model's annotations changed since you read them; reload.",
                                current_version=model_set.version)
        model_set.note = locked
        refusal = sign_off_refusal(user=user, annotation_set=model_set)
        if refusal is not None:
            raise refusal
        document = annotation_sets_to_documents([model_set])[model_set.pk]
        types = evidence_relation_types(project_schema_get(project=locked.project), locked.project) or frozenset(ADE_RELATION_NAMES)
        ade = [r for r in document.relations if r.type in types]
        if decision == SignOffDecision.OVERTURN:
            dropped = {r.id for r in ade}
            document = _replace(document, relations=tuple(r for r in document.relations if r.id not in dropped),
                                label=final)
        else:
            document = _replace(document, label=final)
        now = timezone.now()
        gold = AnnotationSet.objects.create(
            note=locked, source_kind="user", user=user, status=AnnotationSetStatus.GOLD, submitted_at=now,
            source_name=f"{model_set.source_name} (decided by {user.get_username()})"[:200],
            prelabel_model_version_id=model_set.model_version_id,
        )
        annotation_sets_write([(gold, document)], origin="model")
        Entity.objects.filter(annotation_set=gold).update(decision=Decision.ACCEPTED, decided_at=now)
        Relation.objects.filter(annotation_set=gold).update(decision=Decision.ACCEPTED, decided_at=now)
        if decision == SignOffDecision.CONFIRM and ade:
            strongest = max(ade, key=lambda r: r.confidence if r.confidence is not None else -1.0)
            evidence = Relation.objects.filter(annotation_set=gold, local_id=strongest.id).first()
            NoteLabel.objects.filter(annotation_set=gold).update(evidence=evidence, labelled_by=user)
        else:
            NoteLabel.objects.filter(annotation_set=gold).update(labelled_by=user)
        sign_off = SignOff.objects.create(
            note=locked, annotation_set=gold, user=user, decision=decision, comment=comment,
            annotation_set_version=version, final_verdict=final, outcome=SignOffOutcome.GOLD,
        )
        Note.objects.filter(pk=locked.pk).update(
            review_status=ReviewStatus.SIGNED_OFF, final_verdict=final, flagged=False
        )
        audit_record(
            action=AuditAction.SIGN_OFF, actor=user, project=locked.project, note=locked, object_type="sign_off",
            object_id=sign_off.pk,
            details={"decision": decision, "final_verdict": final, "outcome": "gold", "from_model_set": model_set.pk,
                     "version": version, "annotation_set": gold.pk,
                     "relations_left_out": sorted(r.id for r in ade) if decision == SignOffDecision.OVERTURN else []},
        )
        project_id, note_id = locked.project_id, locked.pk
        transaction.on_commit(lambda: gold_changed.send(sender=SignOff, project_id=project_id, note_ids=[note_id]))
    note.review_status, note.final_verdict, note.flagged = ReviewStatus.SIGNED_OFF, final, False
    return sign_off


def note_decision_model_set(*, note: Note) -> AnnotationSet | None:
    """The model pre-annotation a reviewer may decide on directly: the note's newest model set."""
    return (
        AnnotationSet.objects.filter(note=note, source_kind="model")
        .select_related("model_version").order_by("-created_at", "-pk").first()
    )


def _replace(document, **changes):
    return dataclasses.replace(document, **changes)
