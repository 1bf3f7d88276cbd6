"""Patients and their clinical notes (immutable text), with the model's flag and the final verdict."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from annotations.models.projects import Project


class Patient(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="patients")
    external_id = models.CharField(max_length=200)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "external_id"], name="patient_unique_external_id")]


class ReviewStatus(models.TextChoices):
    UNREVIEWED = "unreviewed", "Unreviewed"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    RETURNED = "returned", "Returned to annotator"  # a reviewer's verdict contradicted the submission
    SIGNED_OFF = "signed_off", "Signed off"


class Note(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="notes")
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name="notes")
    external_id = models.CharField(max_length=300)
    text = models.TextField()
    text_hash = models.CharField(max_length=64, help_text="sha256 of the UTF-8 text")
    timestamp = models.DateTimeField(null=True, blank=True)
    unit = models.CharField(max_length=100, blank=True)
    author_role = models.CharField(max_length=100, blank=True)
    note_type = models.CharField(max_length=100, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ade_probability = models.FloatField(null=True, blank=True)
    ade_uncertainty = models.FloatField(null=True, blank=True)
    flagged = models.BooleanField(default=False)
    review_status = models.CharField(max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.UNREVIEWED)
    # The reviewer's decision on the note (ade / no_ade), set by a sign-off: it stands even when the
    # submission contradicting it went back to its annotator, and a decided note is never flagged again.
    final_verdict = models.CharField(max_length=20, blank=True, default="")
    # Why the last model run flagged the note, as offsets into its text (annotations.formats.evidence.Evidence):
    # its strongest ADE relation, or the sentence with the highest ADE score; written when classification
    # runs so that the queue never runs the model. Empty when the note is not flagged.
    ade_evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="note_unique_external_id"),
            models.CheckConstraint(
                condition=Q(ade_probability__isnull=True) | Q(ade_probability__gte=0, ade_probability__lte=1),
                name="note_ade_probability_range",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "flagged", "-ade_probability"], name="note_queue_idx"),
            models.Index(fields=["project", "review_status"], name="note_status_idx"),
            models.Index(fields=["patient", "timestamp"], name="note_patient_time_idx"),
            # The review queue's order (probability, then uncertainty, then id) for keyset pages.
            models.Index(
                F("project"),
                F("flagged"),
                Coalesce("ade_probability", -1.0).desc(),
                Coalesce("ade_uncertainty", -1.0).desc(),
                F("id").desc(),
                name="note_queue_keyset_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.external_id}"
