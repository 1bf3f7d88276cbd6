"""HTML views: whole pages, or for HTMX requests the named fragment that changed."""

from .editor import (
    note_correct,
    note_detail,
    note_edit,
    note_entity,
    note_event,
    note_relation,
    note_relation_form,
    note_sign_off,
)
from .projects import note_new, patient_detail, project_dashboard, project_list, queue

__all__ = [
    "note_correct",
    "note_detail",
    "note_edit",
    "note_entity",
    "note_event",
    "note_relation",
    "note_relation_form",
    "note_new",
    "note_sign_off",
    "patient_detail",
    "project_dashboard",
    "project_list",
    "queue",
]
