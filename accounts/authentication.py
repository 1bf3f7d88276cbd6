"""DRF authentication by API token: `Authorization: Token <secret>`, looked up by the secret's hash (one query,
which also brings the holder and their account policy)."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .selectors import api_token_get_by_secret
from .services import PASSWORD_CHANGE_REQUIRED_MESSAGE, api_token_mark_used


def _must_change_password(user) -> bool:
    try:
        return user.account_policy.must_change_password  # loaded with the token: no query
    except ObjectDoesNotExist:
        return False


class HashedTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: send `Token <token>`.")
        try:
            secret = parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc
        token = api_token_get_by_secret(secret=secret)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.is_expired:
            raise exceptions.AuthenticationFailed("This token has expired: ask for a new one (POST /api/auth/token/).")
        if _must_change_password(token.user):
            # Who it is is known; what they may do waits for a new password: 403, not 401.
            raise exceptions.PermissionDenied(PASSWORD_CHANGE_REQUIRED_MESSAGE, code="password_change_required")
        api_token_mark_used(token=token)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword  # a 401 carries `WWW-Authenticate: Token`


class HashedTokenScheme(OpenApiAuthenticationExtension):
    target_class = HashedTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token-based authentication with required prefix "Token"',
        }
