"""Writes on accounts: issuing and revoking API tokens; site administration of users (create, change,
deactivate, reactivate, reset a password) and the "must change password" policy.

Every service that a door calls (a page, an endpoint) records itself in the audit trail, in its own
transaction; a password never reaches the trail, a log or an exception message.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError

from .models import AccountPolicy, ApiToken

# How often at most `last_used_at` is written: one UPDATE per token per minute, not one per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_NAME_MAX = 100
# Generated passwords: no look-alike characters (0/O, 1/l/I), since a person reads them off a screen.
PASSWORD_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
GENERATED_PASSWORD_LENGTH = 16
# The fields of a user that site administrators change (is_superuser is not among them: `createsuperuser`).
USER_FIELDS = ("first_name", "last_name", "email", "is_staff", "is_active", "must_change_password")


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- API tokens ---------------------------------------------------------------------------------------


def api_token_name_clean(name: str) -> str:
    """The token name to store: stripped, at most TOKEN_NAME_MAX characters, no control characters.

    Errors: ApplicationError `invalid_token_name`."""
    name = (name or "").strip()
    if len(name) > TOKEN_NAME_MAX:
        raise ApplicationError("invalid_token_name", f"A token name has at most {TOKEN_NAME_MAX} characters.")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise ApplicationError("invalid_token_name", "A token name cannot hold control characters.")
    return name


@transaction.atomic
def api_token_create(*, user, name: str = "") -> tuple[ApiToken, str]:
    """Issue a new token for `user`, valid for ADE_REVIEW_TOKEN_TTL_HOURS (not audited: the doors call
    `api_token_issue`; tests and benchmarks call this to hold a token).

    Returns the stored token and its secret; the secret is not kept anywhere and cannot be shown again.
    """
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        key_hash=token_hash(secret),
        prefix=secret[:8],
        name=api_token_name_clean(name),
        created_at=now,
        expires_at=now + timedelta(hours=settings.ADE_REVIEW_TOKEN_TTL_HOURS),
    )
    return token, secret


@transaction.atomic
def api_token_issue(*, user, name: str = "", via: str = "token_page") -> tuple[ApiToken, str]:
    """Issue a named token for `user` and record it (token_change; the prefix, never the secret).

    `via` says which door asked ("token_page", "api", "password"). Returns (token, secret): the secret is
    shown once. Errors: ApplicationError `invalid_token_name`, `password_change_required` (403)."""
    if account_must_change_password(user_id=user.pk):
        raise ApplicationError("password_change_required", PASSWORD_CHANGE_REQUIRED_MESSAGE, status=403)
    token, secret = api_token_create(user=user, name=name)
    audit_record(action=AuditAction.TOKEN_CHANGE, actor=user, object_type="api_token", object_id=token.pk,
                 details={"operation": "create", "prefix": token.prefix, "via": via})
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor=None) -> None:
    """Revoke one token (its holder logs out) and record it (token_change)."""
    ApiToken.objects.filter(pk=token.pk).delete()
    audit_record(action=AuditAction.TOKEN_CHANGE, actor=actor or token.user, object_type="api_token",
                 object_id=token.pk, details={"operation": "revoke", "prefix": token.prefix,
                                              "holder": token.user_id})


def api_tokens_revoke_for_user(*, user_id: int) -> int:
    """Revoke every token of a user (on a password change, a deactivation); returns how many there were.
    Not audited itself: the change that causes it is."""
    deleted, _ = ApiToken.objects.filter(user_id=user_id).delete()
    return deleted


def api_token_mark_used(*, token: ApiToken) -> None:
    """Record that the token was used now (at most once per LAST_USED_RESOLUTION)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


# --- "must change password" ---------------------------------------------------------------------------

PASSWORD_CHANGE_REQUIRED_MESSAGE = (
    "You must choose a new password before you go on: sign in to the web site and change it "
    "(/accounts/password_change/)."
)


def account_must_change_password(*, user_id: int) -> bool:
    """Whether the account is flagged (one query). Beside the writes because the services, the middleware
    and the token authentication all ask; `accounts.selectors` re-exports it."""
    return AccountPolicy.objects.filter(user_id=user_id, must_change_password=True).exists()


