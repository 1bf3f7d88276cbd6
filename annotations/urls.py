from django.urls import path

from . import views

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("p/<slug:slug>/", views.project_dashboard, name="project-dashboard"),
    path("p/<slug:slug>/queue/", views.queue, name="note-queue"),
    path("p/<slug:slug>/notes/new/", views.note_new, name="note-new"),
    path("p/<slug:slug>/notes/<int:note_id>/", views.note_detail, name="note-detail"),
    path("p/<slug:slug>/notes/<int:note_id>/entities/<str:local_id>/", views.note_entity, name="note-entity"),
    path("p/<slug:slug>/notes/<int:note_id>/relations/<str:local_id>/", views.note_relation, name="note-relation"),
    path("p/<slug:slug>/notes/<int:note_id>/events/<str:local_id>/", views.note_event, name="note-event"),
    path("p/<slug:slug>/notes/<int:note_id>/correct/", views.note_correct, name="note-correct"),
    path("p/<slug:slug>/notes/<int:note_id>/relation-form/", views.note_relation_form, name="note-relation-form"),
    path("p/<slug:slug>/notes/<int:note_id>/edit/<slug:action>/", views.note_edit, name="note-edit"),
    path("p/<slug:slug>/notes/<int:note_id>/sign-off/", views.note_sign_off, name="note-sign-off"),
    path("p/<slug:slug>/patients/<int:patient_id>/", views.patient_detail, name="patient-detail"),
]
