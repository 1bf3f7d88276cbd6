from django.urls import path

from . import views

app_name = "inference"

urlpatterns = [
    path("projects/<slug:slug>/jobs/", views.job_list, name="job-list"),
    path("projects/<slug:slug>/jobs/<int:job_id>/", views.job_detail, name="job-detail"),
    path("projects/<slug:slug>/jobs/<int:job_id>/cancel/", views.job_cancel_view, name="job-cancel"),
    path("projects/<slug:slug>/jobs/<int:job_id>/download/", views.job_download, name="job-download"),
]