def account_policy_set_must_change(*, user_id: int, value: bool) -> bool:
    """Flag or clear an account's "must change password"; returns whether it changed. Not audited itself:
    the change that causes it is. A signed-in person meets the flag within
    accounts.middleware.POLICY_REREAD_S; a password reset ends their sessions at once."""
    if value:
        policy, created = AccountPolicy.objects.get_or_create(user_id=user_id,
                                                              defaults={"must_change_password": True})
        return created or AccountPolicy.objects.filter(pk=policy.pk, must_change_password=False).update(
            must_change_password=True, updated_at=timezone.now()) > 0
    return AccountPolicy.objects.filter(user_id=user_id, must_change_password=True).update(
        must_change_password=False, updated_at=timezone.now()) > 0


# --- site administration of users ---------------------------------------------------------------------


def password_generate() -> str:
    """A random temporary password (16 characters, about 94 bits), easy to read aloud."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(GENERATED_PASSWORD_LENGTH))


def _password_check(password: str, user) -> None:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ApplicationError("invalid_password", " ".join(error.messages), details={"password": error.messages}) from None


def _email_check(email: str) -> str:
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as error:
            raise ApplicationError("invalid_email", "Enter a valid e-mail address.") from error
    return email


def _user_audit(*, actor, user, operation: str, **details) -> None:
    # Site-wide: no project. The username is kept because ids outlive nothing here but are hard to read.
    audit_record(action=AuditAction.USER_CHANGE, actor=actor, object_type="user", object_id=user.pk,
                 details={"operation": operation, "username": user.get_username(), **details})


def _locked(user):
    """The user's row, locked for this transaction (two administrators at once see each other's change)."""
    return get_user_model().objects.select_for_update().get(pk=user.pk)


def _guard_change(*, actor, user, removes_rights: bool) -> None:
    """The rules every change of another account follows.

    - nobody deactivates or un-staffs themselves (they would lock themselves out: another administrator can);
    - the last active superuser keeps their rights (nobody could administer the site any more);
    - only a superuser changes a superuser (a staff member who could reset a superuser's password could
      become one)."""
    if actor is not None and actor.pk == user.pk and removes_rights:
        raise ApplicationError("cannot_change_self",
                               "You cannot deactivate your own account or remove your own staff rights: "
                               "ask another administrator.", status=403)
    if removes_rights and user.is_superuser and user.is_active:
        others = (get_user_model().objects.select_for_update()
                  .filter(is_superuser=True, is_active=True, is_staff=True).exclude(pk=user.pk))
        if not list(others.values_list("pk", flat=True)):
            raise ApplicationError("last_superuser",
                                   f"{user.get_username()} is the last active superuser: make another one first.",
                                   status=409)
    if user.is_superuser and actor is not None and not actor.is_superuser:
        raise ApplicationError("superuser_protected", "Only a superuser can change a superuser's account.",
                               status=403)


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    is_staff: bool = False,
    password: str | None = None,
    must_change_password: bool = True,
):
    """Create an active user; audited (user_change, operation "create").

    `password`: the initial password, or None to generate one. Returns (user, generated password or None):
    a generated password is shown once by the caller and never stored in clear.
    Errors: ApplicationError `invalid_username`, `username_taken` (409), `invalid_email`, `invalid_password`.
    """
    User = get_user_model()
    username = (username or "").strip()
    field = User._meta.get_field(User.USERNAME_FIELD)
    try:
        field.run_validators(username)
        if not username:
            raise ValidationError("A username is required.")
    except ValidationError as error:
        raise ApplicationError("invalid_username", " ".join(error.messages)) from error
    if User.objects.filter(**{f"{User.USERNAME_FIELD}__iexact": username}).exists():
        raise ApplicationError("username_taken", f"The username {username!r} is taken.", status=409)
    user = User(username=username, first_name=first_name.strip()[:150], last_name=last_name.strip()[:150],
                email=_email_check(email), is_staff=bool(is_staff), is_active=True)
    generated = None
    if password is None:
        generated = password = password_generate()
    else:
        _password_check(password, user)
    user.set_password(password)
    user.save()
    if must_change_password:
        account_policy_set_must_change(user_id=user.pk, value=True)
    _user_audit(actor=actor, user=user, operation="create", is_staff=user.is_staff,
                must_change_password=bool(must_change_password), password_generated=generated is not None)
    return user, generated


@transaction.atomic
def user_deactivate(*, actor, user) -> int:
    """Deactivate an account: its sessions end (Django refuses inactive users), its API tokens are revoked,
    its annotation work stays, attributed. Audited (operation "deactivate"). Returns the tokens revoked.
    Errors: ApplicationError `cannot_change_self` (403), `last_superuser` (409), `superuser_protected` (403)."""
    user = _locked(user)
    _guard_change(actor=actor, user=user, removes_rights=True)
    if not user.is_active:
        return 0
    user.is_active = False
    user.save(update_fields=["is_active"])
    revoked = api_tokens_revoke_for_user(user_id=user.pk)
    _user_audit(actor=actor, user=user, operation="deactivate", tokens_revoked=revoked)
    return revoked


@transaction.atomic
def user_reactivate(*, actor, user) -> None:
    """Let a deactivated account sign in again (with its old password; tokens stay revoked). Audited.
    Errors: ApplicationError `superuser_protected` (403)."""
    user = _locked(user)
    _guard_change(actor=actor, user=user, removes_rights=False)
    if user.is_active:
        return
    user.is_active = True
    user.save(update_fields=["is_active"])
    _user_audit(actor=actor, user=user, operation="reactivate")


@transaction.atomic
def user_update(*, actor, user, **changes):
    """Change some of USER_FIELDS of an account; `is_active` goes through user_deactivate/user_reactivate.
    Audited (operation "update", the names of the fields changed and the new flags; never e-mail or names'
    values). Returns the user, reloaded.
    Errors: ApplicationError `unknown_field`, `invalid_email`, and those of user_deactivate."""
    unknown = set(changes) - set(USER_FIELDS)
    if unknown:
        raise ApplicationError("unknown_field", f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    User = get_user_model()
    if "is_active" in changes:
        if changes.pop("is_active"):
            user_reactivate(actor=actor, user=user)
        else:
            user_deactivate(actor=actor, user=user)
    user = _locked(user)
    changed: list[str] = []
    flags: dict[str, bool] = {}
    if "is_staff" in changes and bool(changes["is_staff"]) != user.is_staff:
        _guard_change(actor=actor, user=user, removes_rights=not changes["is_staff"])
        user.is_staff = bool(changes["is_staff"])
        changed.append("is_staff")
        flags["is_staff"] = user.is_staff
    other_fields = [f for f in ("first_name", "last_name", "email") if f in changes]
    if other_fields:
        _guard_change(actor=actor, user=user, removes_rights=False)
    for name in other_fields:
        value = _email_check(changes[name]) if name == "email" else (changes[name] or "").strip()[:150]
        if value != getattr(user, name):
            setattr(user, name, value)
            changed.append(name)
    if changed:
        user.save(update_fields=changed)
    if "must_change_password" in changes:
        _guard_change(actor=actor, user=user, removes_rights=False)
        if account_policy_set_must_change(user_id=user.pk, value=bool(changes["must_change_password"])):
            changed.append("must_change_password")
            flags["must_change_password"] = bool(changes["must_change_password"])
    if changed:
        _user_audit(actor=actor, user=user, operation="update", changed=changed, **flags)
    return User.objects.get(pk=user.pk)


@transaction.atomic
def user_password_reset(*, actor, user) -> str:
    """Give an account a new temporary password and require a new one at its next sign-in: every session
    and API token of the account ends (the password change does that). Audited (never the password).
    Returns the temporary password, to be shown once.
    Errors: ApplicationError `superuser_protected` (403)."""
    user = _locked(user)
    _guard_change(actor=actor, user=user, removes_rights=False)
    password = password_generate()
    user.set_password(password)
    user.save(update_fields=["password"])  # accounts.signals: revokes the tokens, clears the old flag
    account_policy_set_must_change(user_id=user.pk, value=True)  # after the save, which clears it
    _user_audit(actor=actor, user=user, operation="password_reset")
    return password
