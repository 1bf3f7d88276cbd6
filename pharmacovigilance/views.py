"""Case pages: open a case from a confirmed note, the case page (patient, drugs, reactions with a MedDRA look-up,
seriousness, outcome, de/rechallenge, narrative, evidence links into the editor, causality per suspect drug x
reaction with the WHO-UMC criteria and the Naranjo questionnaire scored live, state buttons), and the line
listing with its filters and CSV / XLSX downloads.

Thin: each view checks the role (pharmacovigilance.permissions), calls one service or selector, and answers a
page, an HTMX fragment, or a redirect back to the case (POST/redirect/GET). Every response showing a case is a
PHI read (audited); every change is audited by its service. Anything carrying clinical words is POSTed: the
line listing's drug and reaction filters travel as a session token, never in the address.
"""

from __future__ import annotations

import csv
import io
import secrets
import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import selectors as note_selectors
from annotations.audit.models import AuditAction
from annotations.audit.services import audit_phi_read, audit_record
from annotations.errors import ApplicationError
from annotations.permissions import Capability, project_get_for_user
from pharmacovigilance import selectors, services
from pharmacovigilance.core.causality import (
    NARANJO_QUESTIONS,
    WHO_UMC_CRITERIA,
    WHO_UMC_LABELS,
    Answer,
    CausalityError,
    naranjo_assess,
    questions_with_answers,
)
from pharmacovigilance.core.line_listing import (
    COLUMNS,
    SERIOUSNESS_LABELS,
    line_listing_row,
    line_listing_rows,
)
from pharmacovigilance.core.report import CaseState, Seriousness, WhoUmcCategory
from pharmacovigilance.models import (
    ACTION_CHOICES,
    CHALLENGE_CHOICES,
    OUTCOME_CHOICES,
    QUALIFICATION_CHOICES,
    ROLE_CHOICES,
    SEX_CHOICES,
    Case,
)
from pharmacovigilance.permissions import case_change_refusal, case_export_refusal, case_read_refusal

CASES_PER_PAGE = 50
PRIVATE_FILTERS = ("drug", "reaction")  # clinical words: kept in the session, named by a token
SEARCH_TOKEN = "search"
SEARCH_TOKEN_TTL_S = 3600
SEARCH_TOKENS_KEPT = 20
PUBLIC_FILTERS = ("seriousness", "who_umc", "naranjo", "date_from", "date_to", "dates", "state")


def _project(request: HttpRequest, slug: str, *, change: bool = False):
    """The project and role, for a member who may read (or, with `change`, change) its cases; 404 for
    non-members, 403 for annotators (and for changes in an archived project)."""
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    refusal = (case_change_refusal if change else case_read_refusal)(user=request.user, project=project, role=role)
    if refusal is not None:
        raise PermissionDenied(refusal.message)
    return project, role


def _case(request: HttpRequest, slug: str, case_id: int, *, change: bool = False):
    project, role = _project(request, slug, change=change)
    try:
        case = selectors.case_get_for_user(user=request.user, project=project, case_id=case_id, role=role)
    except ApplicationError as error:
        raise Http404(error.message) from None
    return project, role, case


