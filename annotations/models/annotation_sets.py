"""Annotation sets (one per note and source: a user, a model version or an import) and what they hold:
entities, events, relations, attributes, normalizations, notes, equivalences, the note label, and the
edit history that undo replays."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotations.models.notes import Note


class AnnotationSetSource(models.TextChoices):
    USER = "user", "User"
    MODEL = "model", "Model"
    IMPORT = "import", "Import"
    # A curator's merge of two or more submitted sets (annotations.services.curation): the note's gold once
    # finished. One per note; `user` is the curator.
    CURATION = "curation", "Curation"


class AnnotationSetStatus(models.TextChoices):
    PRE_ANNOTATED = "pre_annotated", "Pre-annotated"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    GOLD = "gold", "Gold"


class AnnotationSet(models.Model):
    """All annotations of one source on one note; `version` is bumped by every write (optimistic concurrency)."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="annotation_sets")
    source_kind = models.CharField(max_length=10, choices=AnnotationSetSource.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="annotation_sets"
    )
    model_version = models.ForeignKey(
        "inference.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="annotation_sets"
    )
    source_name = models.CharField(max_length=200, help_text="Import name, user name or model version name.")
    status = models.CharField(max_length=20, choices=AnnotationSetStatus.choices)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Provenance of a person's set: the model version whose pre-labels it started from, and the time the
    # person spent on it (editing time, idle gaps capped; see annotations.services.editing).
    prelabel_model_version = models.ForeignKey(
        "inference.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    seconds_spent = models.PositiveIntegerField(default=0)
    # "Correct these": the imported or gold set a person's set started as a copy of (editing.
    # annotation_set_copy_for_correction); its rows keep origin=import until the person changes them.
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A curation set: the submitted sets it merged, as [{"set": id, "version": n, "user": username}].
    curated_from = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["note", "user"], condition=Q(source_kind="user"), name="annotation_set_unique_user"
            ),
            models.UniqueConstraint(
                fields=["note", "model_version"], condition=Q(source_kind="model"), name="annotation_set_unique_model"
            ),
            models.UniqueConstraint(
                fields=["note", "source_name"], condition=Q(source_kind="import"), name="annotation_set_unique_import"
            ),
            models.CheckConstraint(
                condition=(Q(source_kind="user") & Q(user__isnull=False))
                | (Q(source_kind="model") & Q(model_version__isnull=False))
                | Q(source_kind="import")
                | (Q(source_kind="curation") & Q(user__isnull=False)),
                name="annotation_set_source_has_owner",
            ),
            models.UniqueConstraint(fields=["note"], condition=Q(source_kind="curation"),
                                    name="annotation_set_unique_curation"),
        ]
        indexes = [models.Index(fields=["note", "status"], name="annotation_set_status_idx")]


class Origin(models.TextChoices):
    HUMAN = "human", "Human"
    MODEL = "model", "Model"
    IMPORT = "import", "Import"


class Decision(models.TextChoices):
    """What a person did to an annotation (provenance); blank = nobody decided (imports, pending pre-labels).

    Rejected rows stay in the set for the record but are never exported or trained on."""

    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    MODIFIED = "modified", "Modified"
    ADDED = "added", "Added"


class Entity(models.Model):
    """A text-bound annotation; `fragments` is a list of [start, end] pairs (several = discontinuous)."""

    annotation_set = models.ForeignKey(AnnotationSet, on_delete=models.CASCADE, related_name="entities")
    local_id = models.CharField(max_length=32)
    type = models.CharField(max_length=100)
    fragments = models.JSONField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField()
    confidence = models.FloatField(null=True, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.HUMAN)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True, db_default="")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotation_set", "local_id"], name="entity_unique_local_id"),
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="entity_start_before_end"),
        ]
        indexes = [models.Index(fields=["annotation_set", "start"], name="entity_position_idx")]


class Event(models.Model):
    annotation_set = models.ForeignKey(AnnotationSet, on_delete=models.CASCADE, related_name="events")
    local_id = models.CharField(max_length=32)
    type = models.CharField(max_length=100)
    trigger = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="triggered_events")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["annotation_set", "local_id"], name="event_unique_local_id")]


def _exactly_one(*fields: str) -> Q:
    condition = Q()
    for chosen in fields:
        term = Q(**{f"{chosen}__isnull": False})
        for other in fields:
            if other != chosen:
                term &= Q(**{f"{other}__isnull": True})
        condition |= term
    return condition


