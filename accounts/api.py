"""The accounts API.

Tokens (`/api/auth/`): `POST token/` exchanges a username and password for a new token, `DELETE token/`
revokes the token that authenticates the request; `tokens/` lists (GET) and creates named tokens (POST) of the
caller, `tokens/<id>/` revokes one of them (DELETE).
Users (`/api/users/`, Django staff only): list, create, read, change (PATCH), reset a password.
Secrets (tokens, temporary passwords) appear in one response each and nowhere else.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response

from annotations.api import serializers as s
from annotations.api.base import ERRORS, APIView, Pagination, validated
from annotations.errors import ApplicationError

from . import selectors, services
from .authentication import HashedTokenAuthentication
from .login_throttle import lockout_message
from .models import ApiToken

# --- tokens -------------------------------------------------------------------------------------------

NO_PAGE = OpenApiResponse(s.ErrorOutput, description="No such page of the list.")
MUST_CHANGE_403 = OpenApiResponse(s.ErrorOutput, description="Your password must be changed first "
                                                             "(`password_change_required`).")


class TokenInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(max_length=services.TOKEN_NAME_MAX, required=False, default="", allow_blank=True,
                                 help_text="What the token is for (shown in your token list).")


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

    @extend_schema(request=TokenInput,
                   responses={200: TokenOutput, 400: s.ErrorOutput, 429: s.ErrorOutput,
                              403: MUST_CHANGE_403},
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
        token, secret = services.api_token_issue(user=user, name=data.validated_data["name"], via="password")
        return Response(TokenOutput({"token": secret, "expires_at": token.expires_at}).data)

    @extend_schema(request=None, responses={204: None, 401: s.ErrorOutput, 403: MUST_CHANGE_403})
    def delete(self, request):
        """Revoke the token that authenticates this request."""
        if not isinstance(request.auth, ApiToken):
            raise ApplicationError("not_authenticated", "Send the token to revoke as `Authorization: Token <token>`.",
                                   status=status.HTTP_401_UNAUTHORIZED)
        services.api_token_revoke(token=request.auth, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NamedTokenInput(serializers.Serializer):
    name = serializers.CharField(max_length=services.TOKEN_NAME_MAX,
                                 help_text="What the token is for, e.g. `nightly export` (at most 100 characters).")


class TokenListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first characters, to tell tokens apart.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()
    expired = serializers.BooleanField(source="is_expired")


class NamedTokenOutput(TokenListOutput):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`; shown only this once.")


class OwnTokenListView(APIView):
    pagination_class = Pagination

    @extend_schema(responses={200: TokenListOutput(many=True), 401: ERRORS[401], 403: MUST_CHANGE_403,
                              404: NO_PAGE})
    def get(self, request):
        """Your own API tokens, newest first (expired ones included); never their secrets."""
        page = self.paginate_queryset(selectors.api_token_list_for_user(user=request.user))
        return self.get_paginated_response(TokenListOutput(page, many=True).data)

    @extend_schema(request=NamedTokenInput,
                   responses={201: NamedTokenOutput, 400: ERRORS[400], 401: ERRORS[401], 403: MUST_CHANGE_403})
    def post(self, request):
        """A new named token for you (valid ADE_REVIEW_TOKEN_TTL_HOURS); its secret is in this response only."""
        v = validated(NamedTokenInput, request.data)
        token, secret = services.api_token_issue(user=request.user, name=v["name"], via="api")
        body = TokenListOutput(token).data
        return Response({**body, "token": secret}, status=status.HTTP_201_CREATED)


class OwnTokenDetailView(APIView):
    @extend_schema(request=None, responses={204: None, 401: ERRORS[401], 403: MUST_CHANGE_403,
                                            404: OpenApiResponse(s.ErrorOutput, description="You hold no such token.")})
    def delete(self, request, token_id: int):
        """Revoke one of your tokens (another person's token is a 404, like a missing one)."""
        token = selectors.api_token_get_for_user(user=request.user, token_id=token_id)
        services.api_token_revoke(token=token, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- users (site administration) ----------------------------------------------------------------------


class IsStaff(BasePermission):
    """Django staff: the site's administrators."""

    message = "Only site administrators (staff) may manage users."
    code = "staff_only"

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff)


STAFF_ERRORS = {
    401: ERRORS[401],
    403: OpenApiResponse(s.ErrorOutput, description="You are not staff, or the change would lock the site out "
                                                    "(`cannot_change_self`, `superuser_protected`)."),
}


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    is_active = serializers.BooleanField()
    is_staff = serializers.BooleanField()
    is_superuser = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)
    must_change_password = serializers.BooleanField()
    project_count = serializers.IntegerField()


