"""Notes and brat-style annotations.

A Note's text never changes after import; annotations point into it by code-point
offsets. Every annotation belongs to an AnnotationSet: one per (note, source),
where the source is a user, a model version or an import. Rule checks that the
database cannot express (offsets inside the text, schema types) live in
`annotations.services.annotation_sets`, which every writer calls.
"""

from annotations.audit.models import AuditEvent  # registered with this app's models
from annotations.models.annotation_sets import (
    AnnotationEdit,
    AnnotationSet,
    AnnotationSetSource,
    AnnotationSetStatus,
    AnnotatorNote,
    Attribute,
    Decision,
    Entity,
    Equivalence,
    EquivalenceMember,
    Event,
    EventArgument,
    Normalization,
    NoteLabel,
    NoteLabelValue,
    Origin,
    Relation,
    TargetedAnnotation,
)
from annotations.models.assignment import NoteAssignment
from annotations.models.curation import CurationChoice, CurationDecision
from annotations.models.notes import Note, Patient, ReviewStatus
from annotations.models.projects import (
    AnnotationSchema,
    AssignmentOrder,
    Project,
    ProjectMembership,
    ProjectRole,
)
from annotations.models.review import SignOff, SignOffDecision, SignOffOutcome

__all__ = [
    "AnnotationEdit",
    "AnnotationSchema",
    "AnnotationSet",
    "AnnotationSetSource",
    "AnnotationSetStatus",
    "AnnotatorNote",
    "AssignmentOrder",
    "Attribute",
    "AuditEvent",
    "CurationChoice",
    "CurationDecision",
    "Decision",
    "Entity",
    "Equivalence",
    "EquivalenceMember",
    "Event",
    "EventArgument",
    "Normalization",
    "Note",
    "NoteAssignment",
    "NoteLabel",
    "NoteLabelValue",
    "Origin",
    "Patient",
    "Project",
    "ProjectMembership",
    "ProjectRole",
    "Relation",
    "ReviewStatus",
    "SignOff",
    "SignOffDecision",
    "SignOffOutcome",
    "TargetedAnnotation",
]