def _number(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def _back(case: Case, anchor: str = "") -> HttpResponse:
    return redirect(reverse("case-detail", args=[case.project.slug, case.pk]) + (f"#{anchor}" if anchor else ""))


def _url_or_empty(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:  # the terminology app's look-up is not installed: plain code fields
        return ""


def _terminology_loaded(system: str) -> bool:
    try:
        from pharmacovigilance.terminology.selectors import terminology_current
    except ImportError:
        return False
    return terminology_current(system=system) is not None


# --- opening a case --------------------------------------------------------------------------------------


@login_required
@require_POST
def case_open(request: HttpRequest, slug: str, note_id: int) -> HttpResponse:
    """"Open case" on a confirmed note: the note's case, opened now (pre-filled) or already open."""
    project, _ = _project(request, slug, change=True)
    note = note_selectors.note_get(project=project, note_id=note_id)
    try:
        opened = services.case_open_from_note(note=note, by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("note-detail", slug=slug, note_id=note_id)
    if opened.created:
        messages.success(request, f"Case {opened.case.reference} opened from {note.external_id}: check what was "
                                  "pre-filled against the evidence.")
    return _back(opened.case)


# --- the case page ----------------------------------------------------------------------------------------


def _editor_url(slug: str, ev) -> str:
    url = reverse("note-detail", args=[slug, ev.note_id])
    query = f"?set={ev.annotation_set_id}" if ev.annotation_set_id else ""
    return f"{url}{query}#{ev.annotation_local_id}" if ev.annotation_local_id else f"{url}{query}"


def _page_context(request: HttpRequest, project, role, case: Case, page: selectors.CasePage) -> dict:
    for evs in (*page.evidence_by_drug.values(), *page.evidence_by_reaction.values(),
                *(p.relation_evidence for p in page.pairs)):
        for ev in evs:
            ev.url = _editor_url(project.slug, ev)
    note_ids = {n.external_id: n.pk for n in page.notes}

    def suggestion(s) -> dict | None:
        if s is None:
            return None
        links = [{"quote": e.text, "note": e.note_external_id,
                  "url": reverse("note-detail", args=[project.slug, note_ids[e.note_external_id]])
                  if e.note_external_id in note_ids else ""} for e in s.evidence]
        return {"answer": s.answer, "reason": s.reason, "links": links}

    for pair in page.pairs:
        pair.who_view = suggestion(pair.who_umc_suggestion)
        pair.rows = [{**row, "suggestion": suggestion(row["suggestion"])}
                     for row in questions_with_answers(pair.answers, pair.suggestions)]
        # Answers nobody saved yet are the notes' suggestions: the score says so.
        pair.unsaved = pair.causality is None or not pair.causality.naranjo_answers
    for d in page.drugs:
        d.evidence_views = page.evidence_by_drug.get(d.pk, [])
    for r in page.reactions:
        r.evidence_views = page.evidence_by_reaction.get(r.pk, [])
    editable = case.state == CaseState.DRAFT and case_change_refusal(user=request.user, project=project,
                                                                     role=role) is None
    return {
        "project": project, "role": role, "case": case, "page": page, "editable": editable,
        "can_change": case_change_refusal(user=request.user, project=project, role=role) is None,
        "can_export": case_export_refusal(user=request.user, project=project, role=role) is None,
        "seriousness": [(s.value, SERIOUSNESS_LABELS[s], s in case.seriousness) for s in Seriousness],
        "sex_choices": SEX_CHOICES, "qualification_choices": QUALIFICATION_CHOICES, "role_choices": ROLE_CHOICES,
        "action_choices": ACTION_CHOICES, "challenge_choices": CHALLENGE_CHOICES, "outcome_choices": OUTCOME_CHOICES,
        "who_umc": [(c.value, WHO_UMC_LABELS[c], WHO_UMC_CRITERIA[c]) for c in WhoUmcCategory],
        "answers": [(a.value, a.label) for a in Answer],
        "questions": NARANJO_QUESTIONS,
        "gaps": services.case_assessment_gaps(case) if case.state == CaseState.DRAFT else [],
        "addable_notes": list(selectors.case_notes_addable(case=case)[:200]) if editable else [],
        "lookup_url": _url_or_empty("terminology-lookup"),
        "meddra_loaded": _terminology_loaded("meddra"), "atc_loaded": _terminology_loaded("atc"),
    }


@login_required
@require_GET
def case_detail(request: HttpRequest, slug: str, case_id: int) -> HttpResponse:
    project, role, case = _case(request, slug, case_id)
    page = selectors.case_page(case=case)
    audit_phi_read(view="case", notes=[n.pk for n in page.notes], request=request, project=project,
                   details={"case": case.pk, "version": case.version})
    return render(request, "pharmacovigilance/case.html", _page_context(request, project, role, case, page))


def _version(request: HttpRequest) -> int | None:
    return _number(request.POST.get("version"))


def _run(request: HttpRequest, case: Case, call, *, anchor: str = "", done: str = "Saved.") -> HttpResponse:
    """Call a service; a refusal is a message on the case page, nothing written."""
    try:
        call()
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return _back(case, anchor)


@login_required
@require_POST
def case_edit(request: HttpRequest, slug: str, case_id: int) -> HttpResponse:
    """The case's own fields: onset, patient sex and age, seriousness, reporter, narrative."""
    _, _, case = _case(request, slug, case_id, change=True)
    post = request.POST
    changes = {name: post.get(name, "") for name in ("onset", "reporter", "reporter_qualification", "narrative",
                                                     "patient_sex", "patient_age_years") if name in post}
    changes["seriousness"] = post.getlist("seriousness")
    return _run(request, case, lambda: services.case_update(case=case, by=request.user, version=_version(request),
                                                            **changes), anchor="case-fields")


def _fields(post, names) -> dict:
    return {name: post.get(name, "") for name in names if name in post}


@login_required
@require_POST
def case_drug_add(request: HttpRequest, slug: str, case_id: int) -> HttpResponse:
    _, _, case = _case(request, slug, case_id, change=True)
    fields = _fields(request.POST, services.DRUG_FIELDS)
    return _run(request, case, lambda: services.case_drug_add(case=case, by=request.user, version=_version(request),
                                                              **fields), anchor="drugs", done="Drug added.")


@login_required
@require_POST
def case_drug_update(request: HttpRequest, slug: str, case_id: int, drug_id: int) -> HttpResponse:
    _, _, case = _case(request, slug, case_id, change=True)
    fields = _fields(request.POST, services.DRUG_FIELDS)
    return _run(request, case, lambda: services.case_drug_update(
        case=case, drug_id=drug_id, by=request.user, version=_version(request), **fields), anchor=f"drug-{drug_id}")


@login_required
@require_POST
def case_drug_remove(request: HttpRequest, slug: str, case_id: int, drug_id: int) -> HttpResponse:
    _, _, case = _case(request, slug, case_id, change=True)
    return _run(request, case, lambda: services.case_drug_remove(case=case, drug_id=drug_id, by=request.user,
                                                                 version=_version(request)),
                anchor="drugs", done="Drug removed.")


@login_required
@require_POST
def case_reaction_add(request: HttpRequest, slug: str, case_id: int) -> HttpResponse:
    _, _, case = _case(request, slug, case_id, change=True)
    fields = _fields(request.POST, services.REACTION_FIELDS)
    return _run(request, case, lambda: services.case_reaction_add(
        case=case, by=request.user, version=_version(request), **fields), anchor="reactions", done="Reaction added.")


@login_required
@require_POST
def case_reaction_update(request: HttpRequest, slug: str, case_id: int, reaction_id: int) -> HttpResponse:
    _, _, case = _case(request, slug, case_id, change=True)
    fields = _fields(request.POST, services.REACTION_FIELDS)
    return _run(request, case, lambda: services.case_reaction_update(
        case=case, reaction_id=reaction_id, by=request.user, version=_version(request), **fields),
        anchor=f"reaction-{reaction_id}")


@login_required
@require_POST
def case_reaction_remove(request: HttpRequest, slug: str, case_id: int, reaction_id: int) -> HttpResponse:
    _, _, case = _case(request, slug, case_id, change=True)
    return _run(request, case, lambda: services.case_reaction_remove(
        case=case, reaction_id=reaction_id, by=request.user, version=_version(request)),
        anchor="reactions", done="Reaction removed.")


@login_required
@require_POST
def case_note_add(request: HttpRequest, slug: str, case_id: int) -> HttpResponse:
    project, _, case = _case(request, slug, case_id, change=True)
    note_id = _number(request.POST.get("note"))
    if note_id is None:
        messages.error(request, "Choose a note of this patient.")
        return _back(case, "notes")
    note = note_selectors.note_get(project=project, note_id=note_id)
    return _run(request, case, lambda: services.case_note_add(case=case, note=note, by=request.user,
                                                              version=_version(request)),
                anchor="notes", done=f"{note.external_id} added to the case.")


def _answers(post) -> dict[str, str]:
    return {str(q.number): post.get(f"q{q.number}", "") for q in NARANJO_QUESTIONS}


@login_required
@require_POST
def case_causality(request: HttpRequest, slug: str, case_id: int, drug_id: int, reaction_id: int) -> HttpResponse:
    """Save the assessment of one suspect drug x reaction (WHO-UMC category and Naranjo answers)."""
    _, _, case = _case(request, slug, case_id, change=True)
    answers = _answers(request.POST)
    return _run(request, case, lambda: services.case_causality_assess(
        case=case, drug_id=drug_id, reaction_id=reaction_id, by=request.user, version=_version(request),
        who_umc=request.POST.get("who_umc", ""), naranjo_answers=answers),
        anchor=f"pair-{drug_id}-{reaction_id}", done="Causality assessment saved.")


@login_required
@require_POST
def case_causality_score(request: HttpRequest, slug: str, case_id: int, drug_id: int, reaction_id: int) -> HttpResponse:
    """The Naranjo score and category of the answers as they stand in the form (HTMX, on every change):
    scores them, writes nothing, shows no note text."""
    project, role, case = _case(request, slug, case_id)
    if not case.drugs.filter(pk=drug_id).exists() or not case.reactions.filter(pk=reaction_id).exists():
        raise Http404("No such drug or reaction in this case.")
    try:
        result = naranjo_assess(_answers(request.POST))
    except CausalityError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    return render(request, "pharmacovigilance/case.html#naranjo-score", {
        "pair_id": f"{drug_id}-{reaction_id}", "result": result, "unsaved": True})


@login_required
@require_POST
def case_transition(request: HttpRequest, slug: str, case_id: int) -> HttpResponse:
    _, _, case = _case(request, slug, case_id, change=True)
    to = request.POST.get("to", "")
    done = {"assessed": "The case is assessed.", "reported": "The case is marked reported.",
            "draft": "The case is a draft again: change it, then assess it again."}.get(to, "Done.")
    return _run(request, case, lambda: services.case_transition(case=case, by=request.user, version=_version(request),
                                                                to=to), anchor="state", done=done)


# --- the line listing ------------------------------------------------------------------------------------


def _search_token_save(request: HttpRequest, private: dict[str, str]) -> str:
    now = time.time()
    kept = {t: v for t, v in request.session.get("case_searches", {}).items() if now - v["at"] < SEARCH_TOKEN_TTL_S}
    token = secrets.token_urlsafe(12)
    kept[token] = {"at": now, **private}
    request.session["case_searches"] = dict(sorted(kept.items(), key=lambda kv: kv[1]["at"])[-SEARCH_TOKENS_KEPT:])
    return token


def _search_token_load(request: HttpRequest, token: str) -> dict[str, str]:
    saved = request.session.get("case_searches", {}).get(token) if token else None
    if not saved or time.time() - saved["at"] >= SEARCH_TOKEN_TTL_S:
        return {}
    return {k: saved.get(k, "") for k in PRIVATE_FILTERS}


def _listing_query(request: HttpRequest, source: QueryDict) -> str:
    """The listing's query string for these filters: public ones as they are, private ones as a token."""
    public = QueryDict(mutable=True)
    for key in PUBLIC_FILTERS:
        value = source.get(key, "").strip()
        if value:
            public[key] = value[:100]
    private = {k: source.get(k, "").strip()[:200] for k in PRIVATE_FILTERS}
    if any(private.values()):
        public[SEARCH_TOKEN] = _search_token_save(request, private)
    return public.urlencode()


def _filters(request: HttpRequest, params: QueryDict) -> tuple[selectors.CaseFilters, dict[str, str]]:
    """The filters a listing address names (its public parameters and its token's private ones)."""
    values = {k: params.get(k, "") for k in PUBLIC_FILTERS}
    values.update(_search_token_load(request, params.get(SEARCH_TOKEN, "")))
    return selectors.case_filters_clean(values), values


@login_required
@require_http_methods(["GET", "POST"])
def case_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The line listing: the project's cases, filtered. The filter form POSTs (drug and reaction are clinical
    words): a plain post is redirected to the listing's address (private filters as a token), an HTMX post gets
    the results fragment with that address pushed."""
    project, role = _project(request, slug)
    url = None
    if request.method == "POST":
        if any("\x00" in v for values in request.POST.lists() for v in values[1]):
            return HttpResponse("Filters may not contain NUL characters.", status=400, content_type="text/plain")
        query = _listing_query(request, request.POST)
        url = reverse("case-list", args=[slug]) + (f"?{query}" if query else "")
        if not request.htmx:
            return redirect(url)  # POST/redirect/GET: reload and back never resend the form
        params = QueryDict(query)
    else:
        params = request.GET
    try:
        filters, values = _filters(request, params)
    except ApplicationError as error:
        messages.error(request, error.message)
        filters, values = selectors.CaseFilters(), {}
    cases = selectors.case_list_for_user(user=request.user, project=project, role=role, filters=filters)
    page = Paginator(cases, CASES_PER_PAGE).get_page(params.get("page"))
    rows = [(case, line_listing_row(selectors.case_report(case))) for case in page.object_list]
    audit_phi_read(view="case_list", notes=[n.pk for case in page.object_list for n in case.notes.all()],
                   request=request, project=project, details={"cases": [c.pk for c in page.object_list]})
    query = params.copy()
    query.pop("page", None)
    context = {
        "project": project, "role": role, "page": page, "rows": rows, "filters": values, "query": query.urlencode(),
        "columns": COLUMNS, "can_export": case_export_refusal(user=request.user, project=project, role=role) is None,
        "seriousness_choices": [("serious", "Serious (any criterion)"), ("non_serious", "Not serious"),
                                *((s.value, SERIOUSNESS_LABELS[s]) for s in Seriousness)],
        "who_umc_choices": [(c.value, WHO_UMC_LABELS[c]) for c in WhoUmcCategory],
        "naranjo_choices": [(c, c.capitalize()) for c in selectors.NARANJO_FILTERS],
        "state_choices": [(s.value, s.value.capitalize()) for s in CaseState],
        "date_choices": [("onset", "Onset"), ("created", "Opened"), ("assessed", "Assessed"), ("reported", "Reported")],
    }
    if request.htmx:
        response = render(request, "pharmacovigilance/case_list.html#results", context)
        if url:
            response["HX-Push-Url"] = url
        return response
    return render(request, "pharmacovigilance/case_list.html", context)


def _download_cases(request: HttpRequest, slug: str, fmt: str):
    project, role = _project(request, slug)
    case_check_export = case_export_refusal(user=request.user, project=project, role=role)
    if case_check_export is not None:
        raise PermissionDenied(case_check_export.message)
    try:
        filters, _ = _filters(request, request.GET)
    except ApplicationError as error:
        return project, None, HttpResponse(error.message, status=400, content_type="text/plain")
    cases = selectors.case_list_for_user(user=request.user, project=project, role=role, filters=filters)
    ids = list(cases.values_list("pk", flat=True))
    reports = selectors.case_reports(cases.order_by("-created_at", "-pk"), with_evidence=False)
    audit_record(action=AuditAction.DOWNLOAD, request=request, project=project, object_type="case_line_listing",
                 details={"format": fmt, "cases": ids[:1000], "count": len(ids),
                          "filters": sorted(k for k, v in filters.__dict__.items() if v and k != "dates")})
    return project, line_listing_rows(reports), None


@login_required
@require_GET
def case_list_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """The line listing as CSV (project admins; the listing's filters); cells a spreadsheet would read as a
    formula are quoted (csv_safe)."""
    from annotations.audit.csv_export import csv_safe

    project, rows, error = _download_cases(request, slug, "csv")
    if error is not None:
        return error
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-cases.csv"'
    return response


@login_required
@require_GET
def case_list_xlsx(request: HttpRequest, slug: str) -> HttpResponse:
    """The line listing as an Excel workbook (project admins; the listing's filters). Every cell is written as
    text, formula-like ones quoted as in the CSV."""
    from openpyxl import Workbook

    from annotations.audit.csv_export import csv_safe

    project, rows, error = _download_cases(request, slug, "xlsx")
    if error is not None:
        return error
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Cases")
    for row in rows:
        # openpyxl stores a string starting with "=" as a formula: csv_safe's quote keeps it text.
        sheet.append([csv_safe(cell) for cell in row])
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(out.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-cases.xlsx"'
    return response

