"""API routes, included at /api/. Ids are bounded digit strings so no lookup can overflow the database."""

from django.urls import path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views


class DbIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


class LocalIdConverter:
    regex = "[A-Za-z0-9_#*.-]{1,32}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


class HexIdConverter(LocalIdConverter):
    regex = "[0-9a-f]{32}"


register_converter(DbIdConverter, "dbid")
register_converter(HexIdConverter, "hexid")
register_converter(LocalIdConverter, "localid")

P = "projects/<slug:slug>/"
S = P + "annotation-sets/<dbid:pk>/"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # No OPTIONS on the HTML docs page (405; its template renderer has nothing to show for it).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", metadata_class=None), name="api-docs"),
    path("projects/", views.ProjectListView.as_view(), name="api-project-list"),
    path(P, views.ProjectDetailView.as_view(), name="api-project-detail"),
    path(P + "schema/", views.SchemaView.as_view(), name="api-project-schema"),
    path(P + "model-versions/", views.ModelVersionListView.as_view(), name="api-model-version-list"),
    path(P + "model-versions/<dbid:version_id>/activate/", views.ModelVersionActivateView.as_view(),
         name="api-model-version-activate"),
    path(P + "retrain-policy/", views.RetrainPolicyView.as_view(), name="api-retrain-policy"),
    path(P + "annotation-queue/", views.AnnotationQueueView.as_view(), name="api-annotation-queue"),
    path(P + "notes/", views.NoteListView.as_view(), name="api-note-list"),
    path(P + "notes/<dbid:note_id>/", views.NoteDetailView.as_view(), name="api-note-detail"),
    path(P + "notes/<dbid:note_id>/annotation-sets/", views.NoteAnnotationSetListView.as_view(),
         name="api-note-annotation-sets"),
    path(S, views.AnnotationSetDetailView.as_view(), name="api-annotation-set-detail"),
    path(S + "entities/", views.EntityCreateView.as_view(), name="api-entity-create"),
    path(S + "entities/<localid:local_id>/", views.EntityDetailView.as_view(), name="api-entity-detail"),
    path(S + "relations/", views.RelationCreateView.as_view(), name="api-relation-create"),
    path(S + "relations/<localid:local_id>/", views.RelationDetailView.as_view(), name="api-relation-detail"),
    path(S + "prelabels/<localid:local_id>/accept/", views.PrelabelDecisionView.as_view(), {"decision": "accept"},
         name="api-prelabel-accept"),
    path(S + "prelabels/<localid:local_id>/reject/", views.PrelabelDecisionView.as_view(), {"decision": "reject"},
         name="api-prelabel-reject"),
    path(S + "attributes/", views.AttributeCreateView.as_view(), name="api-attribute-create"),
    path(S + "attributes/<localid:local_id>/", views.AttributeDetailView.as_view(), name="api-attribute-detail"),
    path(S + "label/", views.LabelView.as_view(), name="api-label"),
    path(S + "submit/", views.SubmitView.as_view(), name="api-submit"),
    path(S + "undo/", views.UndoView.as_view(), name="api-undo"),
    path(P + "notes/<dbid:note_id>/sign-offs/", views.SignOffView.as_view(), name="api-note-sign-offs"),
    path(P + "jobs/", views.JobListView.as_view(), name="api-job-list"),
    path(P + "imports/", views.ImportUploadView.as_view(), name="api-import-upload"),
    path(P + "jobs/<dbid:job_id>/", views.JobDetailView.as_view(), name="api-job-detail"),
    path(P + "jobs/<dbid:job_id>/errors/", views.JobErrorListView.as_view(), name="api-job-errors"),
    path(P + "jobs/<dbid:job_id>/cancel/", views.JobCancelView.as_view(), name="api-job-cancel"),
    path(P + "jobs/<dbid:job_id>/download/", views.JobDownloadView.as_view(), name="api-job-download"),
    path(P + "exports/", views.ExportCreateView.as_view(), name="api-export-create"),
    path(P + "exports/<hexid:export_id>/download/", views.ExportDownloadView.as_view(), name="api-export-download"),
    # Anything else under /api/ is a JSON 404 (not Django's HTML page).
    re_path(r"^[\s\S]*$", views.api_not_found, name="api-not-found"),
]
