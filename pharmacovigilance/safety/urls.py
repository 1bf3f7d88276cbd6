from django.urls import path

from pharmacovigilance.safety import views

urlpatterns = [
    path("", views.safety_overview, name="safety-overview"),
    path("<slug:chart>.png", views.safety_chart, name="safety-chart"),
]
