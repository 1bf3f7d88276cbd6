from django.urls import path

from pharmacovigilance.exports import views

urlpatterns = [
    path("", views.case_export_page, name="case-export"),
]
