"""Jobs: long operations over a project, split into chunks, with their errors."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from inference.jobs.registry import job_kind_choices


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    PARTIALLY_FAILED = "partially_failed", "Partially failed"


FINISHED_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.PARTIALLY_FAILED)


class Job(models.Model):
    """One long operation over a project (or, with no project, over the site). Only `inference.jobs.engine` changes `state` and the counts.

    `done` and `failed` count notes and are only ever incremented in the transaction that marks a chunk
    complete (under the job's row lock), so a redelivered chunk cannot count twice.
    """

    # None for a site-wide job (loading a terminology, pharmacovigilance.terminology): no project's job list
    # shows it; its kind's own page does.
    project = models.ForeignKey("annotations.Project", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="jobs")
    # The kinds are registered by the packages that own them (a callable: a new kind needs no migration).
    kind = models.CharField(max_length=20, choices=job_kind_choices)
    model_version = models.ForeignKey(
        "inference.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    parameters = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=20, choices=JobState.choices, default=JobState.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, help_text="What happened, for people (never clinical text).")
    result_path = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True,
        help_text="Last sign of life of the worker running it (a chunk, a batch, progress); the reaper fails "
        "running jobs whose heartbeat is older than ADE_REVIEW_JOB_LEASE_S.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["project", "-created_at"], name="job_project_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(done__lte=models.F("total")) | models.Q(total=0), name="job_done_le_total"
            ),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} {self.kind} {self.state}"

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def has_errors(self) -> bool:
        """Some notes failed, or the job itself did (its page and the API then show the errors)."""
        return bool(self.failed) or self.state == JobState.FAILED

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.is_finished else 0
        return min(100, round(100 * (self.done + self.failed) / self.total))


class JobChunk(models.Model):
    """A slice of a job's notes processed by one task; `completed_at` is set once, with the writes."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    note_ids = models.JSONField(default=list)
    attempts = models.PositiveIntegerField(default=0, help_text="Deliveries that started this chunk.")
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="job_chunk_unique_index")]


class JobError(models.Model):
    """Something that went wrong in a job, with the note it belongs to (messages never hold note text)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="errors")
    note = models.ForeignKey(
        "annotations.Note", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "note"], condition=models.Q(note__isnull=False), name="job_error_unique_note"
            )
        ]
