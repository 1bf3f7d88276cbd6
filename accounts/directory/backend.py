"""`DirectoryBackend`: django-auth-ldap's backend with the app's rules for who may sign in through it.

In AUTHENTICATION_BACKENDS after the login throttle and before local passwords (ModelBackend), only when
ADE_REVIEW_LDAP_URI is set (settings/base.py). What it adds to django-auth-ldap:

- a local account whose password still works is not taken over by a directory entry of the same name
  (else whoever holds that name in the directory would become, say, the local `admin`), unless
  ADE_REVIEW_LDAP_ADOPT_LOCAL_USERS is on; an adopted account loses its local password, as a new
  directory account never has one: when the directory stops finding the person (disabled, moved, deleted),
  ModelBackend has no password to let them in with;
- an inactive account is refused (the directory's active group, or a site administrator's deactivation),
  at login and on every request of an open session;
- at each login the mapped project roles follow the person's groups (`roles.directory_roles_apply`), and
  changes of site rights (staff, superuser, active) made by the directory are audited (user_change).
"""

from __future__ import annotations

import logging

import ldap
from django.conf import settings
from django.db import transaction
from django_auth_ldap.backend import LDAPBackend

from accounts.services import api_tokens_revoke_for_user
from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record

from .roles import directory_roles_apply

logger = logging.getLogger(__name__)

_FLAGS = ("is_active", "is_staff", "is_superuser")


class DirectoryBackend(LDAPBackend):
    def get_or_build_user(self, username, ldap_user):
        user, built = super().get_or_build_user(username, ldap_user)
        if not built and user.has_usable_password():
            if not settings.ADE_REVIEW_LDAP.adopt_local_users:
                logger.warning("directory sign-in refused for %s: a local account of that name has a password "
                               "(set ADE_REVIEW_LDAP_ADOPT_LOCAL_USERS=1 to let the directory take it over)",
                               username)
                raise ldap_user.AuthenticationFailed("a local account with a password has this username")
            # Saved by django-auth-ldap with the directory's attributes (ALWAYS_UPDATE_USER is on).
            user.set_unusable_password()
            user._directory_adopted = True
        # What the account's rights were before the directory rewrites them, to audit the difference.
        user._directory_flags_before = None if built else {flag: getattr(user, flag) for flag in _FLAGS}
        return user, built

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None:
            return None
        self._audit_account(user)
        if not user.is_active:
            logger.info("directory sign-in refused for %s: the account is inactive", user.get_username())
            return None
        project_roles = settings.ADE_REVIEW_LDAP.project_roles
        if project_roles:
            try:
                group_dns = ldap_user.group_dns
            except ldap.LDAPError as error:
                # Without the groups the roles could be stale ones the directory has withdrawn: refuse.
                logger.warning("directory sign-in refused for %s: group search failed (%s)",
                               user.get_username(), type(error).__name__)
                return None
            directory_roles_apply(user=user, group_dns=group_dns, project_roles=project_roles)
        return user

    def get_user(self, user_id):
        # django-auth-ldap's get_user lets an inactive account keep its open sessions; ModelBackend's does not.
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    @staticmethod
    def _audit_account(user) -> None:
        before = getattr(user, "_directory_flags_before", None)
        after = {flag: getattr(user, flag) for flag in _FLAGS}
        if before is None:
            operation, changes = "directory_create", after
        else:
            operation = "directory_adopt" if getattr(user, "_directory_adopted", False) else "directory_update"
            changes = {flag: value for flag, value in after.items() if before[flag] != value}
            if not changes and operation == "directory_update":
                return
        with transaction.atomic():
            revoked = 0
            if before is not None and before["is_active"] and not user.is_active:
                # As a site administrator's deactivation does: a token must not outlive the account.
                revoked = api_tokens_revoke_for_user(user_id=user.pk)
            audit_record(action=AuditAction.USER_CHANGE, actor=user, object_type="user", object_id=user.pk,
                         details={"operation": operation, "username": user.get_username(), **changes,
                                  **({"tokens_revoked": revoked} if revoked else {})})
