"""Projects, their members with a role, and their annotation schema."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ProjectRole(models.TextChoices):
    ADMIN = "admin", "Admin"
    REVIEWER = "reviewer", "Reviewer"
    ANNOTATOR = "annotator", "Annotator"


class AssignmentOrder(models.TextChoices):
    ACTIVE_LEARNING = "active_learning", "Active-learning order (most informative first)"
    RANDOM = "random", "Random"
    MANUAL = "manual", "By hand (admins assign named people)"


class Project(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    ade_threshold = models.FloatField(default=0.5, help_text="Notes at or above this ADE probability are flagged.")
    encoder_path = models.CharField(
        max_length=500, blank=True, help_text="Local Hugging Face encoder directory; empty = shipped MiniLM-L6."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Archived projects are read-only and left out of lists and queues (annotations.permissions decides).
    archived_at = models.DateTimeField(null=True, blank=True)
    # The notes' language (BCP 47, e.g. "en", "zh"): encoder adaptation reads it.
    language = models.CharField(max_length=35, default="en")
    # Relation types whose presence counts as ADE evidence; empty = the schema's rule
    # (annotations.services.editing.evidence_relation_types).
    ade_evidence_relation_types = models.JSONField(default=list, blank=True)
    # Assignment (issue 17; annotations.services.assignment): how many people annotate each note, whether
    # they see each other's sets (blind) and the model's pre-labels, how notes are handed out, and how long
    # an untouched assignment is kept before the note goes back to the pool (0 = kept).
    annotators_per_note = models.PositiveSmallIntegerField(default=1)
    blind_annotation = models.BooleanField(default=False)
    blind_prelabels = models.BooleanField(default=False)
    assignment_order = models.CharField(max_length=20, choices=AssignmentOrder.choices,
                                        default=AssignmentOrder.ACTIVE_LEARNING)
    assignment_timeout_hours = models.PositiveIntegerField(default=72)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.slug


class ProjectMembership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=ProjectRole.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user")]


class AnnotationSchema(models.Model):
    """The project's schema as brat annotation.conf / visual.conf semantics, stored as JSON."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="schema")
    definition = models.JSONField(default=dict)
    annotation_conf = models.TextField(blank=True)
    visual_conf = models.TextField(blank=True)
    inferred = models.BooleanField(default=False, help_text="Inferred from imported data rather than given.")
    updated_at = models.DateTimeField(auto_now=True)
