"""Django admin: site staff inspect the loaded terminology versions read-only (loads go through the upload job
or `manage.py load_terminology`, which check and audit them)."""

from __future__ import annotations

from django.contrib import admin

from annotations.admin import ReadOnlyInspectionAdmin
from pharmacovigilance.terminology.models import Terminology


@admin.register(Terminology)
class TerminologyAdmin(ReadOnlyInspectionAdmin):
    list_display = ("system", "version", "current", "loaded_at", "loaded_by", "replaced_at")
    list_filter = ("system", "current")
    list_select_related = ("loaded_by",)
    ordering = ("system", "-loaded_at", "-pk")
    fields = ("system", "version", "current", "loaded_at", "loaded_by", "loaded_from", "replaced_at", "counts")
