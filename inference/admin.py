"""Django admin: read-only inspection of jobs (started, cancelled and followed through the app)."""

from __future__ import annotations

from django.contrib import admin

from annotations.admin import ReadOnlyInspectionAdmin
from inference.models import Job


@admin.register(Job)
class JobAdmin(ReadOnlyInspectionAdmin):
    list_display = ("id", "project", "kind", "state", "done", "failed", "total", "created_by", "created_at",
                    "finished_at")
    list_filter = ("state", "kind", "created_at")
    list_select_related = ("project", "created_by")
    search_fields = ("project__slug", "project__name", "created_by__username")
    date_hierarchy = "created_at"
