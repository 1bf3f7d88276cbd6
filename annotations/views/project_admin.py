"""Project administration pages: new project, settings (archive, delete) and members. Thin: forms check
shapes, `annotations.services.projects` / `.members` keep the rules and audit, `annotations.permissions`
says who may."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from annotations import selectors
from annotations.errors import ApplicationError
from annotations.models import ProjectRole
from annotations.permissions import (
    ROLE_CAPABILITIES,
    Capability,
    project_get_for_user,
    user_may_create_project,
)
from annotations.services import members as member_services
from annotations.services import projects as project_services
from annotations.services.schema_templates import schema_templates
from annotations.services.schemas import project_schema_get

MAX_CONF_BYTES = 256 * 1024
PAGE = 50


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=project_services.MAX_NAME)
    slug = forms.CharField(label="Short name", max_length=project_services.MAX_SLUG, required=False,
                           help_text="Used in addresses; made from the name when empty")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  max_length=project_services.MAX_DESCRIPTION)
    language = forms.CharField(max_length=35, initial="en", help_text="The notes' language: en, zh, pt-BR ...")
    ade_threshold = forms.FloatField(label="ADE decision threshold", min_value=0, max_value=1, initial=0.5)
    schema_source = forms.ChoiceField(
        label="Schema",
        widget=forms.RadioSelect,
        initial="corpus",
        choices=[
            ("corpus", "Infer it from the corpus I upload next (entity, relation, event and attribute types)"),
            ("template", "A built-in template"),
            ("conf", "Upload annotation.conf (and visual.conf)"),
            ("copy", "Copy another project's schema"),
        ],
    )
    template = forms.ChoiceField(required=False)
    copy_from = forms.ChoiceField(required=False, label="Project to copy")
    annotation_conf = forms.FileField(required=False)
    visual_conf = forms.FileField(required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [(t.key, t.label) for t in schema_templates()]
        self.fields["copy_from"].choices = [("", "—")] + [
            (p.slug, p.name) for p in selectors.project_list_for_user(user=user).only("slug", "name")[:500]
        ]

    @staticmethod
    def _text(upload, label: str) -> str:
        if upload is None:
            return ""
        if upload.size > MAX_CONF_BYTES:
            raise forms.ValidationError(f"{label} is limited to {MAX_CONF_BYTES // 1024} KiB.")
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError(f"{label} is not UTF-8 text.") from None

    def clean(self):
        data = super().clean()
        source = data.get("schema_source")
        if source == "conf":
            data["annotation_conf_text"] = self._text(data.get("annotation_conf"), "annotation.conf")
            data["visual_conf_text"] = self._text(data.get("visual_conf"), "visual.conf")
            if not data["annotation_conf_text"].strip():
                self.add_error("annotation_conf", "Choose the annotation.conf file.")
        if source == "copy" and not data.get("copy_from"):
            self.add_error("copy_from", "Choose the project whose schema to copy.")
        if source == "template" and not data.get("template"):
            self.add_error("template", "Choose a template.")
        return data


def _jobs_import_url(slug: str) -> str:
    try:
        return reverse("inference:job-list", kwargs={"slug": slug}) + "?kind=import#job-start"
    except NoReverseMatch:
        return reverse("project-dashboard", args=[slug])


@login_required
@require_http_methods(["GET", "POST"])
def project_new(request: HttpRequest) -> HttpResponse:
    if not user_may_create_project(request.user):
        raise PermissionDenied("Only site staff, or people a site administrator allowed, may create projects.")
    form = ProjectForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        source = d["schema_source"]
        copy_from = None
        if source == "copy":
            copy_from, _ = project_get_for_user(user=request.user, slug=d["copy_from"])  # a member's read only
        try:
            project = project_services.project_create(
                by=request.user, name=d["name"], slug=d["slug"], description=d["description"],
                language=d["language"], ade_threshold=d["ade_threshold"],
                template=d["template"] if source == "template" else "",
                copy_from=copy_from,
                annotation_conf=d.get("annotation_conf_text", "") if source == "conf" else "",
                visual_conf=d.get("visual_conf_text", "") if source == "conf" else "",
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            for problem in (exc.details or {}).get("problems", [])[:20] if isinstance(exc.details, dict) else []:
                form.add_error(None, problem)
        else:
            messages.success(request, f"Project {project.name} created; you are its admin.")
            if source == "corpus":
                messages.info(request, "Now upload the corpus: its schema is inferred from it.")
                return redirect(_jobs_import_url(project.slug))
            return redirect("project-dashboard", slug=project.slug)
    return render(request, "annotations/project_new.html", {"form": form, "templates": schema_templates()})


class SettingsForm(forms.Form):
    name = forms.CharField(max_length=project_services.MAX_NAME)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  max_length=project_services.MAX_DESCRIPTION)
    language = forms.CharField(max_length=35)
    ade_threshold = forms.FloatField(label="ADE decision threshold", min_value=0, max_value=1)
    ade_evidence_relation_types = forms.MultipleChoiceField(
        label="Relation types that count as ADE evidence", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: the schema's ADE relation types (Adverse-Effect, ADE)",
    )

    def __init__(self, *args, relation_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ade_evidence_relation_types"].choices = [(n, n) for n in relation_types]


@login_required
@require_http_methods(["GET", "POST"])
def project_settings(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE, archived_ok=True)
    schema = project_schema_get(project=project)
    relation_types = sorted({r.name for r in schema.relation_types if not r.name.startswith("<")}) if schema else []
    initial = {f: getattr(project, f) for f in ("name", "description", "language", "ade_threshold",
                                                 "ade_evidence_relation_types")}
    form = SettingsForm(request.POST or None, initial=initial, relation_types=relation_types)
    if request.method == "POST" and form.is_valid():
        if project.archived_at is not None:
            form.add_error(None, "The project is archived: unarchive it to change its settings.")
        else:
            try:
                project_services.project_update(by=request.user, project=project, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Settings saved.")
                return redirect("project-settings", slug=slug)
    return project_settings_page(request, project, role, form=form)


def project_settings_page(request: HttpRequest, project, role: str, *, form=None, assignment_form=None,
                          status: int = 200) -> HttpResponse:
    """The settings page: its forms as given (bound, with errors) or fresh from the project."""
    from .assignment import assignment_settings_form

    if form is None:
        schema = project_schema_get(project=project)
        relation_types = sorted({r.name for r in schema.relation_types if not r.name.startswith("<")}) if schema else []
        initial = {f: getattr(project, f) for f in ("name", "description", "language", "ade_threshold",
                                                     "ade_evidence_relation_types")}
        form = SettingsForm(initial=initial, relation_types=relation_types)
    context = {
        "project": project, "role": role, "form": form,
        "assignment_form": assignment_form or assignment_settings_form(project),
        "delete_refusal": project_services.project_delete_refusal(project=project),
        "retrain_url": _optional_url("inference:model-page", project.slug),
    }
    return render(request, "annotations/project_settings.html", context, status=status)


def _optional_url(name: str, slug: str) -> str | None:
    try:
        return reverse(name, kwargs={"slug": slug})
    except NoReverseMatch:
        return None


@login_required
@require_POST
def project_archive(request: HttpRequest, slug: str) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE, archived_ok=True)
    archived = request.POST.get("archived") == "1"
    project_services.project_archive(by=request.user, project=project, archived=archived)
    messages.success(request, "Project archived: read-only and left out of the project list." if archived
                     else "Project unarchived.")
    return redirect("project-settings", slug=slug)


@login_required
@require_POST
def project_delete(request: HttpRequest, slug: str) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE, archived_ok=True)
    name = project.name
    try:
        project_services.project_delete(by=request.user, project=project, confirm=request.POST.get("confirm", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("project-settings", slug=slug)
    messages.success(request, f"Project {name} deleted.")
    return redirect("project-list")


# --- members ---------------------------------------------------------------------------------------------


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=ProjectRole.choices, initial=ProjectRole.ANNOTATOR)


def _page(request) -> int:
    value = request.GET.get("page", "1")
    return max(1, min(int(value), 10_000)) if value.isdigit() else 1


@login_required
@require_http_methods(["GET", "POST"])
def project_members(request: HttpRequest, slug: str) -> HttpResponse:
    capability = Capability.MANAGE if request.method == "POST" else Capability.VIEW
    project, role = project_get_for_user(user=request.user, slug=slug, capability=capability)
    can_manage = Capability.MANAGE in ROLE_CAPABILITIES[role] and project.archived_at is None
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = selectors.user_find(username=form.cleaned_data["username"])
        if user is None:
            form.add_error("username", "No such user: a site administrator creates accounts (Users page).")
        else:
            try:
                member_services.member_add(by=request.user, project=project, user=user, role=form.cleaned_data["role"])
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"{user.username} added as {form.cleaned_data['role']}.")
                return redirect("project-members", slug=slug)
    page = _page(request)
    rows, total = selectors.project_members(project=project, offset=(page - 1) * PAGE, limit=PAGE)
    context = {
        "project": project, "role": role, "rows": rows, "total": total, "page": page,
        "has_next": page * PAGE < total, "form": form, "can_manage": can_manage,
        "roles": ProjectRole.choices,
        "candidates": selectors.users_not_in_project(project=project, limit=100) if can_manage else [],
    }
    return render(request, "annotations/project_members.html", context)


@login_required
@require_POST
def project_member(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    """Change a member's role (`role`) or remove them (`remove`); HTMX gets the row (or nothing) back."""
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    user = selectors.user_find(user_id=user_id)
    if user is None:
        raise Http404("No such member.")
    error = None
    try:
        if request.POST.get("remove") == "1":
            member_services.member_remove(by=request.user, project=project, user=user)
            if request.htmx:
                return HttpResponse("")
            messages.success(request, f"{user.username} removed; their work stays in the project.")
        else:
            member_services.member_set_role(by=request.user, project=project, user=user,
                                            role=request.POST.get("role", ""))
    except ApplicationError as exc:
        error = exc.message
        if not request.htmx:
            messages.error(request, exc.message)
    if request.htmx:
        rows, _ = selectors.project_members(project=project, offset=0, limit=1, user_ids=[user.pk])
        if not rows:
            return HttpResponse("")
        return render(request, "annotations/project_members.html#member-row",
                      {"project": project, "r": rows[0], "can_manage": True, "roles": ProjectRole.choices,
                       "row_error": error})
    return redirect("project-members", slug=slug)
