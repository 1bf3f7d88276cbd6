"""The case API, under /api/projects/<slug>/cases/: list (and search, whose drug and reaction words travel in
the body), open from a confirmed note, read, update, drugs, reactions, another note of the patient, causality
and state transitions. One view per operation; the rules, the audit of changes and the version checks are
pharmacovigilance.services'; who may see cases is pharmacovigilance.permissions' (reviewers and admins).

Every change names the case version it was made on (body `version`, `?version=` or If-Match); a stale one is
refused with 409 and the current version in the ETag. Responses carry the case's ETag.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from annotations.api.base import (
    ERRORS,
    IF_MATCH,
    VERSION_QUERY,
    WRITE_ERRORS,
    Pagination,
    ProjectAPIView,
    requested_version,
    validated,
)
from annotations.audit.services import audit_phi_read
from annotations.errors import ApplicationError
from annotations.models import Note
from annotations.permissions import Capability
from pharmacovigilance import selectors, services
from pharmacovigilance.core.causality import Answer
from pharmacovigilance.core.report import Seriousness, WhoUmcCategory
from pharmacovigilance.models import (
    ACTION_CHOICES,
    CHALLENGE_CHOICES,
    OUTCOME_CHOICES,
    QUALIFICATION_CHOICES,
    ROLE_CHOICES,
    SEX_CHOICES,
    STATE_CHOICES,
    Case,
)
from pharmacovigilance.permissions import case_change_refusal, case_read_refusal

# --- serializers -----------------------------------------------------------------------------------------


class EvidenceOutput(serializers.Serializer):
    note = serializers.IntegerField(source="note_id")
    note_external_id = serializers.CharField()
    start = serializers.IntegerField(help_text="Code-point offset into the note's text.")
    end = serializers.IntegerField()
    quote = serializers.CharField(help_text="The note's text between start and end.")
    kind = serializers.CharField(help_text="drug, reaction, dose, route, frequency, duration or relation.")
    annotation_set = serializers.IntegerField(source="annotation_set_id", allow_null=True)
    annotation_local_id = serializers.CharField()


class DrugOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    key = serializers.CharField()
    role = serializers.ChoiceField(choices=ROLE_CHOICES)
    name = serializers.CharField()
    code = serializers.CharField()
    code_system = serializers.CharField()
    code_version = serializers.CharField()
    code_text = serializers.CharField()
    dose = serializers.CharField()
    route = serializers.CharField()
    frequency = serializers.CharField()
    duration = serializers.CharField()
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    action_taken = serializers.ChoiceField(choices=ACTION_CHOICES)
    dechallenge = serializers.ChoiceField(choices=CHALLENGE_CHOICES)
    rechallenge = serializers.ChoiceField(choices=CHALLENGE_CHOICES)


class ReactionOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    key = serializers.CharField()
    term = serializers.CharField()
    code = serializers.CharField(help_text="MedDRA LLT code, when coded.")
    code_system = serializers.CharField()
    code_version = serializers.CharField()
    code_text = serializers.CharField()
    pt_code = serializers.CharField()
    pt_text = serializers.CharField()
    onset = serializers.DateField(allow_null=True)
    outcome = serializers.ChoiceField(choices=OUTCOME_CHOICES)


class CausalityOutput(serializers.Serializer):
    drug = serializers.IntegerField(source="drug_id")
    reaction = serializers.IntegerField(source="reaction_id")
    who_umc = serializers.CharField()
    naranjo_answers = serializers.DictField(child=serializers.CharField())
    naranjo_score = serializers.IntegerField(allow_null=True)
    naranjo_category = serializers.CharField()
    assessed_by = serializers.CharField(source="assessed_by.username")
    assessed_at = serializers.DateTimeField()


class SuggestionOutput(serializers.Serializer):
    question = serializers.IntegerField(allow_null=True, help_text="The Naranjo question; null: a WHO-UMC category.")
    answer = serializers.CharField()
    reason = serializers.CharField()
    evidence = serializers.SerializerMethodField()

    def get_evidence(self, s) -> list[dict]:
        return [{"note_external_id": e.note_external_id, "start": e.start, "end": e.end, "quote": e.text}
                for e in s.evidence]


class PairOutput(serializers.Serializer):
    drug = serializers.IntegerField(source="drug.pk")
    reaction = serializers.IntegerField(source="reaction.pk")
    assessed = serializers.SerializerMethodField()
    suggestions = serializers.SerializerMethodField(help_text="Suggested Naranjo answers read from the notes, by "
                                                    "question: suggestions only, never saved unless sent back.")
    who_umc_suggestion = SuggestionOutput(allow_null=True)

    def get_assessed(self, p) -> bool:
        return p.causality is not None

    def get_suggestions(self, p) -> dict:
        return {str(n): SuggestionOutput(s).data for n, s in sorted(p.suggestions.items())}


class CaseSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    reference = serializers.CharField()
    state = serializers.CharField()
    version = serializers.IntegerField()
    patient_identifier = serializers.CharField(help_text="Pseudonymous: the note's patient id.")
    onset = serializers.DateField(allow_null=True)
    seriousness = serializers.SerializerMethodField()
    drugs = DrugOutput(many=True, source="drugs.all")
    reactions = ReactionOutput(many=True, source="reactions.all")
    causality = CausalityOutput(many=True, source="causality.all")
    notes = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    assessed_by = serializers.CharField(source="assessed_by.username", allow_null=True, default=None)
    assessed_at = serializers.DateTimeField(allow_null=True)
    reported_by = serializers.CharField(source="reported_by.username", allow_null=True, default=None)
    reported_at = serializers.DateTimeField(allow_null=True)

    def get_seriousness(self, case) -> list[str]:
        return sorted(s.value for s in case.seriousness)

    def get_notes(self, case) -> list[dict]:
        return [{"id": n.pk, "external_id": n.external_id} for n in case.notes.all()]


class CaseDetailOutput(CaseSummaryOutput):
    patient_sex = serializers.CharField()
    patient_age_years = serializers.IntegerField(allow_null=True)
    reporter = serializers.CharField()
    reporter_qualification = serializers.CharField()
    narrative = serializers.CharField()
    evidence = serializers.SerializerMethodField()
    pairs = serializers.SerializerMethodField(help_text="Each suspect drug x reaction, with what the notes suggest.")

    def get_evidence(self, case) -> list[dict]:
        page = self.context["page"]
        rows = []
        for d in page.drugs:
            rows += [{"drug": d.pk, "reaction": None, **EvidenceOutput(e).data} for e in page.evidence_by_drug.get(d.pk, [])]
        for r in page.reactions:
            rows += [{"drug": None, "reaction": r.pk, **EvidenceOutput(e).data}
                     for e in page.evidence_by_reaction.get(r.pk, [])]
        for p in page.pairs:
            rows += [{"drug": p.drug.pk, "reaction": p.reaction.pk, **EvidenceOutput(e).data}
                     for e in p.relation_evidence]
        return rows

    def get_pairs(self, case) -> list[dict]:
        return [PairOutput(p).data for p in self.context["page"].pairs]


class ListFilterInput(serializers.Serializer):
    seriousness = serializers.ChoiceField(choices=selectors.SERIOUSNESS_FILTERS, required=False)
    who_umc = serializers.ChoiceField(choices=[c.value for c in WhoUmcCategory], required=False)
    naranjo = serializers.ChoiceField(choices=selectors.NARANJO_FILTERS, required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    dates = serializers.ChoiceField(choices=list(selectors.DATE_FIELDS), required=False,
                                    help_text="Which date date_from/date_to filter on (default onset).")
    state = serializers.ChoiceField(choices=STATE_CHOICES, required=False)


class SearchInput(ListFilterInput):
    drug = serializers.CharField(required=False, max_length=200, help_text="Words of a drug's name, or its code.")
    reaction = serializers.CharField(required=False, max_length=200,
                                     help_text="Words of a reaction's term (or its PT), or its MedDRA code.")


class CaseCreateInput(serializers.Serializer):
    note = serializers.IntegerField(min_value=1, max_value=2**62, help_text="A confirmed note of the project.")


class CaseVersionInput(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text="The case version you read.")


class CaseUpdateInput(CaseVersionInput):
    onset = serializers.DateField(required=False, allow_null=True)
    seriousness = serializers.ListField(child=serializers.ChoiceField(choices=[s.value for s in Seriousness]),
                                        required=False, max_length=6, help_text="The ICH criteria that apply.")
    reporter = serializers.CharField(required=False, allow_blank=True, max_length=200)
    reporter_qualification = serializers.ChoiceField(choices=QUALIFICATION_CHOICES, required=False)
    narrative = serializers.CharField(required=False, allow_blank=True, max_length=services.MAX_NARRATIVE,
                                      trim_whitespace=False)
    patient_sex = serializers.ChoiceField(choices=SEX_CHOICES, required=False, allow_blank=True)
    patient_age_years = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=150)


def _text(max_length: int, **kwargs):
    return serializers.CharField(required=False, allow_blank=True, max_length=max_length, **kwargs)


class DrugInput(CaseVersionInput):
    name = serializers.CharField(required=False, max_length=300)
    role = serializers.ChoiceField(choices=ROLE_CHOICES, required=False)
    code = _text(50)
    code_system = _text(20, help_text="atc, snomed, ...")
    code_version = _text(50)
    code_text = _text(300)
    dose = _text(300)
    route = _text(100)
    frequency = _text(200)
    duration = _text(200)
    start = serializers.DateField(required=False, allow_null=True)
    end = serializers.DateField(required=False, allow_null=True)
    action_taken = serializers.ChoiceField(choices=ACTION_CHOICES, required=False)
    dechallenge = serializers.ChoiceField(choices=CHALLENGE_CHOICES, required=False)
    rechallenge = serializers.ChoiceField(choices=CHALLENGE_CHOICES, required=False)


class ReactionInput(CaseVersionInput):
    term = serializers.CharField(required=False, max_length=300)
    code = _text(50, help_text="The MedDRA LLT code.")
    code_system = _text(20, help_text="meddra (default when coded).")
    code_version = _text(50)
    code_text = _text(300)
    pt_code = _text(50)
    pt_text = _text(300)
    onset = serializers.DateField(required=False, allow_null=True)
    outcome = serializers.ChoiceField(choices=OUTCOME_CHOICES, required=False)


class NoteAddInput(CaseVersionInput):
    note = serializers.IntegerField(min_value=1, max_value=2**62, help_text="Another note of the case's patient.")


class CausalityInput(CaseVersionInput):
    drug = serializers.IntegerField(min_value=1, max_value=2**62, help_text="A suspect drug of the case (its id).")
    reaction = serializers.IntegerField(min_value=1, max_value=2**62, help_text="A reaction of the case (its id).")
    who_umc = serializers.ChoiceField(choices=[c.value for c in WhoUmcCategory], required=False, allow_blank=True)
    naranjo = serializers.DictField(child=serializers.ChoiceField(choices=[a.value for a in Answer]),
                                    required=False, help_text='Answers by question number: {"2": "yes", "5": "no"}; '
                                    "an unanswered question counts as do not know (0 points).")


class TransitionInput(CaseVersionInput):
    to = serializers.ChoiceField(choices=STATE_CHOICES,
                                 help_text="assessed (from draft), reported (from assessed), draft (reopen).")


# --- views -----------------------------------------------------------------------------------------------

WRITE = {"POST": Capability.SIGN_OFF, "PATCH": Capability.SIGN_OFF, "PUT": Capability.SIGN_OFF,
         "DELETE": Capability.SIGN_OFF}


class CaseAPIView(ProjectAPIView):
    """Project members with the case rule of pharmacovigilance.permissions: reviewers and admins; writes also
    refused in an archived project."""

    capabilities = WRITE
    read_methods = ("GET", "HEAD", "OPTIONS")

    def check_permissions(self, request):
        super().check_permissions(request)
        rule = case_read_refusal if request.method in self.read_methods else case_change_refusal
        refusal = rule(user=request.user, project=self.project, role=self.role)
        if refusal is not None:
            raise refusal

    def case(self, case_id: int) -> Case:
        return selectors.case_get_for_user(user=self.request.user, project=self.project, case_id=case_id,
                                           role=self.role)

    def version(self, data) -> int:
        return requested_version(self.request, data.get("version"))[0]

    def detail(self, case: Case, *, status: int = 200) -> Response:
        """The case as it is now (read again), its ETag, and the PHI read on the record."""
        case = self.case(case.pk)
        page = selectors.case_page(case=case)
        audit_phi_read(view="api_case", notes=[n.pk for n in page.notes], request=self.request, project=self.project,
                       details={"case": case.pk, "version": case.version})
        fresh = selectors.case_report_queryset(Case.objects.filter(pk=case.pk), with_evidence=False).select_related(
            "created_by", "assessed_by", "reported_by").get()
        response = Response(CaseDetailOutput(fresh, context={"page": page}).data, status=status)
        response["ETag"] = f'"{case.version}"'
        return response


class CaseListView(CaseAPIView):
    pagination_class = Pagination

    @extend_schema(parameters=[ListFilterInput], responses={200: CaseSummaryOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """The project's cases, newest first, filtered like the line listing (drug and reaction words: POST
        to `search/`). Reviewers and admins."""
        v = validated(ListFilterInput, request.query_params)
        return self._page(request, selectors.case_filters_clean({k: str(val) for k, val in v.items()}))

    def _page(self, request, filters):
        cases = selectors.case_list_for_user(user=request.user, project=self.project, role=self.role,
                                             filters=filters).select_related("created_by", "assessed_by", "reported_by")
        page = self.paginate_queryset(cases)
        audit_phi_read(view="api_case_list", notes=[n.pk for c in page for n in c.notes.all()], request=request,
                       project=self.project, details={"cases": [c.pk for c in page]})
        return self.get_paginated_response(CaseSummaryOutput(page, many=True).data)

    @extend_schema(request=CaseCreateInput, responses={201: CaseDetailOutput, 200: CaseDetailOutput, **WRITE_ERRORS})
    def post(self, request, slug):
        """Open a case from a confirmed note (pre-filled from its gold annotations): 201; the note's case when it
        has one already: 200."""
        v = validated(CaseCreateInput, request.data)
        note = Note.objects.filter(project=self.project, pk=v["note"]).first()
        if note is None:
            raise ApplicationError("not_found", "No such note in this project.", status=404)
        opened = services.case_open_from_note(note=note, by=request.user)
        return self.detail(opened.case, status=201 if opened.created else 200)


class CaseSearchView(CaseListView):
    http_method_names = ["post", "options"]
    capabilities = {}  # a search reads: reviewers and admins, in archived projects too
    read_methods = ("POST", "OPTIONS")

    @extend_schema(request=SearchInput, responses={200: CaseSummaryOutput(many=True), **ERRORS})
    def post(self, request, slug):
        """The project's cases filtered like the line listing, drug and reaction words included (in the body,
        never in the address). Paginated with ?page=. Reads only."""
        v = validated(SearchInput, request.data)
        return self._page(request, selectors.case_filters_clean({k: str(val) for k, val in v.items()}))



class CaseDetailView(CaseAPIView):
    @extend_schema(responses={200: CaseDetailOutput, **ERRORS})
    def get(self, request, slug, case_id):
        """A case with its drugs, reactions, evidence (quotes of the notes), causality and what the notes
        suggest for each suspect drug x reaction. Audited as a PHI read."""
        return self.detail(self.case(case_id))

    @extend_schema(request=CaseUpdateInput, parameters=[IF_MATCH, VERSION_QUERY],
                   responses={200: CaseDetailOutput, **WRITE_ERRORS})
    def patch(self, request, slug, case_id):
        """Change the case's own fields (onset, seriousness criteria, reporter, narrative, patient's sex and
        age); drafts only."""
        v = validated(CaseUpdateInput, request.data)
        case = services.case_update(case=self.case(case_id), by=request.user, version=self.version(v),
                                    **{k: val for k, val in v.items() if k != "version"})
        return self.detail(case)


class CaseNoteAddView(CaseAPIView):
    @extend_schema(request=NoteAddInput, parameters=[IF_MATCH], responses={200: CaseDetailOutput, **WRITE_ERRORS})
    def post(self, request, slug, case_id):
        """Add another note of the case's patient; its gold annotations' drugs, reactions and evidence join."""
        v = validated(NoteAddInput, request.data)
        note = Note.objects.filter(project=self.project, pk=v["note"]).first()
        if note is None:
            raise ApplicationError("not_found", "No such note in this project.", status=404)
        case = services.case_note_add(case=self.case(case_id), note=note, by=request.user, version=self.version(v))
        return self.detail(case)


class CaseDrugListView(CaseAPIView):
    @extend_schema(request=DrugInput, parameters=[IF_MATCH], responses={201: CaseDetailOutput, **WRITE_ERRORS})
    def post(self, request, slug, case_id):
        """Add a drug (name required)."""
        v = validated(DrugInput, request.data)
        case = self.case(case_id)
        services.case_drug_add(case=case, by=request.user, version=self.version(v),
                               **{k: val for k, val in v.items() if k != "version"})
        return self.detail(case, status=201)


class CaseDrugDetailView(CaseAPIView):
    @extend_schema(request=DrugInput, parameters=[IF_MATCH], responses={200: CaseDetailOutput, **WRITE_ERRORS})
    def patch(self, request, slug, case_id, drug_id):
        """Change a drug's fields (role, coding, dose, route, dates, action taken, de/rechallenge)."""
        v = validated(DrugInput, request.data)
        case = self.case(case_id)
        services.case_drug_update(case=case, drug_id=drug_id, by=request.user, version=self.version(v),
                                  **{k: val for k, val in v.items() if k != "version"})
        return self.detail(case)

    @extend_schema(parameters=[IF_MATCH, VERSION_QUERY], responses={200: CaseDetailOutput, **WRITE_ERRORS})
    def delete(self, request, slug, case_id, drug_id):
        """Remove a drug with its evidence and causality."""
        case = services.case_drug_remove(case=self.case(case_id), drug_id=drug_id, by=request.user,
                                         version=self.version({}))
        return self.detail(case)


