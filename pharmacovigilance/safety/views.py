"""The safety overview page (reviewers and admins) and its two plots."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotations.audit.services import audit_phi_read
from annotations.permissions import Capability, project_get_for_user
from pharmacovigilance.safety import charts
from pharmacovigilance.safety.selectors import (
    ATC_LEVELS,
    REACTION_LEVELS,
    SOURCES,
    safety_counts_by_drug,
    safety_counts_by_reaction,
    safety_counts_over_time,
    safety_disproportionality,
)

CHARTS = ("disproportionality", "over-time")


def _options(request: HttpRequest) -> dict:
    """The source (annotations, cases), ATC level (1-5) and reaction level (pt, soc) asked for; anything else gives
    the defaults."""
    raw = request.GET.get("atc_level", "5")
    reaction_level = request.GET.get("reaction_level", "pt")
    source = request.GET.get("source", "annotations")
    return {"atc_level": int(raw) if raw in {str(k) for k in ATC_LEVELS} else 5,
            "reaction_level": reaction_level if reaction_level in REACTION_LEVELS else "pt",
            "source": source if source in SOURCES else "annotations"}


@login_required
@require_GET
def safety_overview(request: HttpRequest, slug: str) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.SIGN_OFF)
    o = _options(request)
    table = safety_disproportionality(project=project, **o)
    context = {
        "project": project,
        **o,
        "atc_levels": sorted(ATC_LEVELS),
        "unit": "notes" if o["source"] == "annotations" else "cases",
        "by_drug": safety_counts_by_drug(project=project, atc_level=o["atc_level"], source=o["source"]),
        "by_reaction": safety_counts_by_reaction(project=project, level=o["reaction_level"], source=o["source"]),
        "months": safety_counts_over_time(project=project, source=o["source"]),
        "table": table,
    }
    # The page shows drug and reaction texts summed over the project's notes or cases: recorded as a read.
    audit_phi_read(view="safety_overview", notes=(), request=request, project=project,
                   details={"reports": table.reports, **o})
    return render(request, "pharmacovigilance/safety.html", context)


@login_required
@require_GET
def safety_chart(request: HttpRequest, slug: str, chart: str) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.SIGN_OFF)
    if chart not in CHARTS:
        raise Http404("No such chart.")
    o = _options(request)
    if chart == "over-time":
        png = charts.over_time_png(safety_counts_over_time(project=project, source=o["source"]),
                                   unit="notes" if o["source"] == "annotations" else "cases")
    else:
        png = charts.disproportionality_png(safety_disproportionality(project=project, **o).rows)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response
