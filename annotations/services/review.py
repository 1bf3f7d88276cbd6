"""Reviewer sign-off: confirm or overturn the model's flag on a note, after which the note is read-only
(except for project admins, see annotations.services.editing) and the signed-off set is its gold."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from annotations.errors import ApplicationError
from annotations.models import (
    AnnotationSet,
    AnnotationSetStatus,
    Note,
    ReviewStatus,
    SignOff,
    SignOffDecision,
)
from annotations.signals import gold_changed


def note_sign_off(*, note: Note, user, decision: str, comment: str = "") -> SignOff:
    """Sign a note off with `decision` (confirm / overturn the model flag) and a comment.

    The latest submitted (or gold) annotation set is the one signed off. Raises ApplicationError
    "not_submitted" when no annotation set of the note was submitted, "already_signed_off" when it is
    signed off already, "comment_required" when overturning without saying why.
    """
    if decision not in SignOffDecision.values:
        raise ApplicationError("bad_decision", "Choose to confirm or to overturn the model's flag.")
    if decision == SignOffDecision.OVERTURN and not comment.strip():
        raise ApplicationError("comment_required", "Say why you overturn the model's flag.")
    with transaction.atomic():
        locked = Note.objects.select_for_update().get(pk=note.pk)
        if locked.review_status == ReviewStatus.SIGNED_OFF:
            raise ApplicationError("already_signed_off", "This note is already signed off.", status=409)
        submitted = (
            AnnotationSet.objects.filter(
                note=locked, status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD], source_kind="user"
            )
            .order_by("-submitted_at", "-pk")
            .first()
        )
        if submitted is None:
            raise ApplicationError("not_submitted", "No annotator has submitted this note yet.")
        sign_off = SignOff.objects.create(
            note=locked, annotation_set=submitted, user=user, decision=decision, comment=comment.strip()
        )
        Note.objects.filter(pk=locked.pk).update(review_status=ReviewStatus.SIGNED_OFF)
        # The signed-off set is the note's gold: with several annotators it is the adjudicated version
        # that training may use (see inference.learning_selectors).
        AnnotationSet.objects.filter(pk=submitted.pk).update(status=AnnotationSetStatus.GOLD, updated_at=timezone.now())
        project_id, note_id = locked.project_id, locked.pk
        transaction.on_commit(
            lambda: gold_changed.send(sender=SignOff, project_id=project_id, note_ids=[note_id])
        )
    note.review_status = ReviewStatus.SIGNED_OFF
    return sign_off