class CaseReactionListView(CaseAPIView):
    @extend_schema(request=ReactionInput, parameters=[IF_MATCH], responses={201: CaseDetailOutput, **WRITE_ERRORS})
    def post(self, request, slug, case_id):
        """Add a reaction (term required; its MedDRA coding optional)."""
        v = validated(ReactionInput, request.data)
        case = self.case(case_id)
        services.case_reaction_add(case=case, by=request.user, version=self.version(v),
                                   **{k: val for k, val in v.items() if k != "version"})
        return self.detail(case, status=201)


class CaseReactionDetailView(CaseAPIView):
    @extend_schema(request=ReactionInput, parameters=[IF_MATCH], responses={200: CaseDetailOutput, **WRITE_ERRORS})
    def patch(self, request, slug, case_id, reaction_id):
        """Change a reaction's fields: its MedDRA coding (LLT and PT with the version), onset, outcome."""
        v = validated(ReactionInput, request.data)
        case = self.case(case_id)
        services.case_reaction_update(case=case, reaction_id=reaction_id, by=request.user, version=self.version(v),
                                      **{k: val for k, val in v.items() if k != "version"})
        return self.detail(case)

    @extend_schema(parameters=[IF_MATCH, VERSION_QUERY], responses={200: CaseDetailOutput, **WRITE_ERRORS})
    def delete(self, request, slug, case_id, reaction_id):
        """Remove a reaction with its evidence and causality."""
        case = services.case_reaction_remove(case=self.case(case_id), reaction_id=reaction_id, by=request.user,
                                             version=self.version({}))
        return self.detail(case)


