from django.urls import path

from annotations import views
from annotations.views import agreement as agreement_views
from annotations.views import assignment as assignment_views
from annotations.views import curation as curation_views
from annotations.views import project_admin
from annotations.views import schema as schema_views
from annotations.views.legacy import old_project_path

urlpatterns = [
    # Pages lived under /p/<slug>/ before every page moved to /projects/<slug>/: old links and bookmarks redirect.
    path("p/<path:rest>", old_project_path, name="old-project-path"),
    path("", views.project_list, name="project-list"),
    # Before the project pattern: "new" is a reserved short name (annotations.services.projects).
    path("projects/new/", project_admin.project_new, name="project-new"),
    path("projects/<slug:slug>/", views.project_dashboard, name="project-dashboard"),
    path("projects/<slug:slug>/settings/", project_admin.project_settings, name="project-settings"),
    path("projects/<slug:slug>/settings/archive/", project_admin.project_archive, name="project-archive"),
    path("projects/<slug:slug>/settings/delete/", project_admin.project_delete, name="project-delete"),
    path("projects/<slug:slug>/members/", project_admin.project_members, name="project-members"),
    path("projects/<slug:slug>/members/<int:user_id>/", project_admin.project_member, name="project-member"),
    path("projects/<slug:slug>/queue/", views.queue, name="note-queue"),
    path("projects/<slug:slug>/notes/new/", views.note_new, name="note-new"),
    path("projects/<slug:slug>/notes/<int:note_id>/", views.note_detail, name="note-detail"),
    path("projects/<slug:slug>/notes/<int:note_id>/entities/<str:local_id>/", views.note_entity, name="note-entity"),
    path("projects/<slug:slug>/notes/<int:note_id>/relations/<str:local_id>/", views.note_relation, name="note-relation"),
    path("projects/<slug:slug>/notes/<int:note_id>/events/<str:local_id>/", views.note_event, name="note-event"),
    path("projects/<slug:slug>/notes/<int:note_id>/correct/", views.note_correct, name="note-correct"),
    path("projects/<slug:slug>/notes/<int:note_id>/relation-form/", views.note_relation_form, name="note-relation-form"),
    path("projects/<slug:slug>/notes/<int:note_id>/edit/<slug:action>/", views.note_edit, name="note-edit"),
    path("projects/<slug:slug>/notes/<int:note_id>/sign-off/", views.note_sign_off, name="note-sign-off"),
    path("projects/<slug:slug>/patients/<int:patient_id>/", views.patient_detail, name="patient-detail"),
    # The schema editor (annotations.views.schema).
    path("projects/<slug:slug>/schema/", schema_views.schema_page, name="project-schema"),
    path("projects/<slug:slug>/schema/style/", schema_views.schema_style, name="project-schema-style"),
    path("projects/<slug:slug>/schema/rename/", schema_views.schema_rename, name="project-schema-rename"),
    path("projects/<slug:slug>/schema/colours.css", schema_views.schema_colours_css, name="project-schema-colours"),
    path("projects/<slug:slug>/schema/conf/", schema_views.schema_conf, name="project-schema-conf"),
    path("projects/<slug:slug>/schema/conf/preview/", schema_views.schema_conf_preview,
         name="project-schema-conf-preview"),
    path("projects/<slug:slug>/schema/conf/preview/<str:token>.css", schema_views.schema_preview_css,
         name="project-schema-preview-css"),
    # Note assignments (annotations.views.assignment): an annotator's notes, the admins' assignments page.
    path("projects/<slug:slug>/my-notes/", assignment_views.my_notes, name="my-notes"),
    path("projects/<slug:slug>/my-notes/next/", assignment_views.my_notes_next, name="my-notes-next"),
    path("projects/<slug:slug>/assignments/", assignment_views.project_assignments, name="project-assignments"),
    path("projects/<slug:slug>/assignments/assign/", assignment_views.assignments_assign, name="assignments-assign"),
    path("projects/<slug:slug>/assignments/release/", assignment_views.assignments_release,
         name="assignments-release"),
    path("projects/<slug:slug>/assignments/<int:assignment_id>/unassign/", assignment_views.assignment_unassign,
         name="assignment-unassign"),
    path("projects/<slug:slug>/assignments/<int:assignment_id>/reassign/", assignment_views.assignment_reassign,
         name="assignment-reassign"),
    path("projects/<slug:slug>/settings/assignment/", assignment_views.project_assignment_settings,
         name="project-assignment-settings"),
    # Inter-annotator agreement (annotations.views.agreement).
    path("projects/<slug:slug>/agreement/", agreement_views.project_agreement_page, name="project-agreement"),
    path("projects/<slug:slug>/agreement.csv", agreement_views.project_agreement_csv, name="project-agreement-csv"),
    # Curation, i.e. adjudication (annotations.views.curation): the queue and a note's curation page.
    path("projects/<slug:slug>/curation/", curation_views.curation_queue_page, name="curation-queue"),
    path("projects/<slug:slug>/notes/<int:note_id>/curate/", curation_views.note_curate, name="note-curate"),
    path("projects/<slug:slug>/notes/<int:note_id>/curate/start/", curation_views.note_curate_start,
         name="note-curate-start"),
    path("projects/<slug:slug>/notes/<int:note_id>/curate/units/<slug:unit>/", curation_views.note_curate_decide,
         name="note-curate-decide"),
    path("projects/<slug:slug>/notes/<int:note_id>/curate/finish/", curation_views.note_curate_finish,
         name="note-curate-finish"),
    path("projects/<slug:slug>/notes/<int:note_id>/curate/reopen/", curation_views.note_curate_reopen,
         name="note-curate-reopen"),
    path("projects/<slug:slug>/notes/<int:note_id>/curate/undo/", curation_views.note_curate_undo,
         name="note-curate-undo"),
]
