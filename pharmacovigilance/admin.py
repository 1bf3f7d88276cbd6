"""Django admin: site staff inspect cases read-only, like projects and jobs.

A case's clinical content (patient identifier, age, sex, reporter, narrative, drugs and reactions) is left out
on purpose: those are PHI, read on the case page where every read is audited (`case_detail`), never here."""

from __future__ import annotations

from django.contrib import admin

from annotations.admin import ReadOnlyInspectionAdmin
from pharmacovigilance.models import Case

CASE_FIELDS = ("project", "reference", "state", "version", "serious_death", "serious_life_threatening",
               "serious_hospitalisation", "serious_disability", "serious_congenital_anomaly",
               "serious_other_medically_important", "created_by", "created_at", "updated_at", "assessed_by",
               "assessed_at", "reported_by", "reported_at")


@admin.register(Case)
class CaseAdmin(ReadOnlyInspectionAdmin):
    list_display = ("reference", "project", "state", "created_at", "assessed_at", "reported_at")
    list_filter = ("state", "project")
    list_select_related = ("project",)
    search_fields = ("reference", "project__slug")
    ordering = ("-created_at", "-pk")
    fields = CASE_FIELDS
