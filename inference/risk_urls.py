from django.urls import path

from . import risk_views

app_name = "risk"

urlpatterns = [
    path("", risk_views.patient_risk_list, name="patient-list"),
    path("<int:patient_id>/", risk_views.patient_risk_timeline, name="timeline"),
]
