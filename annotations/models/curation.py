"""A curator's decision on one disagreement of a note's annotators (annotations.services.curation): which
source the curation set took for it, all of them, none, or "edit" (the curator edits by hand). Part of the
curation set's state: the edit that records a decision records it for undo too, so undoing the edit undoes
the decision."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from annotations.models.annotation_sets import AnnotationSet


class CurationChoice(models.TextChoices):
    SOURCE = "source", "One annotator's"
    ALL = "all", "Every annotator's"
    NONE = "none", "None"
    EDIT = "edit", "Edited by hand"


class CurationDecision(models.Model):
    annotation_set = models.ForeignKey(AnnotationSet, on_delete=models.CASCADE, related_name="curation_decisions")
    # The disagreement's key (annotations.formats.curation: a hash of its content; no text of the note).
    unit = models.CharField(max_length=64)
    kind = models.CharField(max_length=20)
    choice = models.CharField(max_length=10, choices=CurationChoice.choices)
    # The source set taken (choice "source"); a plain id: the decision stays readable if that set goes.
    source_set_id = models.BigIntegerField(null=True, blank=True)
    # Local ids of the entities, relations and events the decision added to the curation set: a new decision
    # on the same disagreement takes them out again first.
    added = models.JSONField(default=list, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotation_set", "unit"], name="curation_decision_unique_unit"),
        ]
