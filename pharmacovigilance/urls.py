"""The case pages, included at /projects/<slug>/cases/ (pharmacovigilance.views)."""

from django.urls import path

from annotations.api import base  # noqa: F401  (registers `dbid`: bounded ids, no overflow in a lookup)
from pharmacovigilance import views

C = "<dbid:case_id>/"

urlpatterns = [
    path("", views.case_list, name="case-list"),
    path("listing.csv", views.case_list_csv, name="case-list-csv"),
    path("listing.xlsx", views.case_list_xlsx, name="case-list-xlsx"),
    path("open/<dbid:note_id>/", views.case_open, name="case-open"),
    path(C, views.case_detail, name="case-detail"),
    path(C + "edit/", views.case_edit, name="case-edit"),
    path(C + "notes/", views.case_note_add, name="case-note-add"),
    path(C + "drugs/", views.case_drug_add, name="case-drug-add"),
    path(C + "drugs/<dbid:drug_id>/", views.case_drug_update, name="case-drug-update"),
    path(C + "drugs/<dbid:drug_id>/remove/", views.case_drug_remove, name="case-drug-remove"),
    path(C + "reactions/", views.case_reaction_add, name="case-reaction-add"),
    path(C + "reactions/<dbid:reaction_id>/", views.case_reaction_update, name="case-reaction-update"),
    path(C + "reactions/<dbid:reaction_id>/remove/", views.case_reaction_remove, name="case-reaction-remove"),
    path(C + "causality/<dbid:drug_id>/<dbid:reaction_id>/", views.case_causality, name="case-causality"),
    path(C + "causality/<dbid:drug_id>/<dbid:reaction_id>/score/", views.case_causality_score,
         name="case-causality-score"),
    path(C + "transition/", views.case_transition, name="case-transition"),
]