class CaseCausalityView(CaseAPIView):
    @extend_schema(request=CausalityInput, parameters=[IF_MATCH], responses={200: CaseDetailOutput, **WRITE_ERRORS})
    def post(self, request, slug, case_id):
        """Assess one suspect drug x reaction: WHO-UMC category and/or Naranjo answers (scored here; the score
        and category are in the response's `causality`)."""
        v = validated(CausalityInput, request.data)
        case = self.case(case_id)
        services.case_causality_assess(case=case, drug_id=v["drug"], reaction_id=v["reaction"], by=request.user,
                                       version=self.version(v), who_umc=v.get("who_umc", ""),
                                       naranjo_answers=v.get("naranjo") or {})
        return self.detail(case)


class CaseTransitionView(CaseAPIView):
    @extend_schema(request=TransitionInput, parameters=[IF_MATCH], responses={200: CaseDetailOutput, **WRITE_ERRORS})
    def post(self, request, slug, case_id):
        """Move the case: draft -> assessed (every suspect drug x reaction assessed; 409 `incomplete` lists what
        is missing), assessed -> reported, assessed -> draft (reopen). Records who and when."""
        v = validated(TransitionInput, request.data)
        case = services.case_transition(case=self.case(case_id), by=request.user, version=self.version(v), to=v["to"])
        return self.detail(case)
