"""A password change revokes the user's API tokens and clears "must change password", whatever the door
(change form, reset link, admin, `changepassword`): the save itself is watched, comparing the stored password
hash before and after. Django logs sessions out on the same condition (the session hash derives from the
password hash), so a hash upgrade after a hasher change also ends tokens, once. (A site administrator's reset,
`user_password_reset`, sets the flag again after its save.)

A login copies the account's "must change password" into its session, where the middleware reads it."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from .middleware import must_change_password_session_start, session_times_start
from .services import account_policy_set_must_change, api_tokens_revoke_for_user

User = get_user_model()


@receiver(pre_save, sender=User, dispatch_uid="accounts.password_changed_check")
def _note_password_change(sender, instance, raw=False, **kwargs):
    instance._accounts_password_changed = False
    update_fields = kwargs.get("update_fields")
    if raw or instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return  # e.g. the last_login update of every login: no query
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._accounts_password_changed = stored is not None and stored != instance.password


@receiver(post_save, sender=User, dispatch_uid="accounts.password_changed_revoke")
def _revoke_tokens_on_password_change(sender, instance, created=False, raw=False, **kwargs):
    if getattr(instance, "_accounts_password_changed", False):
        with transaction.atomic():
            api_tokens_revoke_for_user(user_id=instance.pk)
            account_policy_set_must_change(user_id=instance.pk, value=False)
        instance._accounts_password_changed = False


@receiver(user_logged_in, dispatch_uid="accounts.session_times_start")
def _start_session_clocks(sender, request, user, **kwargs):
    if request is not None:
        session_times_start(request)
        must_change_password_session_start(request, user)
