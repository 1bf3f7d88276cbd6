"""Case links on other apps' pages, without those apps importing this one: the note page's "Open case" (next to
the sign-off) and the project page's "Cases" link. Whether they show is pharmacovigilance.permissions' rule;
the views behind them check it again."""

from __future__ import annotations

from django import template

from pharmacovigilance import selectors
from pharmacovigilance.permissions import case_change_refusal, cases_visible

register = template.Library()


@register.filter(name="cases_visible")
def cases_visible_filter(role) -> bool:
    """`{% if role|cases_visible %}`: the member's role sees the project's cases (reviewers and admins)."""
    return cases_visible(role)


@register.inclusion_tag("pharmacovigilance/_note_case.html", takes_context=True)
def note_case_panel(context) -> dict:
    """On a note page: the note's case (a link), or "Open case" for a confirmed ADE; nothing for annotators."""
    note, project, role = context.get("note"), context.get("project"), context.get("role")
    request = context.get("request")
    if note is None or project is None or not cases_visible(role):
        return {"show": False}
    case = selectors.note_case(note=note)
    user = getattr(request, "user", None)
    can_open = (case is None and note.final_verdict == "ade"
                and case_change_refusal(user=user, project=project, role=role) is None)
    return {"show": case is not None or can_open, "case": case, "can_open": can_open, "note": note,
            "project": project, "csrf_token": context.get("csrf_token")}
