"""The terminology API's routes, included at /api/."""

from django.urls import path

from pharmacovigilance.terminology import api

urlpatterns = [
    path("terminology/", api.TerminologyListView.as_view(), name="api-terminology-list"),
    path("terminology/lookup/", api.TermLookupView.as_view(), name="api-terminology-lookup"),
]
