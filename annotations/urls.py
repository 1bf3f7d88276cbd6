from django.urls import path

from annotations import views
from annotations.views.legacy import old_project_path

urlpatterns = [
    # Pages lived under /p/<slug>/ before every page moved to /projects/<slug>/: old links and bookmarks redirect.
    path("p/<path:rest>", old_project_path, name="old-project-path"),
    path("", views.project_list, name="project-list"),
    path("projects/<slug:slug>/", views.project_dashboard, name="project-dashboard"),
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
]
