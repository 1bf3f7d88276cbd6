"""Sign-offs: a reviewer's decision on a note, bound to the set and version it approves."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from annotations.models.annotation_sets import AnnotationSet
from annotations.models.notes import Note


class SignOffDecision(models.TextChoices):
    CONFIRM = "confirm", "Confirm the model's flag"
    OVERTURN = "overturn", "Overturn the model's flag"


class SignOffOutcome(models.TextChoices):
    GOLD = "gold", "The set became the note's gold"
    RETURNED = "returned", "Returned to the annotator"


class SignOff(models.Model):
    """A reviewer's sign-off of a note: confirms or overturns the model flag; the note becomes read-only."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="sign_offs")
    annotation_set = models.ForeignKey(
        AnnotationSet, null=True, blank=True, on_delete=models.SET_NULL, related_name="sign_offs"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=SignOffDecision.choices)
    comment = models.TextField(blank=True)
    # What the reviewer saw and decided: the set's version (a sign-off of a changed set is refused), the
    # note's final verdict, and whether the set became gold or went back to its annotator.
    annotation_set_version = models.PositiveIntegerField(null=True, blank=True)
    final_verdict = models.CharField(max_length=20, blank=True, default="")
    outcome = models.CharField(max_length=10, choices=SignOffOutcome.choices, default=SignOffOutcome.GOLD)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["note", "-created_at"], name="sign_off_note_idx")]
