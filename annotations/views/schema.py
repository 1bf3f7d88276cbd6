"""The schema page: every entity, event, relation and attribute type with its hierarchy, argument rules,
display name, colour and use; for project admins a form per type (display name and colour, swapped into
its row by HTMX), a rename / merge form that shows what it will rewrite before it does, and the
annotation.conf / visual.conf text form with file:line problems and a live preview of the editor toolbar.

Colours reach the page only as CSS rules written by `rendering.colour_css` (names as escaped CSS strings,
colours through `css_colour`): the page's one nonced <style>, and, for what HTMX swaps in later (a row whose
colour changed, the toolbar preview), a stylesheet <link> to this app (`style-src 'self'`), since a <style>
element in a swapped fragment would carry the fragment response's nonce, not the page's, and be blocked.
No colour ever goes into a style attribute.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations.errors import ApplicationError, OrphanedAnnotationsError
from annotations.formats.brat_conf import parse_annotation_conf, parse_visual_conf
from annotations.formats.schema import Schema
from annotations.formats.schema_changes import KINDS, LABEL_MAX
from annotations.models import AnnotationSchema
from annotations.permissions import ROLE_CAPABILITIES, Capability, project_get_for_user
from annotations.services.schema_editing import (
    MAX_CONF_CHARS,
    schema_conf_replace,
    schema_conf_texts,
    schema_type_rename,
    schema_type_rename_plan,
    schema_type_style_set,
    schema_type_usage,
)
from annotations.services.schemas import project_schema_get

from .rendering import colour_css, type_colours

PREVIEW_CSS_TTL_S = 600
_KIND_TITLES = {"entity": "Entity types", "event": "Event types", "relation": "Relation types",
                "attribute": "Attribute types"}


@dataclass
class TypeRow:
    """One type as its row shows it."""

    kind: str
    name: str
    label: str | None = None
    colour: str | None = None
    depth: int = 0
    annotatable: bool = True
    rules: list[str] = field(default_factory=list)  # argument lines, roles, targets and values
    annotations: int = 0
    notes: int = 0
    swatch: bool = False  # coloured by the page's stylesheet (types of text, and types with a colour)

    @property
    def used(self) -> str:
        return f"{self.annotations:,} in {self.notes:,} note{'s' if self.notes != 1 else ''}"


def _tree(items) -> list[tuple[object, int]]:
    """Entity or event types in hierarchy order with their depth (children after their parent)."""
    names = {i.name for i in items}
    children: dict[str | None, list] = {}
    for item in items:
        children.setdefault(item.parent if item.parent in names else None, []).append(item)
    out: list[tuple[object, int]] = []
    seen: set[str] = set()

    def walk(parent, depth):
        for item in children.get(parent, []):
            if item.name not in seen:
                seen.add(item.name)
                out.append((item, depth))
                walk(item.name, depth + 1)

    walk(None, 0)
    return out


def _rows(schema: Schema, usage: dict, kind: str) -> list[TypeRow]:
    text_types = set(schema.text_types())

    def row(name, **kwargs) -> TypeRow:
        style = schema.visual.get(name)
        used = usage.get((kind, name), (0, 0))
        return TypeRow(kind=kind, name=name, label=style.label if style else None, colour=style.colour if style else None,
                       annotations=used[0], notes=used[1],
                       swatch=name in text_types or bool(style and style.colour), **kwargs)

    if kind in ("entity", "event"):
        items = schema.entity_types if kind == "entity" else schema.event_types
        rows = []
        for item, depth in _tree(items):
            rules = []
            if kind == "event":
                rules = [f"{r.name}{r.cardinality}: {' | '.join(r.types)}" for r in item.roles]
            rows.append(row(item.name, depth=min(depth, 6), annotatable=item.annotatable, rules=rules))
        return rows
    if kind == "relation":
        lines: dict[str, list[str]] = {}
        for r in schema.relation_types:
            if r.name == "<OVERLAP>":
                continue
            text = f"{r.arg1_role}: {' | '.join(r.arg1_types)} → {r.arg2_role}: {' | '.join(r.arg2_types)}"
            lines.setdefault(r.name, []).append(text + (" (symmetric)" if r.symmetric else ""))
        return [row(name, rules=rules) for name, rules in lines.items()]
    return [
        row(a.name, rules=[f"on {' | '.join(a.targets)}", f"values {' | '.join(a.values)}" if a.values else "yes / no"])
        for a in schema.attribute_types
    ]


def _colours(schema: Schema | None) -> dict[str, str]:
    """A colour for every type of text exactly as the editor gives it (`rendering.type_colours`), and the
    given colour of any other type."""
    if schema is None:
        return {}
    given = {name: style.colour for name, style in schema.visual.items() if style.colour}
    colours = type_colours(schema.text_types(), given)
    return {**colours, **{name: colour for name, colour in given.items() if name not in colours}}


def toolbar_types(schema: Schema | None) -> list[dict]:
    """The editor toolbar's buttons for `schema` (as `views.editor._entity_types`): every type of text with
    its display name, the first nine with a number key."""
    if schema is None:
        return []
    return [
        {"key": i if i <= 9 else None, "name": name, "label": schema.display_name(name)}
        for i, name in enumerate(schema.text_types(), start=1)
    ]


def _project(request: HttpRequest, slug: str, capability: Capability):
    project, role = project_get_for_user(user=request.user, slug=slug, capability=capability)
    return project, role, Capability.MANAGE in ROLE_CAPABILITIES[role]


def _row_for(project, kind: str, name: str) -> TypeRow | None:
    schema = project_schema_get(project=project)
    if schema is None or kind not in KINDS:
        return None
    usage = schema_type_usage(project=project)
    return next((r for r in _rows(schema, usage, kind) if r.name == name), None)


# --- the page ------------------------------------------------------------------------------------------


@login_required
@require_GET
def schema_page(request: HttpRequest, slug: str) -> HttpResponse:
    project, role, can_manage = _project(request, slug, Capability.VIEW)
    stored = AnnotationSchema.objects.filter(project=project).first()
    schema = project_schema_get(project=project)
    usage = schema_type_usage(project=project) if schema is not None else {}
    sections = [
        {"kind": kind, "title": _KIND_TITLES[kind], "rows": _rows(schema, usage, kind)} for kind in KINDS
    ] if schema is not None else []
    return render(request, "annotations/schema.html", {
        "project": project, "role": role, "can_manage": can_manage, "stored": stored, "schema": schema,
        "sections": sections, "label_max": LABEL_MAX,
        "colour_css": mark_safe(colour_css(_colours(schema))),  # noqa: S308 - escaped in rendering
    })


@login_required
@require_POST
def schema_style(request: HttpRequest, slug: str) -> HttpResponse:
    """Set one type's display name and colour; an HTMX request gets its row back (with the error, if any)."""
    project, role, can_manage = _project(request, slug, Capability.MANAGE)
    kind, name = request.POST.get("kind", ""), request.POST.get("name", "")
    label, colour = request.POST.get("label", ""), request.POST.get("colour", "")
    error = None
    try:
        schema_type_style_set(project=project, by=request.user, name=name, label=label, colour=colour)
    except ApplicationError as exc:
        error = exc.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"{name}: display name and colour saved.")
        return redirect("project-schema", slug=slug)
    row = _row_for(project, kind, name)
    if row is None:
        raise Http404("No such type.")
    stored = AnnotationSchema.objects.get(project=project)
    return render(request, "annotations/schema.html#type-row", {
        "project": project, "can_manage": can_manage, "row": row, "label_max": LABEL_MAX, "style_error": error,
        "entered": {"label": label, "colour": colour} if error else None,
        # The page's <style> has the old colours: a stylesheet of the stored ones, loaded after it, wins.
        "colours_url": f"{reverse('project-schema-colours', args=[slug])}?v={int(stored.updated_at.timestamp() * 1e6)}",
        "saved": error is None,
    })


