"""Reads. Selectors own visibility: nobody sees a project they are not a member of."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import Project


def project_list_for_user(*, user) -> QuerySet[Project]:
    """Projects the user is a member of, with note and flagged counts."""
    return (
        Project.objects.filter(memberships__user=user)
        .annotate(note_count=Count("notes", distinct=True), flagged_count=Count("notes", filter=Q(notes__flagged=True), distinct=True))
        .order_by("name")
    )
