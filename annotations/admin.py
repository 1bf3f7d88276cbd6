"""Django admin: read-only inspection of projects, memberships and the audit trail.

They are changed through the app's pages and API (whose services check the rules and audit themselves), so
here nobody adds, changes or deletes them, superusers included; every staff member may look."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

from annotations.audit.models import AuditEvent
from annotations.models import Project, ProjectMembership


class ReadOnlyInspectionAdmin(admin.ModelAdmin):
    """Viewable by every active staff member (not only by holders of Django's view permission), never
    changed. Other apps' inspection admins subclass it."""

    actions = None

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Project)
class ProjectAdmin(ReadOnlyInspectionAdmin):
    list_display = ("slug", "name", "member_count", "ade_threshold", "created_at", "archived_at")
    list_filter = (("archived_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("slug", "name")
    ordering = ("name", "pk")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj) -> int:
        return obj.member_count


@admin.register(ProjectMembership)
class ProjectMembershipAdmin(ReadOnlyInspectionAdmin):
    list_display = ("project", "user", "role")
    list_filter = ("role",)
    list_select_related = ("project", "user")
    search_fields = ("project__slug", "project__name", "user__username")
    ordering = ("project__name", "user__username")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyInspectionAdmin):
    """The append-only trail (its records carry ids, never clinical text)."""

    list_display = ("created_at", "action", "actor_username", "project", "note_id", "object_type", "object_id",
                    "client_address")
    list_filter = ("action", "created_at")
    list_select_related = ("project",)
    search_fields = ("actor_username", "object_type", "object_id")
    date_hierarchy = "created_at"
    show_full_result_count = False  # a COUNT(*) of the whole trail on every filtered page is not worth it