class UserCreateOutput(UserOutput):
    temporary_password = serializers.CharField(
        allow_null=True, help_text="The generated password (when none was given), shown only this once.")


class UserListFilterInput(serializers.Serializer):
    search = serializers.CharField(max_length=150, required=False, default="", allow_blank=True,
                                   help_text="In usernames, names and e-mail addresses.")
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)
    is_staff = serializers.BooleanField(required=False, allow_null=True, default=None)


class UserCreateInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    first_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, default="", allow_blank=True)
    is_staff = serializers.BooleanField(required=False, default=False)
    password = serializers.CharField(max_length=4096, required=False, allow_null=True, default=None,
                                     trim_whitespace=False, style={"input_type": "password"},
                                     help_text="The initial password; omit it to have one generated.")
    must_change_password = serializers.BooleanField(required=False, default=True)


class UserUpdateInput(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="false deactivates (revokes the tokens).")
    is_staff = serializers.BooleanField(required=False)
    must_change_password = serializers.BooleanField(required=False)


class PasswordResetOutput(serializers.Serializer):
    temporary_password = serializers.CharField(help_text="Shown only this once; the user must change it.")


class StaffAPIView(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    def user(self, user_id: int):
        return selectors.user_get(user_id=user_id)


class UserListView(StaffAPIView):
    pagination_class = Pagination

    @extend_schema(parameters=[UserListFilterInput], responses={200: UserOutput(many=True), 400: ERRORS[400],
                                                                  **STAFF_ERRORS, 404: NO_PAGE})
    def get(self, request):
        """Users by username, each with their project count (staff only)."""
        f = validated(UserListFilterInput, request.query_params)
        users = selectors.user_list(search=f["search"], active=f["is_active"], staff=f["is_staff"])
        page = self.paginate_queryset(users)
        return self.get_paginated_response(UserOutput(page, many=True).data)

    @extend_schema(request=UserCreateInput, responses={
        201: UserCreateOutput, 400: ERRORS[400], **STAFF_ERRORS,
        409: OpenApiResponse(s.ErrorOutput, description="The username is taken.")})
    def post(self, request):
        """Create an active user (staff only); without a password one is generated and returned once."""
        v = validated(UserCreateInput, request.data)
        user, generated = services.user_create(actor=request.user, **v)
        body = UserOutput(self.user(user.pk)).data
        return Response({**body, "temporary_password": generated}, status=status.HTTP_201_CREATED)


class UserDetailView(StaffAPIView):
    @extend_schema(responses={200: UserOutput, **STAFF_ERRORS, 404: ERRORS[404]})
    def get(self, request, user_id: int):
        return Response(UserOutput(self.user(user_id)).data)

    @extend_schema(request=UserUpdateInput, responses={
        200: UserOutput, 400: ERRORS[400], **STAFF_ERRORS, 404: ERRORS[404],
        409: OpenApiResponse(s.ErrorOutput, description="The last active superuser keeps their rights.")})
    def patch(self, request, user_id: int):
        """Change names, e-mail, staff, active (false deactivates and revokes the tokens) or "must change
        password" (staff only; nobody deactivates themselves)."""
        subject = self.user(user_id)
        serializer = UserUpdateInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.user_update(actor=request.user, user=subject, **serializer.validated_data)
        return Response(UserOutput(self.user(user_id)).data)


class UserPasswordResetView(StaffAPIView):
    @extend_schema(request=None, responses={200: PasswordResetOutput, **STAFF_ERRORS, 404: ERRORS[404]})
    def post(self, request, user_id: int):
        """Set a temporary password (returned once) that the user must change at their next sign-in; their
        sessions and tokens end (staff only)."""
        password = services.user_password_reset(actor=request.user, user=self.user(user_id))
        return Response(PasswordResetOutput({"temporary_password": password}).data)
