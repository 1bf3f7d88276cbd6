"""Patient risk pages: patients by current ADR risk, and one patient's risk timeline."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from annotations.audit.services import audit_phi_read
from annotations.models import Patient
from annotations.permissions import Capability, project_get_for_user
from inference.risk.monitor import risk_model_active
from inference.risk.selectors import patient_list_by_risk, patient_risk_chart


@login_required
def patient_risk_list(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    page = Paginator(patient_list_by_risk(project=project), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "inference/risk/patient_list.html",
        {"project": project, "page": page, "model": risk_model_active(project_id=project.pk)},
    )


@login_required
def patient_risk_timeline(request: HttpRequest, slug: str, patient_id: int) -> HttpResponse:
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    patient = Patient.objects.filter(project=project, pk=patient_id).first()
    if patient is None:
        raise Http404("No such patient.")
    model = risk_model_active(project_id=project.pk)
    chart = patient_risk_chart(patient=patient, model=model)
    # Each point's hover text is a phrase of a note: the page reads those notes.
    audit_phi_read(view="risk_timeline", notes={p.note_id for p in chart.points}, request=request, project=project,
                   details={"patient": patient.pk, "risk_model": model.pk if model else None})
    return render(
        request, "inference/risk/timeline.html", {"project": project, "patient": patient, "model": model, "chart": chart}
    )
