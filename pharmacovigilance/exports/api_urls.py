"""The case export's API route, included at /api/."""

from django.urls import path

from pharmacovigilance.exports import api

urlpatterns = [
    path("projects/<slug:slug>/cases/exports/", api.CaseExportCreateView.as_view(), name="api-case-export-create"),
]
