"""The case API's routes, included at /api/ (ids: the bounded converters of annotations.api.base)."""

from django.urls import path

from annotations.api import base  # noqa: F401  (registers the id converters)
from pharmacovigilance import api

P = "projects/<slug:slug>/cases/"
C = P + "<dbid:case_id>/"

urlpatterns = [
    path(P, api.CaseListView.as_view(), name="api-case-list"),
    path(P + "search/", api.CaseSearchView.as_view(), name="api-case-search"),
    path(C, api.CaseDetailView.as_view(), name="api-case-detail"),
    path(C + "notes/", api.CaseNoteAddView.as_view(), name="api-case-notes"),
    path(C + "drugs/", api.CaseDrugListView.as_view(), name="api-case-drugs"),
    path(C + "drugs/<dbid:drug_id>/", api.CaseDrugDetailView.as_view(), name="api-case-drug-detail"),
    path(C + "reactions/", api.CaseReactionListView.as_view(), name="api-case-reactions"),
    path(C + "reactions/<dbid:reaction_id>/", api.CaseReactionDetailView.as_view(), name="api-case-reaction-detail"),
    path(C + "causality/", api.CaseCausalityView.as_view(), name="api-case-causality"),
    path(C + "transition/", api.CaseTransitionView.as_view(), name="api-case-transition"),
]
