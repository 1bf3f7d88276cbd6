"""Writes on accounts: issuing and revoking API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import ApiToken

# How often at most `last_used_at` is written: one UPDATE per token per minute, not one per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user) -> tuple[ApiToken, str]:
    """Issue a new token for `user`, valid for ADE_REVIEW_TOKEN_TTL_HOURS.

    Returns the stored token and its secret; the secret is not kept anywhere and cannot be shown again.
    """
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        key_hash=token_hash(secret),
        prefix=secret[:8],
        created_at=now,
        expires_at=now + timedelta(hours=settings.ADE_REVIEW_TOKEN_TTL_HOURS),
    )
    return token, secret


def api_token_revoke(*, token: ApiToken) -> None:
    """Revoke one token (its holder logs out)."""
    ApiToken.objects.filter(pk=token.pk).delete()


def api_tokens_revoke_for_user(*, user_id: int) -> int:
    """Revoke every token of a user (on a password change); returns how many there were."""
    deleted, _ = ApiToken.objects.filter(user_id=user_id).delete()
    return deleted


def api_token_mark_used(*, token: ApiToken) -> None:
    """Record that the token was used now (at most once per LAST_USED_RESOLUTION)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
