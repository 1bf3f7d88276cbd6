"""Who is asked to annotate which note (issue 17): a project hands each note to up to
`Project.annotators_per_note` people; an assignment not touched within the project's timeout goes back to
the pool (annotations.services.assignment). One row per (note, person) while the note is theirs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from annotations.models.notes import Note


class NoteAssignment(models.Model):
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="note_assignments")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )  # null: handed out by the pool
    assigned_at = models.DateTimeField(auto_now_add=True)
    # Last edit of the assignee's set on this note (or the hand-out): the timeout counts from here.
    touched_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)  # the assignee submitted their set

    class Meta:
        constraints = [models.UniqueConstraint(fields=["note", "user"], name="assignment_unique_user")]
        indexes = [
            models.Index(fields=["user", "completed_at"], name="assignment_user_open_idx"),
            models.Index(fields=["note", "completed_at"], name="assignment_note_idx"),
        ]
