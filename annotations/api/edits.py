"""Helpers of the API's annotation-set endpoints. The writes themselves, with their access rule, version
check and audit record, are the editing services' (`annotations.services.editing`)."""

from __future__ import annotations

from annotations.errors import ApplicationError
from annotations.formats.document import Document, Entity, Span
from annotations.formats.text import span_text
from annotations.models import AnnotationSet
from annotations.services.document_store import annotation_sets_to_documents


def annotation_set_document(annotation_set: AnnotationSet) -> Document:
    """The set's annotations (with its note's text) as a Document."""
    return annotation_sets_to_documents([annotation_set])[annotation_set.pk]


def entity_record(document: Document, *, local_id: str, type: str, fragments, confidence=None) -> Entity:
    """An entity record on the document's text; its text is cut from the note, never taken from a client."""
    spans = tuple(Span(int(s), int(e)) for s, e in fragments)
    if any(s.start < 0 or s.end > len(document.text) or s.start >= s.end for s in spans):
        raise ApplicationError(
            "invalid_annotations", f"{local_id}: every fragment needs 0 <= start < end <= {len(document.text)}."
        )
    return Entity(local_id, type, spans, span_text(document.text, spans), confidence)
