from django.urls import path

from inference.adaptation import views as adaptation_views
from inference.agreement import views as agreement_views
from inference.jobs import views
from inference.learning import views as learning_views

app_name = "inference"

urlpatterns = [
    path("projects/<slug:slug>/jobs/", views.job_list, name="job-list"),
    path("projects/<slug:slug>/jobs/<int:job_id>/", views.job_detail, name="job-detail"),
    path("projects/<slug:slug>/jobs/<int:job_id>/cancel/", views.job_cancel_view, name="job-cancel"),
    path("projects/<slug:slug>/jobs/<int:job_id>/add-types/", views.job_import_add_types, name="job-add-types"),
    path("projects/<slug:slug>/jobs/<int:job_id>/download/", views.job_download, name="job-download"),
    path("projects/<slug:slug>/models/", learning_views.model_page, name="model-page"),
    path("projects/<slug:slug>/models/retrain/", learning_views.model_retrain, name="model-retrain"),
    path("projects/<slug:slug>/models/policy/", learning_views.model_policy, name="model-policy"),
    path("projects/<slug:slug>/models/encoder/adapt/", adaptation_views.encoder_adapt, name="encoder-adapt"),
    path("projects/<slug:slug>/models/encoder/adopt/<int:job_id>/", adaptation_views.encoder_adopt,
         name="encoder-adopt"),
    path("projects/<slug:slug>/models/encoder/rollback/", adaptation_views.encoder_rollback, name="encoder-rollback"),
    path("projects/<slug:slug>/models/<int:version_id>/", learning_views.model_version_detail, name="model-version"),
    path("projects/<slug:slug>/models/<int:version_id>/activate/", learning_views.model_version_activate_view,
         name="model-version-activate"),
    # The agreement page's job panel for large projects (the page itself: annotations.views.agreement).
    path("projects/<slug:slug>/agreement/job/", agreement_views.agreement_job_panel, name="agreement-job"),
    path("projects/<slug:slug>/agreement/job/start/", agreement_views.agreement_job_start, name="agreement-job-start"),
    path("projects/<slug:slug>/agreement/job/cancel/", agreement_views.agreement_job_cancel,
         name="agreement-job-cancel"),
    path("projects/<slug:slug>/agreement/job/agreement.csv", agreement_views.agreement_job_csv,
         name="agreement-job-csv"),
    path("projects/<slug:slug>/annotate/", learning_views.annotation_queue_page, name="annotation-queue"),
    path("projects/<slug:slug>/annotate/next/", learning_views.annotation_queue_next, name="annotation-next"),
]
