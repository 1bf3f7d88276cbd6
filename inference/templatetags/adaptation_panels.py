"""The encoder card that the models page (inference.learning) renders without importing the adaptation
package: its template loads this library by name."""

from __future__ import annotations

from django import template

from inference.adaptation.selectors import project_encoder_state

register = template.Library()


@register.inclusion_tag("inference/_encoder_card.html", takes_context=True)
def encoder_panel(context, project, can_manage: bool = False) -> dict:
    """The project's encoder, its lineage, the adapt jobs and (for admins) adapt, use and roll back."""
    return {"project": project, "can_manage": can_manage, "state": project_encoder_state(project=project),
            "csrf_token": context.get("csrf_token")}
