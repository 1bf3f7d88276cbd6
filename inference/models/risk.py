"""Longitudinal ADR risk (TD(lambda) over nursing notes, as in the Korean nursing-notes study): deployed risk models and each patient's risk series."""

from __future__ import annotations

from django.db import models


class RiskModel(models.Model):
    """A trained phrase-state classifier + TD(lambda) state values + LR, stored as a directory."""

    project = models.ForeignKey("annotations.Project", on_delete=models.CASCADE, related_name="risk_models")
    name = models.CharField(max_length=100)
    path = models.CharField(max_length=500)
    state_names = models.JSONField(default=list)
    state_values = models.JSONField(default=list)
    metrics = models.JSONField(default=dict, blank=True)
    synthetic = models.BooleanField(default=False, help_text="Trained on synthetic data.")
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="risk_model_unique_name"),
            models.UniqueConstraint(fields=["project"], condition=models.Q(is_active=True), name="risk_model_one_active"),
        ]


class PatientRisk(models.Model):
    """The running state of a patient's monitor: constant work per new phrase."""

    patient = models.OneToOneField("annotations.Patient", on_delete=models.CASCADE, related_name="risk")
    risk_model = models.ForeignKey(RiskModel, on_delete=models.CASCADE, related_name="+")
    value_total = models.FloatField(default=0.0)
    phrase_count = models.PositiveIntegerField(default=0)
    risk = models.FloatField(default=0.0, help_text="P(ADR) after the latest phrase")
    last_time = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["-risk"], name="patient_risk_idx")]


class RiskPoint(models.Model):
    """The risk after one phrase of a note (the phrase itself is note.text[start:end])."""

    patient = models.ForeignKey("annotations.Patient", on_delete=models.CASCADE, related_name="risk_points")
    note = models.ForeignKey("annotations.Note", on_delete=models.CASCADE, related_name="risk_points")
    risk_model = models.ForeignKey(RiskModel, on_delete=models.CASCADE, related_name="+")
    sequence = models.PositiveIntegerField(help_text="position in the patient's series")
    phrase_index = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    time = models.DateTimeField(null=True, blank=True)
    state = models.PositiveSmallIntegerField()
    value = models.FloatField()
    risk = models.FloatField()

    class Meta:
        ordering = ["sequence"]
        constraints = [
            models.UniqueConstraint(fields=["risk_model", "patient", "sequence"], name="risk_point_unique_sequence"),
            models.UniqueConstraint(
                fields=["risk_model", "note", "phrase_index"], name="risk_point_unique_phrase"
            ),
        ]
