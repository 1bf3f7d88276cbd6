"""The terminology pages and the look-up fragment, included at /terminology/."""

from django.urls import path

from annotations.api import base  # noqa: F401  (registers `dbid`: bounded ids)
from pharmacovigilance.terminology import views

urlpatterns = [
    path("", views.terminology_list, name="terminology-list"),
    path("load/", views.terminology_upload, name="terminology-upload"),
    path("loads/<dbid:job_id>/", views.terminology_load_detail, name="terminology-load-detail"),
    path("loads/<dbid:job_id>/cancel/", views.terminology_load_cancel, name="terminology-load-cancel"),
    path("lookup/", views.terminology_lookup, name="terminology-lookup"),
]
