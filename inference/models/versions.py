"""Model versions: what a project can run, with their lineage, metrics and the gate's decision."""

from __future__ import annotations

from django.db import models


class GateOutcome(models.TextChoices):
    PROMOTED = "promoted", "Promoted"
    REFUSED = "refused", "Refused by the gate"


class ModelVersion(models.Model):
    """A model a project can run. Versions made by a retrain keep their lineage (parent), the notes they
    were trained and evaluated on, their held-out metrics and the gate's decision; versions registered
    by hand (`register_model`) have none of that."""

    project = models.ForeignKey(
        "annotations.Project", on_delete=models.CASCADE, related_name="model_versions"
    )
    name = models.CharField(max_length=100)
    path = models.CharField(max_length=500, help_text="Model artifact directory.")
    encoder = models.CharField(max_length=500, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="Held-out metrics (retrained versions).")
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children",
        help_text="The version this one was compared against (and fine-tuned from, unless trained from the base).",
    )
    training_job = models.ForeignKey(
        "Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    gate_outcome = models.CharField(max_length=10, choices=GateOutcome.choices, blank=True)
    gate = models.JSONField(
        default=dict, blank=True,
        help_text="metric, candidate, incumbent (scored on the same held-out notes), reason.",
    )
    train_config = models.JSONField(default=dict, blank=True)
    training_notes = models.ManyToManyField("annotations.Note", blank=True, related_name="+")
    heldout_notes = models.ManyToManyField("annotations.Note", blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="model_version_unique_name"),
            models.UniqueConstraint(
                fields=["project"], condition=models.Q(is_active=True), name="model_version_one_active"
            ),
        ]

    def __str__(self) -> str:
        return self.name
