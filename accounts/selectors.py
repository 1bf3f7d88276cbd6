"""Reads on accounts: tokens by secret and by holder, and the site administrators' list of users."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from annotations.errors import ApplicationError
from annotations.models import ProjectMembership

from .models import AccountPolicy, ApiToken
from .services import account_must_change_password, token_hash

__all__ = ["account_must_change_password", "api_token_get_by_secret", "api_token_get_for_user",
           "api_token_list_for_user", "user_get", "user_list"]


def api_token_get_by_secret(*, secret: str) -> ApiToken | None:
    """The token whose secret this is, with its user and the user's account policy (one query; the caller
    decides about expiry, an inactive user and a required password change), or None."""
    return (ApiToken.objects.select_related("user", "user__account_policy")
            .filter(key_hash=token_hash(secret)).first())


def api_token_list_for_user(*, user) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (expired ones included, so that they can be told apart)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def api_token_get_for_user(*, user, token_id: int) -> ApiToken:
    """One of the user's own tokens. Errors: ApplicationError `not_found` (404), for another's token too:
    nobody learns which ids exist."""
    token = ApiToken.objects.filter(user=user, pk=token_id).select_related("user").first()
    if token is None:
        raise ApplicationError("not_found", "You hold no token with this id.", status=404)
    return token


def _users_annotated() -> QuerySet:
    User = get_user_model()
    projects = (ProjectMembership.objects.filter(user=OuterRef("pk")).order_by()
                .annotate(n=Func(F("pk"), function="COUNT")).values("n")[:1])
    return User.objects.annotate(
        # A correlated COUNT per row of the page, not a join of every membership of every user.
        project_count=Coalesce(Subquery(projects, output_field=IntegerField()), 0),
        must_change_password=Exists(AccountPolicy.objects.filter(user=OuterRef("pk"), must_change_password=True)),
    )


def user_list(*, search: str = "", active: bool | None = None, staff: bool | None = None) -> QuerySet:
    """Users for site administrators (the caller checks `is_staff`), by username, each with
    `project_count` and `must_change_password`: one query per page however many users and memberships.

    `search` matches username, names and e-mail (case-insensitive, substring); `active` and `staff` filter
    when not None."""
    users = _users_annotated()
    search = (search or "").strip()[:150]
    if search:
        users = users.filter(Q(username__icontains=search) | Q(first_name__icontains=search)
                             | Q(last_name__icontains=search) | Q(email__icontains=search))
    if active is not None:
        users = users.filter(is_active=active)
    if staff is not None:
        users = users.filter(is_staff=staff)
    return users.order_by("username", "pk")


def user_get(*, user_id: int):
    """One user with the list's annotations. Errors: ApplicationError `not_found` (404)."""
    user = _users_annotated().filter(pk=user_id).first()
    if user is None:
        raise ApplicationError("not_found", "No such user.", status=404)
    return user

