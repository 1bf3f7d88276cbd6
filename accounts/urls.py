"""Login, logout, password change and password reset by e-mail (Django's views, the app's templates);
a person's API tokens; site administration of users (staff)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from annotations.api import base  # noqa: F401  (registers `dbid`: bounded ids, no lookup overflows)

from .views import passwords, tokens, users

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", passwords.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password_reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password_reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("tokens/", tokens.token_list, name="token-list"),
    path("tokens/<dbid:token_id>/revoke/", tokens.token_revoke, name="token-revoke"),
    path("users/", users.user_list, name="user-list"),
    path("users/new/", users.user_new, name="user-new"),
    path("users/<dbid:user_id>/", users.user_detail, name="user-detail"),
    path("users/<dbid:user_id>/deactivate/", users.user_deactivate, name="user-deactivate"),
    path("users/<dbid:user_id>/reactivate/", users.user_reactivate, name="user-reactivate"),
    path("users/<dbid:user_id>/password/", users.user_password_reset, name="user-password-reset"),
]
