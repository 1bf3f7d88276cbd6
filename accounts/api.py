"""The token endpoint: `POST /api/auth/token/` exchanges a username and password for a new token,
`DELETE /api/auth/token/` revokes the token that authenticates the request."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from annotations.api import serializers as s
from annotations.api.views import APIView
from annotations.errors import ApplicationError

from .authentication import HashedTokenAuthentication
from .login_throttle import lockout_message
from .models import ApiToken
from .services import api_token_create, api_token_revoke


class TokenInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"}, trim_whitespace=False)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`; shown only this once.")
    expires_at = serializers.DateTimeField()


class TokenView(APIView):
    """Issue (POST, with a username and password; throttled like the login page) or revoke (DELETE) a token."""

    permission_classes = [AllowAny]
    serializer_class = TokenInput

    def get_authenticators(self):
        # Asking for a token needs only the password: a stale token sent along must not turn it into a 401.
        if getattr(self.request, "method", None) == "POST":  # no request while the schema is generated
            return []
        return [HashedTokenAuthentication()]

    @extend_schema(request=TokenInput, responses={200: TokenOutput, 400: s.ErrorOutput, 429: s.ErrorOutput},
                   auth=[])
    def post(self, request):
        """A new token for these credentials (valid ADE_REVIEW_TOKEN_TTL_HOURS; the secret is shown once)."""
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        # The Django request, not DRF's: axes marks a throttled attempt on it for its middleware to answer.
        django_request = request._request
        user = authenticate(django_request, username=data.validated_data["username"],
                            password=data.validated_data["password"])
        if getattr(django_request, "axes_locked_out", False):
            raise ApplicationError("login_locked", lockout_message(django_request), status=429)
        if user is None or not user.is_active:
            raise ApplicationError("invalid_credentials", "Unable to log in with these credentials.")
        token, secret = api_token_create(user=user)
        return Response(TokenOutput({"token": secret, "expires_at": token.expires_at}).data)

    @extend_schema(request=None, responses={204: None, 401: s.ErrorOutput})
    def delete(self, request):
        """Revoke the token that authenticates this request."""
        if not isinstance(request.auth, ApiToken):
            raise ApplicationError("not_authenticated", "Send the token to revoke as `Authorization: Token <token>`.",
                                   status=status.HTTP_401_UNAUTHORIZED)
        api_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
