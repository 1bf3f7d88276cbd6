"""`{{ name|type_label:type_labels }}`: a type's display name (Schema.display_name, computed once per page as
the editor's `type_labels`), so that every panel and list names a type as the toolbar does."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def type_label(name: str, labels: dict | None) -> str:
    """The display name of type `name`, or the name itself when the schema gives none."""
    return (labels or {}).get(name, name)
