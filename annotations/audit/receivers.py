"""Signal receivers that audit logins (successful and failed); connected by AnnotationsConfig.ready()."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record


@receiver(user_logged_in, dispatch_uid="annotations.audit.login_success")
def _on_login(sender, request, user, **kwargs):
    audit_record(action=AuditAction.LOGIN_SUCCESS, request=request, actor=user)


@receiver(user_login_failed, dispatch_uid="annotations.audit.login_failure")
def _on_login_failed(sender, credentials, request=None, **kwargs):
    # credentials arrive with the password already masked by Django; only the username is kept.
    username = str(credentials.get("username", ""))[:150]
    audit_record(action=AuditAction.LOGIN_FAILURE, request=request, actor_username=username)
