"""`{% flag_evidence note as ev %}`: why the model flagged the note, from what classification stored
(`Note.ade_evidence`), for the note page; no model runs and no query (the page already holds the text)."""

from __future__ import annotations

from django import template

from annotations.selectors import note_evidence_of

register = template.Library()


@register.simple_tag
def flag_evidence(note) -> dict | None:
    """{source, start, end, score, text} of a flagged note's stored evidence, or None."""
    if not getattr(note, "flagged", False):
        return None
    evidence = note_evidence_of(note, note.text)
    if evidence is None:
        return None
    return {"source": evidence.source, "start": evidence.start, "end": evidence.end, "score": evidence.score,
            "text": note.text[evidence.start : evidence.end]}