@login_required
@require_GET
def schema_colours_css(request: HttpRequest, slug: str) -> HttpResponse:
    """The project's type colours as a stylesheet (what a swapped row links to)."""
    project, _, _ = _project(request, slug, Capability.VIEW)
    return HttpResponse(colour_css(_colours(project_schema_get(project=project))), content_type="text/css")


@login_required
@require_POST
def schema_rename(request: HttpRequest, slug: str) -> HttpResponse:
    """Rename or merge a type: first what it will rewrite and a Confirm button; with `confirm`, do it."""
    project, role, can_manage = _project(request, slug, Capability.MANAGE)
    kind, old, new = (request.POST.get(k, "").strip() for k in ("kind", "old", "new"))
    context = {"project": project, "kind": kind, "old": old, "new": new}
    if request.POST.get("confirm") == "1":
        try:
            result = schema_type_rename(project=project, by=request.user, kind=kind, old=old, new=new)
        except OrphanedAnnotationsError as exc:
            context.update(error=exc.message, orphans=exc.orphans)
        except ApplicationError as exc:
            context.update(error=exc.message)
        else:
            verb = "merged into" if result.merge else "renamed to"
            messages.success(request, f"{old} {verb} {new}: {result.describe()} rewritten.")
            url = reverse("project-schema", args=[slug])
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    else:
        try:
            context["plan"] = schema_type_rename_plan(project=project, kind=kind, old=old, new=new)
        except ApplicationError as exc:
            context.update(error=exc.message)
    if request.htmx:
        return render(request, "annotations/schema.html#rename-result", context)
    return render(request, "annotations/schema_rename.html", context, status=400 if "error" in context else 200)


