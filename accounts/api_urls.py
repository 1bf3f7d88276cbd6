from django.urls import path

from .api import TokenView

urlpatterns = [
    path("token/", TokenView.as_view(), name="api-token"),
]
