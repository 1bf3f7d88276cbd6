"""Token routes, included at /api/auth/."""

from django.urls import path

from annotations.api import base  # noqa: F401  (registers the `dbid` converter)

from .api import OwnTokenDetailView, OwnTokenListView, TokenView

urlpatterns = [
    path("token/", TokenView.as_view(), name="api-token"),
    path("tokens/", OwnTokenListView.as_view(), name="api-token-list"),
    path("tokens/<dbid:token_id>/", OwnTokenDetailView.as_view(), name="api-token-detail"),
]
