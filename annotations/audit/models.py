"""The audit trail's table: append-only records of who read or changed what, from where.

Rows are only ever inserted. The model and its querysets refuse update and delete, and database triggers
(migrations `audit_trail`, `audit_append_only`) refuse UPDATE, DELETE and TRUNCATE from any client, raw SQL
included. Records carry ids, types and offsets, never clinical text. Imported by `annotations/models.py` so
that Django registers the model; written only through `annotations.audit.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    NOTE_VIEW = "note_view", "Note viewed"
    ANNOTATION_CHANGE = "annotation_change", "Annotations changed"
    SIGN_OFF = "sign_off", "Signed off"
    JOB_START = "job_start", "Job started"
    JOB_CANCEL = "job_cancel", "Job cancelled"
    EXPORT = "export", "Export"
    DOWNLOAD = "download", "Download"
    LOGIN_SUCCESS = "login_success", "Login"
    LOGIN_FAILURE = "login_failure", "Failed login"
    NOTE_CREATE = "note_create", "Note created"
    MODEL_CHANGE = "model_change", "Retrain policy or active model changed"
    ACCESS_DENIED = "access_denied", "Access denied"
    COMMAND = "command", "Management command"
    PROJECT_CHANGE = "project_change", "Project created, changed, archived or deleted"
    MEMBER_CHANGE = "member_change", "Project member added, changed or removed"
    SCHEMA_CHANGE = "schema_change", "Annotation schema changed"
    USER_CHANGE = "user_change", "User created, changed or deactivated"
    TOKEN_CHANGE = "token_change", "API token created or revoked"
    ASSIGNMENT_CHANGE = "assignment_change", "Note assigned, unassigned, reassigned or released"
    TERMINOLOGY_LOAD = "terminology_load", "Terminology loaded (MedDRA, ATC, SNOMED CT)"
    CASE_CHANGE = "case_change", "Case opened, changed, assessed or reported"


class AppendOnlyError(RuntimeError):
    """Raised on any attempt to change or delete an audit record."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The audit trail is append-only: records cannot be updated.")

    def delete(self):
        raise AppendOnlyError("The audit trail is append-only: records cannot be deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("The audit trail is append-only: records cannot be updated.")

    def _raw_delete(self, using):  # what cascades and fast deletes use
        raise AppendOnlyError("The audit trail is append-only: records cannot be deleted.")


class AuditEvent(models.Model):
    """One audited action. Foreign keys carry no database constraint and no cascade, so deleting a user,
    project or note never touches (or is blocked by) the trail; `actor_username` keeps the name."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=30, choices=AuditAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    project = models.ForeignKey(
        "annotations.Project", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    note = models.ForeignKey(
        "annotations.Note", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="audit_project_time_idx"),
            models.Index(fields=["note", "-created_at"], name="audit_note_time_idx"),
            models.Index(fields=["action", "-created_at"], name="audit_action_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.actor_username}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("The audit trail is append-only: records cannot be updated.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The audit trail is append-only: records cannot be deleted.")
