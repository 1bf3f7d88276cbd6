from django.urls import path

from inference.risk import views as risk_views

urlpatterns = [
    path("", risk_views.patient_risk_list, name="risk-patient-list"),
    path("<int:patient_id>/", risk_views.patient_risk_timeline, name="risk-timeline"),
]
