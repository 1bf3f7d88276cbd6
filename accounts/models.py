"""API tokens and each account's password policy. Only a SHA-256 hash of each token's secret is stored: the secret is shown once, at creation.

A plain (unsalted, fast) hash is enough here, unlike for passwords: the secret is 256 random bits, so there
is nothing to guess from a leaked hash, and lookups by hash stay one indexed query.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the secret, so that a user or admin can tell tokens apart; not enough to use one.
    prefix = models.CharField(max_length=8)
    # What the holder calls it ("nightly export script"); empty for tokens from POST /api/auth/token/.
    name = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id}, expires {self.expires_at:%Y-%m-%d %H:%M})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class AccountPolicy(models.Model):
    """What a site administrator requires of one account beyond Django's user row (which the app cannot
    extend: it uses `auth.User`). A row exists only for accounts that were ever flagged.

    `must_change_password`: the person is sent to the password change page on every request (and the API
    refuses them) until they choose a new password (accounts.middleware.PasswordChangeRequiredMiddleware).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_policy")
    must_change_password = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "account policies"

    def __str__(self) -> str:
        return f"policy of user {self.user_id}{' (must change password)' if self.must_change_password else ''}"