# --- the conf texts ------------------------------------------------------------------------------------


def _problems_of(annotation_conf: str, visual_conf: str) -> tuple[Schema, list]:
    schema, problems = parse_annotation_conf(annotation_conf, "annotation.conf")
    visual, visual_problems = parse_visual_conf(visual_conf, "visual.conf")
    return Schema(schema.entity_types, schema.relation_types, schema.event_types, schema.attribute_types,
                  visual), problems + visual_problems


@login_required
@require_http_methods(["GET", "POST"])
def schema_conf(request: HttpRequest, slug: str) -> HttpResponse:
    """The annotation.conf / visual.conf form: saving shows every file:line problem, or the annotations a
    change would orphan (with counts), and writes nothing then."""
    project, role, can_manage = _project(request, slug, Capability.MANAGE)
    current, annotation_conf, visual_conf = schema_conf_texts(project=project)
    context: dict = {"project": project, "role": role}
    if request.method == "POST":
        annotation_conf = request.POST.get("annotation_conf", "").replace("\r\n", "\n")
        visual_conf = request.POST.get("visual_conf", "").replace("\r\n", "\n")
        try:
            schema_conf_replace(project=project, by=request.user, annotation_conf=annotation_conf,
                                visual_conf=visual_conf)
        except OrphanedAnnotationsError as exc:
            context.update(error=exc.message, orphans=exc.orphans)
        except ApplicationError as exc:
            context.update(error=exc.message, problems=exc.details if exc.code == "schema_invalid" else None)
        else:
            messages.success(request, "Schema saved.")
            return redirect("project-schema", slug=slug)
    preview, problems = _problems_of(annotation_conf, visual_conf)
    context.update(
        annotation_conf=annotation_conf, visual_conf=visual_conf, max_chars=MAX_CONF_CHARS,
        preview_types=toolbar_types(preview),
        preview_problems=[{"file": p.file, "line": p.line, "message": p.message} for p in problems],
        colour_css=mark_safe(colour_css(_colours(preview))),  # noqa: S308 - escaped in rendering
    )
    status = 200 if "error" not in context else (409 if context.get("orphans") else 400)
    return render(request, "annotations/schema_conf.html", context, status=status)


@login_required
@require_POST
def schema_conf_preview(request: HttpRequest, slug: str) -> HttpResponse:
    """The toolbar as the editor would show it for the texts being typed, with their problems (HTMX)."""
    project, _, _ = _project(request, slug, Capability.MANAGE)
    annotation_conf = request.POST.get("annotation_conf", "")[:MAX_CONF_CHARS].replace("\r\n", "\n")
    visual_conf = request.POST.get("visual_conf", "")[:MAX_CONF_CHARS].replace("\r\n", "\n")
    preview, problems = _problems_of(annotation_conf, visual_conf)
    css = colour_css(_colours(preview))
    token = hashlib.sha256(css.encode("utf-8")).hexdigest()[:32]
    cache.set(f"schema-preview:{project.pk}:{token}", css, PREVIEW_CSS_TTL_S)
    return render(request, "annotations/schema_conf.html#conf-preview", {
        "project": project, "preview_types": toolbar_types(preview),
        "preview_problems": [{"file": p.file, "line": p.line, "message": p.message} for p in problems],
        "preview_css_url": reverse("project-schema-preview-css", args=[slug, token]),
    })


@login_required
@require_GET
def schema_preview_css(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """The colours of a toolbar preview (kept for PREVIEW_CSS_TTL_S in the cache by `schema_conf_preview`)."""
    project, _, _ = _project(request, slug, Capability.MANAGE)
    css = cache.get(f"schema-preview:{project.pk}:{token[:64]}")
    if css is None:
        raise Http404("This preview has expired.")
    return HttpResponse(css, content_type="text/css")
