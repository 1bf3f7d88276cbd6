"""Notes and brat-style annotations.

A Note's text never changes after import; annotations point into it by code-point
offsets. Every annotation belongs to an AnnotationSet: one per (note, source),
where the source is a user, a model version or an import. Rule checks that the
database cannot express (offsets inside the text, schema types) live in
`annotations.services.annotation_sets`, which every writer calls.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce


class ProjectRole(models.TextChoices):
    ADMIN = "admin", "Admin"
    REVIEWER = "reviewer", "Reviewer"
    ANNOTATOR = "annotator", "Annotator"


class Project(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    ade_threshold = models.FloatField(default=0.5, help_text="Notes at or above this ADE probability are flagged.")
    encoder_path = models.CharField(
        max_length=500, blank=True, help_text="Local Hugging Face encoder directory; empty = shipped MiniLM-L6."
    )
    created_at = models.DateTimeField(auto_now_add=True)

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


class AnnotationSetSource(models.TextChoices):
    USER = "user", "User"
    MODEL = "model", "Model"
    IMPORT = "import", "Import"


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
                | Q(source_kind="import"),
                name="annotation_set_source_has_owner",
            ),
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
from annotations.audit.models import AuditEvent  # noqa: E402,F401


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
