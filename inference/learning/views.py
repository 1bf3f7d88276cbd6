"""The model page (versions over time, what each was trained on, the gate's decisions, the retrain queue;
admins retrain, change the policy, roll back) and the annotation queue in active-learning order."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from annotations.errors import ApplicationError
from annotations.models import AssignmentOrder
from annotations.permissions import Capability, project_get_for_user, user_can
from annotations.selectors import note_status_counts
from annotations.services.assignment import note_assign_next
from inference.core.extraction.metric_names import metric_name, metric_rows
from inference.learning import selectors as sel
from inference.learning.retraining import model_version_activate, retrain_policy_update, retrain_request
from inference.models import ModelVersion
from inference.models.learning import RetrainPolicy, StartFrom


class RetrainForm(forms.Form):
    start_from = forms.ChoiceField(choices=StartFrom.choices, required=False)
    epochs = forms.IntegerField(min_value=1, max_value=100, required=False)


class PolicyForm(forms.ModelForm):
    class Meta:
        model = RetrainPolicy
        fields = [
            "retrain_every", "gate_metric", "gate_tolerance", "heldout_fraction", "epochs", "start_from",
            "query_strategy", "diversity", "batch_size", "cold_start",
        ]


def _page_context(request: HttpRequest, project, role: str) -> dict:
    versions = list(sel.model_version_history(project=project))
    sel.model_version_metric_cells(versions)
    state = sel.retrain_queue_state(project=project)
    return {
        "project": project,
        "role": role,
        "counts": note_status_counts(project=project),
        "metric_columns": metric_rows({}, keys=sel.VERSION_TABLE_METRICS),
        "gate_metric": metric_name(state.policy.gate_metric),
        "versions": list(reversed(versions)),
        "chart": sel.model_history_chart(versions),
        "state": state,
        "can_manage": user_can(user=request.user, project=project, capability=Capability.MANAGE),
        "retrain_form": RetrainForm(initial={"start_from": state.policy.start_from, "epochs": state.policy.epochs}),
        "policy_form": PolicyForm(instance=state.policy),
    }


@login_required
def model_page(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    if not request.htmx:
        return render(request, "inference/models.html", _page_context(request, project, role))
    # The retrain card's poll (every 2 s while training): the card's state only, not versions or chart.
    state = sel.retrain_queue_state(project=project)
    if request.GET.get("watch") and state.running is None:
        # The training this page was following has ended: reload the whole page, so the new version, its
        # gate decision and the chart appear (the poll only swaps the retrain card).
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "inference/models.html#retrain-state", {"project": project, "state": state})


@login_required
@require_POST
def model_retrain(request: HttpRequest, slug: str) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    form = RetrainForm(request.POST)
    if form.is_valid():
        try:
            job = retrain_request(
                project=project,
                user=request.user,
                start_from=form.cleaned_data["start_from"] or None,
                epochs=form.cleaned_data["epochs"],
                reason=f"requested by {request.user.get_username()}",
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Retrain queued (job {job.pk}).")
    else:
        messages.error(request, "Choose where to start and 1 to 100 epochs.")
    return redirect("inference:model-page", slug=project.slug)


@login_required
@require_POST
def model_policy(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    form = PolicyForm(request.POST, instance=sel.retrain_policy_of(project=project))
    if form.is_valid():
        values = {k: form.cleaned_data[k] for k in PolicyForm.Meta.fields}
        try:
            retrain_policy_update(project=project, actor=request.user, **values)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Policy saved.")
        return redirect("inference:model-page", slug=project.slug)
    context = {**_page_context(request, project, role), "policy_form": form}
    return render(request, "inference/models.html", context, status=400)


def _version(project, version_id: int) -> ModelVersion:
    try:
        return sel.model_version_get(project=project, version_id=version_id)
    except ModelVersion.DoesNotExist as exc:
        raise Http404("No such model version.") from exc


@login_required
def model_version_detail(request: HttpRequest, slug: str, version_id: int) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    version = _version(project, version_id)
    context = {
        "project": project,
        "version": version,
        "metrics": metric_rows(version.metrics),
        "gate_metric": metric_name(version.gate.get("metric", "")) if version.gate else None,
        "training": sel.model_version_notes(version=version, which="training"),
        "heldout": sel.model_version_notes(version=version, which="heldout"),
        "n_training": version.training_notes.count(),
        "n_heldout": version.heldout_notes.count(),
        "can_manage": user_can(user=request.user, project=project, capability=Capability.MANAGE),
    }
    return render(request, "inference/model_version.html", context)


@login_required
@require_POST
def model_version_activate_view(request: HttpRequest, slug: str, version_id: int) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    version = _version(project, version_id)
    model_version_activate(version=version, actor=request.user)
    messages.success(request, f"{version.name} is now the active model; the unlabelled notes are pre-annotated again.")
    return redirect("inference:model-page", slug=project.slug)


@login_required
def annotation_queue_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Unlabelled notes in the order the project's query strategy proposes them."""
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    try:
        after = max(0, int(request.GET.get("after") or 0))
    except ValueError:
        after = 0
    notes = sel.annotation_queue(project=project, after_rank=after, limit=51)
    context = {
        "project": project,
        "notes": notes[:50],
        "next_after": notes[49].al_score.rank if len(notes) > 50 else None,
        "after": after,
        "policy": sel.retrain_policy_of(project=project),
        "can_annotate": user_can(user=request.user, project=project, capability=Capability.ANNOTATE),
    }
    template = "inference/annotation_queue.html#annotation-rows" if request.htmx else "inference/annotation_queue.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def annotation_queue_next(request: HttpRequest, slug: str) -> HttpResponse:
    """POST: hand the person their next note through the assignment service (their open assignment first, else a
    new one: k annotators per note, blind mode and the project's order, active learning by default, all
    apply) and open it in the editor. GET (an old link) writes nothing: back to the To-annotate page."""
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.ANNOTATE)
    if request.method == "GET":
        return redirect("inference:annotation-queue", slug=project.slug)
    try:
        assignment = note_assign_next(by=request.user, project=project)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("inference:annotation-queue", slug=project.slug)
    if assignment is None:
        if project.assignment_order == AssignmentOrder.MANUAL:
            messages.info(request, "Notes in this project are assigned by hand: an admin gives you your next one.")
        else:
            messages.info(request, "No note needs you now: every note has its annotators, or you have done them.")
        return redirect("inference:annotation-queue", slug=project.slug)
    return redirect("note-detail", slug=project.slug, note_id=assignment.note_id)
