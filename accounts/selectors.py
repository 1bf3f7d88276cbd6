"""Reads on accounts."""

from __future__ import annotations

from .models import ApiToken
from .services import token_hash


def api_token_get_by_secret(*, secret: str) -> ApiToken | None:
    """The token whose secret this is, with its user, or None (expired ones included: the caller decides)."""
    return ApiToken.objects.select_related("user").filter(key_hash=token_hash(secret)).first()
