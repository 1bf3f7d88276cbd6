"""The inference app's API routes, included at /api/: jobs, the learning loop and the encoder."""

from django.urls import path

from annotations.api import base  # noqa: F401  (registers the id converters)
from inference.adaptation import api as adaptation_api
from inference.jobs import api as jobs_api
from inference.learning import api as learning_api

P = "projects/<slug:slug>/"

urlpatterns = [
    path(P + "model-versions/", learning_api.ModelVersionListView.as_view(), name="api-model-version-list"),
    path(P + "model-versions/<dbid:version_id>/activate/", learning_api.ModelVersionActivateView.as_view(),
         name="api-model-version-activate"),
    path(P + "retrain-policy/", learning_api.RetrainPolicyView.as_view(), name="api-retrain-policy"),
    path(P + "annotation-queue/", learning_api.AnnotationQueueView.as_view(), name="api-annotation-queue"),
    path(P + "encoder/", adaptation_api.EncoderView.as_view(), name="api-encoder"),
    path(P + "encoder/adopt/", adaptation_api.EncoderAdoptView.as_view(), name="api-encoder-adopt"),
    path(P + "encoder/rollback/", adaptation_api.EncoderRollbackView.as_view(), name="api-encoder-rollback"),
    path(P + "jobs/", jobs_api.JobListView.as_view(), name="api-job-list"),
    path(P + "imports/", jobs_api.ImportUploadView.as_view(), name="api-import-upload"),
    path(P + "jobs/<dbid:job_id>/", jobs_api.JobDetailView.as_view(), name="api-job-detail"),
    path(P + "jobs/<dbid:job_id>/errors/", jobs_api.JobErrorListView.as_view(), name="api-job-errors"),
    path(P + "jobs/<dbid:job_id>/cancel/", jobs_api.JobCancelView.as_view(), name="api-job-cancel"),
    path(P + "jobs/<dbid:job_id>/download/", jobs_api.JobDownloadView.as_view(), name="api-job-download"),
]
