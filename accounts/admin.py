from django.contrib import admin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins see who holds tokens and revoke them (delete); the secrets themselves are never stored."""

    list_display = ("prefix", "user", "created_at", "expires_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "prefix")
    readonly_fields = ("user", "key_hash", "prefix", "created_at", "expires_at", "last_used_at")

    def has_add_permission(self, request):
        return False  # tokens are issued by POST /api/auth/token/, which shows the secret once

    def has_change_permission(self, request, obj=None):
        return False
