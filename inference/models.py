"""Model versions and the jobs that run them."""

from __future__ import annotations

from django.db import models


class ModelVersion(models.Model):
    project = models.ForeignKey("annotations.Project", on_delete=models.CASCADE, related_name="model_versions")
    name = models.CharField(max_length=100)
    path = models.CharField(max_length=500, help_text="Model artifact directory.")
    encoder = models.CharField(max_length=500, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="model_version_unique_name"),
            models.UniqueConstraint(
                fields=["project"], condition=models.Q(is_active=True), name="model_version_one_active"
            ),
        ]

    def __str__(self) -> str:
        return self.name
