"""The annotations app's API routes, included at /api/ (ids: the converters of annotations.api.base)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from annotations.api import base  # noqa: F401  (registers the id converters)

from . import agreement, assignment, curation, projects, schema, views

P = "projects/<slug:slug>/"
S = P + "annotation-sets/<dbid:pk>/"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # No OPTIONS on the HTML docs page (405; its template renderer has nothing to show for it).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", metadata_class=None), name="api-docs"),
    path("projects/", projects.ProjectListView.as_view(), name="api-project-list"),
    path("schema-templates/", projects.SchemaTemplateListView.as_view(), name="api-schema-templates"),
    path(P, projects.ProjectDetailView.as_view(), name="api-project-detail"),
    path(P + "members/", projects.MemberListView.as_view(), name="api-member-list"),
    path(P + "members/<dbid:user_id>/", projects.MemberDetailView.as_view(), name="api-member-detail"),
    path(P + "schema/", schema.SchemaView.as_view(), name="api-project-schema"),
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
    path(P + "exports/", views.ExportCreateView.as_view(), name="api-export-create"),
    path(P + "exports/<hexid:export_id>/download/", views.ExportDownloadView.as_view(), name="api-export-download"),
    # The schema editor (annotations.api.schema): the GET/PUT of the schema itself is api-project-schema above.
    path(P + "schema/rename/", schema.SchemaRenameView.as_view(), name="api-schema-rename"),
    path(P + "schema/types/<typename:name>/", schema.SchemaTypeView.as_view(), name="api-schema-type"),
    path(P + "agreement/", agreement.AgreementView.as_view(), name="api-project-agreement"),
    # Note assignments (annotations.api.assignment).
    path(P + "assignment-settings/", assignment.AssignmentSettingsView.as_view(), name="api-assignment-settings"),
    path(P + "my-assignments/", assignment.MyAssignmentListView.as_view(), name="api-my-assignment-list"),
    path(P + "my-assignments/next/", assignment.MyAssignmentNextView.as_view(), name="api-my-assignment-next"),
    path(P + "assignments/", assignment.AssignmentListView.as_view(), name="api-assignment-list"),
    path(P + "assignments/release-stale/", assignment.AssignmentReleaseView.as_view(),
         name="api-assignment-release-stale"),
    path(P + "assignments/workload/", assignment.AssignmentWorkloadView.as_view(), name="api-assignment-workload"),
    path(P + "assignments/<dbid:assignment_id>/", assignment.AssignmentDetailView.as_view(),
         name="api-assignment-detail"),
    path(P + "assignments/<dbid:assignment_id>/reassign/", assignment.AssignmentReassignView.as_view(),
         name="api-assignment-reassign"),
    # Curation, i.e. adjudication (annotations.api.curation).
    path(P + "curation/", curation.CurationQueueView.as_view(), name="api-curation-queue"),
    path(P + "notes/<dbid:note_id>/curation/", curation.NoteCurationView.as_view(), name="api-note-curation"),
    path(P + "notes/<dbid:note_id>/curation/units/<unitkey:unit>/", curation.CurationDecideView.as_view(),
         name="api-curation-decide"),
    path(P + "notes/<dbid:note_id>/curation/finish/", curation.CurationFinishView.as_view(),
         name="api-curation-finish"),
]
