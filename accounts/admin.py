# Users are in the admin as django.contrib.auth registers them (Django's UserAdmin, superusers); staff manage
# them on /accounts/users/, whose services check the rules (nobody deactivates themselves, the last superuser
# stays) and audit every change.
from django.contrib import admin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins see who holds tokens and revoke them (delete); the secrets themselves are never stored."""

    list_display = ("prefix", "name", "user", "created_at", "expires_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "prefix", "name")
    readonly_fields = ("user", "name", "key_hash", "prefix", "created_at", "expires_at", "last_used_at")

    def has_add_permission(self, request):
        return False  # tokens are issued on /accounts/tokens/ and by the API, which show the secret once

    def has_change_permission(self, request, obj=None):
        return False
