"""Site administration of users (staff only), included at /api/users/."""

from django.urls import path

from annotations.api import base  # noqa: F401  (registers the `dbid` converter)

from .api import UserDetailView, UserListView, UserPasswordResetView

urlpatterns = [
    path("", UserListView.as_view(), name="api-user-list"),
    path("<dbid:user_id>/", UserDetailView.as_view(), name="api-user-detail"),
    path("<dbid:user_id>/password/", UserPasswordResetView.as_view(), name="api-user-password"),
]
