"""The models page's encoder actions (admins): adapt the encoder to the notes, use an adapted encoder, roll
back. Each validates, calls one service and goes back to the models page with a message."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from annotations.errors import ApplicationError
from annotations.permissions import Capability, project_get_for_user
from inference.adaptation.selectors import ADAPT
from inference.adaptation.services import project_encoder_adopt, project_encoder_rollback


class AdaptForm(forms.Form):
    steps = forms.IntegerField(min_value=1, max_value=100_000, required=False)
    adopt = forms.BooleanField(required=False)


def _back(project) -> HttpResponse:
    return redirect("inference:model-page", slug=project.slug)


@login_required
@require_POST
def encoder_adapt(request: HttpRequest, slug: str) -> HttpResponse:
    from inference.jobs.engine import job_create

    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    form = AdaptForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Steps: a whole number from 1 to 100,000.")
        return _back(project)
    parameters = {"adopt": form.cleaned_data["adopt"]}
    if form.cleaned_data["steps"]:
        parameters["steps"] = form.cleaned_data["steps"]
    try:
        job = job_create(project=project, kind=ADAPT, parameters=parameters, created_by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Adaptation queued (job {job.pk}).")
    return _back(project)


@login_required
@require_POST
def encoder_adopt(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    try:
        project_encoder_adopt(project=project, job_id=job_id, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The encoder of job {job_id} is now the project's encoder; retrain to use it.")
    return _back(project)


@login_required
@require_POST
def encoder_rollback(request: HttpRequest, slug: str) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    try:
        project_encoder_rollback(project=project, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Rolled back to the encoder it was adapted from; retrain to use it.")
    return _back(project)