class EventArgument(models.Model):
    """A role argument of an event: an entity or another event (brat allows events pointing at events)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="arguments")
    role = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField()
    entity = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    target_event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(condition=_exactly_one("entity", "target_event"), name="event_argument_one_target")
        ]


class Relation(models.Model):
    """A binary relation; each argument is an entity or an event."""

    annotation_set = models.ForeignKey(AnnotationSet, on_delete=models.CASCADE, related_name="relations")
    local_id = models.CharField(max_length=32)
    type = models.CharField(max_length=100)
    arg1_role = models.CharField(max_length=50, default="Arg1")
    arg2_role = models.CharField(max_length=50, default="Arg2")
    arg1_entity = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    arg1_event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    arg2_entity = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    arg2_event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    confidence = models.FloatField(null=True, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.HUMAN)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True, db_default="")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotation_set", "local_id"], name="relation_unique_local_id"),
            models.CheckConstraint(condition=_exactly_one("arg1_entity", "arg1_event"), name="relation_one_arg1"),
            models.CheckConstraint(condition=_exactly_one("arg2_entity", "arg2_event"), name="relation_one_arg2"),
        ]


class TargetedAnnotation(models.Model):
    """Base for annotations that point at one entity, relation or event."""

    annotation_set = models.ForeignKey(AnnotationSet, on_delete=models.CASCADE, related_name="%(class)ss")
    local_id = models.CharField(max_length=32)
    entity = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.CASCADE, related_name="%(class)ss")
    relation = models.ForeignKey(
        Relation, null=True, blank=True, on_delete=models.CASCADE, related_name="%(class)ss"
    )
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="%(class)ss")

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["annotation_set", "local_id"], name="%(class)s_unique_local_id"),
            models.CheckConstraint(condition=_exactly_one("entity", "relation", "event"), name="%(class)s_one_target"),
        ]


class Attribute(TargetedAnnotation):
    """A brat attribute; `value` is empty for binary attributes."""

    name = models.CharField(max_length=100)
    value = models.CharField(max_length=200, null=True, blank=True)

    class Meta(TargetedAnnotation.Meta):
        pass


class Normalization(TargetedAnnotation):
    """A link into a terminology (MedDRA, SNOMED CT, ATC, MeSH, ...)."""

    type = models.CharField(max_length=50, default="Reference")
    resource = models.CharField(max_length=100)
    resource_id = models.CharField(max_length=200)
    text = models.TextField(blank=True)

    class Meta(TargetedAnnotation.Meta):
        pass


class AnnotatorNote(TargetedAnnotation):
    type = models.CharField(max_length=50, default="AnnotatorNotes")
    text = models.TextField()

    class Meta(TargetedAnnotation.Meta):
        pass


class Equivalence(models.Model):
    annotation_set = models.ForeignKey(AnnotationSet, on_delete=models.CASCADE, related_name="equivalences")
    type = models.CharField(max_length=100, default="Equiv")
    position = models.PositiveIntegerField(default=0)


class EquivalenceMember(models.Model):
    """A member of an equivalence class: an entity or (MACCROBAT has these) an event."""

    equivalence = models.ForeignKey(Equivalence, on_delete=models.CASCADE, related_name="members")
    entity = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(condition=_exactly_one("entity", "event"), name="equivalence_member_one_target")
        ]


class NoteLabelValue(models.TextChoices):
    ADE = "ade", "ADE"
    NO_ADE = "no_ade", "No ADE"
    UNCERTAIN = "uncertain", "Uncertain"


class NoteLabel(models.Model):
    """A note-level ADE verdict of one annotation set (who said it lives on the set), with its evidence."""

    annotation_set = models.OneToOneField(AnnotationSet, on_delete=models.CASCADE, related_name="label")
    value = models.CharField(max_length=20, choices=NoteLabelValue.choices)
    evidence = models.ForeignKey(Relation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confidence = models.FloatField(null=True, blank=True)
    labelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    labelled_at = models.DateTimeField(auto_now=True)


class AnnotationEdit(models.Model):
    """One editor edit of an annotation set, with what undoing it needs (the rows it touched, as they were)."""

    annotation_set = models.ForeignKey(AnnotationSet, on_delete=models.CASCADE, related_name="edits")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=40)
    version_after = models.PositiveIntegerField()
    undo = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["annotation_set", "-id"], name="annotation_edit_latest_idx")]
