"""The permission matrix: every API endpoint and every page x {anonymous, annotator, reviewer, admin, member
of another project} gets the expected answer. Writes target the annotator's own set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from annotations.models import AnnotationSet, Note, Project
from annotations.services import editing
from inference.models import Job

from .conftest import ROLES, World

pytestmark = pytest.mark.django_db

READ = {"anonymous": 401, "annotator": 200, "reviewer": 200, "admin": 200, "outsider": 404}
OWN_WRITE = {"anonymous": 401, "annotator": 200, "reviewer": 403, "admin": 200, "outsider": 404}
CREATE_OWN = {**OWN_WRITE, "annotator": 201, "admin": 201}
SIGN_OFF = {"anonymous": 401, "annotator": 403, "reviewer": 201, "admin": 201, "outsider": 404}
MANAGE = {"anonymous": 401, "annotator": 403, "reviewer": 403, "admin": 200, "outsider": 404}
MANAGE_CREATE = {**MANAGE, "admin": 201}
# Cases (pharmacovigilance.permissions): reviewers and admins; annotators get none.
CASES_READ = {"anonymous": 401, "annotator": 403, "reviewer": 200, "admin": 200, "outsider": 404}
CASES_WRITE = CASES_READ
CURATE = {"anonymous": 401, "annotator": 403, "reviewer": 200, "admin": 200, "outsider": 404}


@dataclass
class Case:
    name: str
    method: str
    kwargs: Callable[[World], dict]
    expected: dict
    body: Callable[[World], dict] | None = None
    setup: Callable[[World], None] | None = None
    query: Callable[[World], str] = field(default=lambda w: "")
    fmt: str = "json"


def version(w: World) -> int:
    return AnnotationSet.objects.get(pk=w.annotator_set.pk).version


def aset(w):
    return {"slug": "alpha", "pk": w.annotator_set.pk}


def annotator_edit(call):
    def setup(w: World):
        call(w, w.annotator_set, version(w))

    return setup


def create_job(w: World, tmp_result: bool = False):
    Job.objects.create(project=w.alpha, kind="export", parameters={"format": "jsonl", "source": "gold"})


def adapted_encoder(w: World, *, in_use: bool = False) -> Job:
    """A finished adapt job with an adapted encoder directory (adapted from the shipped one); in use or not."""
    import json
    import tempfile
    from pathlib import Path

    directory = Path(tempfile.mkdtemp(prefix="adapted-encoder-"))
    (directory / "config.json").write_text("{}")
    (directory / "adaptation.json").write_text(json.dumps({"base_encoder": "", "metrics": {}}))
    job = Job.objects.create(project=w.alpha, kind="adapt", parameters={}, state="succeeded", result_path=str(directory))
    if in_use:
        Project.objects.filter(pk=w.alpha.pk).update(encoder_path=str(directory))
    return job


def make_export(w: World):
    from django.conf import settings

    path = settings.MEDIA_ROOT / "exports" / str(w.alpha.pk)
    path.mkdir(parents=True, exist_ok=True)
    (path / ("0" * 32 + ".zip")).write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    # An export job's result is a key of the file store (here the local disk under MEDIA_ROOT).
    job = Job.objects.create(project=w.alpha, kind="export", parameters={}, state="succeeded",
                             result_path=f"exports/{w.alpha.pk}/job.zip")
    (path / "job.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    return job


def _jsonl_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    line = b'{"id": "up-1", "text": "Rash after amoxicillin.", "entities": [], "relations": []}\n'
    return SimpleUploadedFile("notes.jsonl", line, content_type="application/octet-stream")


STAFF_ONLY = {"anonymous": 401, "annotator": 403, "reviewer": 403, "admin": 403, "outsider": 403}
OWN_TOKENS = {"anonymous": 401, "annotator": 200, "reviewer": 200, "admin": 200, "outsider": 200}


def _annotator_token(w: World) -> int:
    """A named token of the annotator's (made once): only its holder may revoke it, others get 404."""
    from accounts.models import ApiToken
    from accounts.services import api_token_create

    token = ApiToken.objects.filter(user=w.users["annotator"], name="matrix-target").first()
    return (token or api_token_create(user=w.users["annotator"], name="matrix-target")[0]).pk


def job_id(w: World) -> int:
    return Job.objects.filter(project=w.alpha).order_by("pk").last().pk


CASES = [
    Case("api-project-list", "get", lambda w: {}, {**READ, "outsider": 200}),
    Case("api-project-detail", "get", lambda w: {"slug": "alpha"}, READ),
    # Creating projects is for site staff (or the add_project permission): none of these roles is staff.
    Case("api-project-list", "post", lambda w: {}, STAFF_ONLY, body=lambda w: {"name": "Matrix"}),
    Case("api-schema-templates", "get", lambda w: {}, {**READ, "outsider": 200}),
    Case("api-project-detail", "patch", lambda w: {"slug": "alpha"}, MANAGE, body=lambda w: {"description": "d"}),
    # Alpha holds notes and was never exported: even its admin is refused (409) until an export.
    Case("api-project-detail", "delete", lambda w: {"slug": "alpha"}, {**MANAGE, "admin": 409},
         body=lambda w: {"confirm": "alpha"}),
    Case("api-member-list", "get", lambda w: {"slug": "alpha"}, READ),
    Case("api-member-list", "post", lambda w: {"slug": "alpha"}, MANAGE_CREATE,
         body=lambda w: {"username": "outsider", "role": "annotator"}),
    Case("api-member-detail", "get", lambda w: {"slug": "alpha", "user_id": w.users["annotator"].pk}, READ),
    Case("api-member-detail", "patch", lambda w: {"slug": "alpha", "user_id": w.users["reviewer"].pk}, MANAGE,
         body=lambda w: {"role": "annotator"}),
    Case("api-member-detail", "delete", lambda w: {"slug": "alpha", "user_id": w.users["reviewer"].pk},
         {**MANAGE, "admin": 204}),
    Case("api-project-schema", "get", lambda w: {"slug": "alpha"}, READ),
    Case("api-project-agreement", "get", lambda w: {"slug": "alpha"}, READ),
    Case("api-project-schema", "put", lambda w: {"slug": "alpha"}, MANAGE, body=lambda w: {
        "annotation_conf": "[entities]\nDrug\nADE\n[relations]\nCauses Arg1:Drug, Arg2:ADE\n"
                           "[attributes]\nSeverity Arg:ADE, Value:mild|severe\n"}),
    Case("api-schema-rename", "post", lambda w: {"slug": "alpha"}, MANAGE,
         body=lambda w: {"kind": "entity", "old": "ADE", "new": "Reaction"}),
    Case("api-schema-type", "patch", lambda w: {"slug": "alpha", "name": "Drug"}, MANAGE,
         body=lambda w: {"label": "Medicine", "colour": "teal"}),
    Case("api-model-version-list", "get", lambda w: {"slug": "alpha"}, READ),
    Case("api-model-version-activate", "post", lambda w: {"slug": "alpha", "version_id": w.model_version.pk}, MANAGE),
    Case("api-retrain-policy", "get", lambda w: {"slug": "alpha"}, READ),
    Case("api-retrain-policy", "put", lambda w: {"slug": "alpha"}, MANAGE, body=lambda w: {"retrain_every": 5}),
    Case("api-annotation-queue", "get", lambda w: {"slug": "alpha"}, READ),
    Case("api-encoder", "get", lambda w: {"slug": "alpha"}, READ),
    Case("api-encoder-adopt", "post", lambda w: {"slug": "alpha"}, MANAGE, body=lambda w: {"job": adapted_encoder(w).pk}),
    Case("api-encoder-rollback", "post", lambda w: {"slug": "alpha"}, MANAGE,
         setup=lambda w: adapted_encoder(w, in_use=True)),
    Case("api-note-list", "get", lambda w: {"slug": "alpha"}, READ),
    Case("api-note-list", "post", lambda w: {"slug": "alpha"}, MANAGE_CREATE,
         body=lambda w: {"external_id": "a3", "text": "Heparin held d/t bruising.", "patient": "p1"}),
    Case("api-note-detail", "get", lambda w: {"slug": "alpha", "note_id": w.note_a1.pk}, READ),
    Case("api-note-annotation-sets", "get", lambda w: {"slug": "alpha", "note_id": w.note_a1.pk}, READ),
    Case("api-note-annotation-sets", "post", lambda w: {"slug": "alpha", "note_id": w.note_a1.pk},
         {**OWN_WRITE, "reviewer": 200}),
    Case("api-annotation-set-detail", "get", aset, READ),
    Case("api-annotation-set-detail", "put", aset, OWN_WRITE, body=lambda w: {
        "version": version(w), "entities": [{"id": "T1", "type": "Drug", "fragments": [[11, 19]]}]}),
    Case("api-entity-create", "post", aset, CREATE_OWN,
         body=lambda w: {"version": version(w), "type": "ADE", "fragments": [[30, 36]]}),
    Case("api-entity-detail", "patch", lambda w: {**aset(w), "local_id": "T2"}, OWN_WRITE,
         body=lambda w: {"version": version(w), "attributes": {"Severity": "severe"}}),
    Case("api-entity-detail", "delete", lambda w: {**aset(w), "local_id": "T2"}, OWN_WRITE,
         query=lambda w: f"?version={version(w)}"),
    Case("api-relation-create", "post", aset, CREATE_OWN,
         body=lambda w: {"version": version(w), "type": "Causes", "arg1": "T1", "arg2": "T2"}),
    Case("api-relation-detail", "delete", lambda w: {**aset(w), "local_id": "R1"}, OWN_WRITE,
         query=lambda w: f"?version={version(w)}",
         setup=annotator_edit(lambda w, a, v: editing.relation_create(
             annotation_set=a, expected_version=v, type="Causes", head="T1", tail="T2", user=w.users["annotator"]))),
    Case("api-attribute-create", "post", aset, CREATE_OWN,
         body=lambda w: {"version": version(w), "name": "Severity", "target": "T2", "value": "mild"}),
    Case("api-attribute-detail", "patch", lambda w: {**aset(w), "local_id": "A1"}, OWN_WRITE,
         body=lambda w: {"version": version(w), "value": "severe"},
         setup=annotator_edit(lambda w, a, v: editing.entity_update(
             annotation_set=a, expected_version=v, entity_id="T2", attributes={"Severity": "mild"},
             user=w.users["annotator"]))),
    Case("api-attribute-detail", "delete", lambda w: {**aset(w), "local_id": "A1"}, OWN_WRITE,
         query=lambda w: f"?version={version(w)}",
         setup=annotator_edit(lambda w, a, v: editing.entity_update(
             annotation_set=a, expected_version=v, entity_id="T2", attributes={"Severity": "mild"},
             user=w.users["annotator"]))),
    Case("api-prelabel-accept", "post", lambda w: {**aset(w), "local_id": "T1"}, OWN_WRITE,
         body=lambda w: {"version": version(w)}),
    Case("api-prelabel-reject", "post", lambda w: {**aset(w), "local_id": "T1"}, OWN_WRITE,
         body=lambda w: {"version": version(w)},
         setup=lambda w: Note.objects.none() or _model_origin(w)),
    Case("api-label", "put", aset, OWN_WRITE, body=lambda w: {"version": version(w), "value": "ade"}),
    Case("api-submit", "post", aset, OWN_WRITE, body=lambda w: {"version": version(w)},
         setup=annotator_edit(lambda w, a, v: editing.note_label_set(
             annotation_set=a, expected_version=v, value="ade", evidence=None, user=w.users["annotator"]))),
    Case("api-undo", "post", aset, OWN_WRITE, body=lambda w: {"version": version(w)},
         setup=annotator_edit(lambda w, a, v: editing.note_label_set(
             annotation_set=a, expected_version=v, value="ade", evidence=None, user=w.users["annotator"]))),
    Case("api-note-sign-offs", "get", lambda w: {"slug": "alpha", "note_id": w.note_a1.pk}, READ),
    Case("api-note-sign-offs", "post", lambda w: {"slug": "alpha", "note_id": w.note_a1.pk}, SIGN_OFF,
         body=lambda w: {"decision": "confirm", "comment": "seen", "annotation_set": w.annotator_set.pk,
                         "version": AnnotationSet.objects.get(pk=w.annotator_set.pk).version},
         setup=lambda w: AnnotationSet.objects.filter(pk=w.annotator_set.pk).update(status="submitted")),
    Case("api-job-list", "get", lambda w: {"slug": "alpha"}, READ),
    Case("api-job-list", "post", lambda w: {"slug": "alpha"}, MANAGE_CREATE,
         body=lambda w: {"kind": "export", "parameters": {"format": "jsonl"}}),
    Case("api-job-detail", "get", lambda w: {"slug": "alpha", "job_id": job_id(w)}, READ, setup=create_job),
    Case("api-job-errors", "get", lambda w: {"slug": "alpha", "job_id": job_id(w)}, READ, setup=create_job),
    Case("api-job-cancel", "post", lambda w: {"slug": "alpha", "job_id": job_id(w)}, MANAGE, setup=create_job),
    Case("api-job-download", "get", lambda w: {"slug": "alpha", "job_id": job_id(w)}, MANAGE, setup=make_export),
    Case("api-export-create", "post", lambda w: {"slug": "alpha"}, MANAGE_CREATE,
         body=lambda w: {"format": "jsonl", "source": "gold"}),
    Case("api-export-download", "get", lambda w: {"slug": "alpha", "export_id": "0" * 32}, MANAGE, setup=make_export),
    Case("api-import-upload", "post", lambda w: {"slug": "alpha"}, MANAGE_CREATE, fmt="multipart",
         body=lambda w: {"format": "jsonl", "file": _jsonl_upload()}),
    # accounts (issue 16): users are for Django staff only (no role of this world is staff); tokens are anyone's own.
    Case("api-user-list", "get", lambda w: {}, STAFF_ONLY),
    Case("api-user-list", "post", lambda w: {}, STAFF_ONLY, body=lambda w: {"username": "matrix-new"}),
    Case("api-user-detail", "get", lambda w: {"user_id": w.users["annotator"].pk}, STAFF_ONLY),
    Case("api-user-detail", "patch", lambda w: {"user_id": w.users["annotator"].pk}, STAFF_ONLY,
         body=lambda w: {"is_active": False}),
    Case("api-user-password", "post", lambda w: {"user_id": w.users["annotator"].pk}, STAFF_ONLY),
    Case("api-token-list", "get", lambda w: {}, OWN_TOKENS),
    Case("api-token-list", "post", lambda w: {}, {**OWN_TOKENS, "annotator": 201, "reviewer": 201, "admin": 201,
                                                  "outsider": 201}, body=lambda w: {"name": "matrix"}),
    Case("api-token-detail", "delete", lambda w: {"token_id": _annotator_token(w)},
         {"anonymous": 401, "annotator": 204, "reviewer": 404, "admin": 404, "outsider": 404},
         setup=lambda w: _annotator_token(w)),
    # Note assignments (issue 17): the settings are read by members and changed by admins; one's own notes and
    # the next one for anyone who may annotate; everyone's assignments for admins.
    Case("api-assignment-settings", "get", lambda w: {"slug": "alpha"}, READ),
    Case("api-assignment-settings", "patch", lambda w: {"slug": "alpha"}, MANAGE,
         body=lambda w: {"annotators_per_note": 2, "blind_annotation": True}),
    Case("api-my-assignment-list", "get", lambda w: {"slug": "alpha"}, READ),
    Case("api-my-assignment-next", "post", lambda w: {"slug": "alpha"}, {**OWN_WRITE, "reviewer": 200},
         setup=lambda w: _two_per_note(w)),
    Case("api-assignment-list", "get", lambda w: {"slug": "alpha"}, MANAGE, setup=lambda w: _assignment(w)),
    Case("api-assignment-list", "post", lambda w: {"slug": "alpha"}, MANAGE_CREATE, setup=lambda w: _two_per_note(w),
         body=lambda w: {"user": w.users["annotator"].pk, "notes": [w.note_a2.pk]}),
    Case("api-assignment-detail", "get", lambda w: {"slug": "alpha", "assignment_id": _assignment(w)}, MANAGE),
    Case("api-assignment-detail", "delete", lambda w: {"slug": "alpha", "assignment_id": _assignment(w)},
         {**MANAGE, "admin": 204}),
    Case("api-assignment-reassign", "post", lambda w: {"slug": "alpha", "assignment_id": _assignment(w)}, MANAGE,
         body=lambda w: {"user": w.users["admin"].pk}),
    Case("api-assignment-release-stale", "post", lambda w: {"slug": "alpha"}, MANAGE),
    Case("api-assignment-workload", "get", lambda w: {"slug": "alpha"}, MANAGE),
    # Curation (issue 17): reviewers and admins only, reads included (annotators must not see the others' sets).
    Case("api-curation-queue", "get", lambda w: {"slug": "alpha"}, CURATE, setup=lambda w: _two_submissions(w)),
    Case("api-note-curation", "get", lambda w: {"slug": "alpha", "note_id": w.note_a1.pk}, CURATE,
         setup=lambda w: _two_submissions(w)),
    Case("api-note-curation", "post", lambda w: {"slug": "alpha", "note_id": w.note_a1.pk},
         {**CURATE, "reviewer": 201, "admin": 201}, setup=lambda w: _two_submissions(w)),
    Case("api-curation-decide", "post", lambda w: {"slug": "alpha", "note_id": w.note_a1.pk, "unit": _unit(w)},
         CURATE, setup=lambda w: _curation_started(w), body=lambda w: {"choice": "none", "version": _cur_version(w)}),
    Case("api-curation-finish", "post", lambda w: {"slug": "alpha", "note_id": w.note_a1.pk}, CURATE,
         setup=lambda w: _curation_started(w, decide_all=True), body=lambda w: {"version": _cur_version(w)}),
    Case("api-schema", "get", lambda w: {}, {**READ, "outsider": 200}),
    Case("api-docs", "get", lambda w: {}, {**READ, "outsider": 200}),
    # Case exports (pharmacovigilance.exports): project admins start them (a job; its file through the jobs API).
    Case("api-case-export-create", "post", lambda w: {"slug": "alpha"}, MANAGE_CREATE, body=lambda w: {"format": "e2b"}),
    # Terminologies (pharmacovigilance.terminology) are the site's: the loaded versions for project admins (the
    # outsider is beta's admin), the look-up for members of any project.
    Case("api-terminology-list", "get", lambda w: {},
         {"anonymous": 401, "annotator": 403, "reviewer": 403, "admin": 200, "outsider": 200}),
    Case("api-terminology-lookup", "post", lambda w: {}, {**READ, "outsider": 200},
         body=lambda w: {"system": "meddra", "q": "epistaxis"}),
    # Cases (pharmacovigilance): reviewers and admins read, open, change and assess them; annotators get none.
    Case("api-case-list", "get", lambda w: {"slug": "alpha"}, CASES_READ, setup=lambda w: _case(w)),
    Case("api-case-list", "post", lambda w: {"slug": "alpha"}, {**CASES_WRITE, "reviewer": 201, "admin": 201},
         setup=lambda w: Note.objects.filter(pk=w.note_a1.pk).update(final_verdict="ade"),
         body=lambda w: {"note": w.note_a1.pk}),
    Case("api-case-search", "post", lambda w: {"slug": "alpha"}, CASES_READ, body=lambda w: {"drug": "warfarin"}),
    Case("api-case-detail", "get", lambda w: {"slug": "alpha", "case_id": _case(w)}, CASES_READ),
    Case("api-case-detail", "patch", lambda w: {"slug": "alpha", "case_id": _case(w)}, CASES_WRITE,
         body=lambda w: {"version": 1, "narrative": "Epistaxis on warfarin."}),
    Case("api-case-notes", "post", lambda w: {"slug": "alpha", "case_id": _case(w)}, CASES_WRITE,
         body=lambda w: {"version": 1, "note": w.note_a2.pk}),
    Case("api-case-drugs", "post", lambda w: {"slug": "alpha", "case_id": _case(w)},
         {**CASES_WRITE, "reviewer": 201, "admin": 201}, body=lambda w: {"version": 1, "name": "aspirin"}),
    Case("api-case-drug-detail", "patch", lambda w: {"slug": "alpha", "case_id": _case(w), "drug_id": _case_row(w, "drugs")},
         CASES_WRITE, body=lambda w: {"version": 1, "dose": "5 mg"}),
    Case("api-case-drug-detail", "delete", lambda w: {"slug": "alpha", "case_id": _case(w),
                                                      "drug_id": _case_row(w, "drugs")},
         CASES_WRITE, query=lambda w: "?version=1"),
    Case("api-case-reactions", "post", lambda w: {"slug": "alpha", "case_id": _case(w)},
         {**CASES_WRITE, "reviewer": 201, "admin": 201}, body=lambda w: {"version": 1, "term": "rash"}),
    Case("api-case-reaction-detail", "patch", lambda w: {"slug": "alpha", "case_id": _case(w),
                                                         "reaction_id": _case_row(w, "reactions")},
         CASES_WRITE, body=lambda w: {"version": 1, "outcome": "recovered"}),
    Case("api-case-reaction-detail", "delete", lambda w: {"slug": "alpha", "case_id": _case(w),
                                                          "reaction_id": _case_row(w, "reactions")},
         CASES_WRITE, query=lambda w: "?version=1"),
    Case("api-case-causality", "post", lambda w: {"slug": "alpha", "case_id": _case(w)}, CASES_WRITE,
         body=lambda w: {"version": 1, "drug": _case_row(w, "drugs"), "reaction": _case_row(w, "reactions"),
                         "who_umc": "possible", "naranjo": {"2": "yes"}}),
    Case("api-case-transition", "post", lambda w: {"slug": "alpha", "case_id": _case(w, assessed=True)}, CASES_WRITE,
         body=lambda w: {"version": 1, "to": "assessed"}),
]

def _case(w: World, assessed: bool = False) -> int:
    """A draft case of alpha (made once) of a patient with notes a1 and a2: warfarin (suspect) and epistaxis; with
    `assessed`, their causality assessed (so it may become assessed). Version 1."""
    from annotations.models import Patient
    from pharmacovigilance.models import Case, CaseDrug, CaseReaction, Causality

    found = Case.objects.filter(project=w.alpha, reference="alpha-matrix").first()
    if found is None:
        patient = Patient.objects.create(project=w.alpha, external_id="p-matrix")
        Note.objects.filter(pk__in=[w.note_a1.pk, w.note_a2.pk]).update(patient=patient)
        found = Case.objects.create(project=w.alpha, reference="alpha-matrix", patient=patient,
                                    patient_identifier="p-matrix", created_by=w.users["admin"])
        found.notes.add(w.note_a1)
        CaseDrug.objects.create(case=found, key="D1", name="warfarin")
        CaseReaction.objects.create(case=found, key="R1", term="epistaxis")
    if assessed and not Causality.objects.filter(case=found).exists():
        from django.utils import timezone

        Causality.objects.create(case=found, drug=found.drugs.get(), reaction=found.reactions.get(), who_umc="possible",
                                 assessed_by=w.users["admin"], assessed_at=timezone.now())
    return found.pk


def _case_row(w: World, kind: str) -> int:
    from pharmacovigilance.models import Case

    return getattr(Case.objects.get(pk=_case(w)), kind).order_by("pk").values_list("pk", flat=True)[0]


def _two_submissions(w: World):
    """Note a1 submitted by the annotator and by the admin (who agree on warfarin and the verdict only)."""
    from annotations.models import Entity, NoteLabel

    AnnotationSet.objects.filter(pk=w.annotator_set.pk).update(status="submitted")
    second, _ = AnnotationSet.objects.get_or_create(
        note=w.note_a1, source_kind="user", user=w.users["admin"],
        defaults={"source_name": "admin", "status": "submitted"})
    Entity.objects.get_or_create(annotation_set=second, local_id="T1", defaults={
        "type": "Drug", "fragments": [[11, 19]], "start": 11, "end": 19, "text": "warfarin"})
    for aset in (w.annotator_set, second):
        NoteLabel.objects.get_or_create(annotation_set_id=aset.pk, defaults={"value": "ade"})


def _curation_started(w: World, decide_all: bool = False):
    from annotations.curation.selectors import curation_state
    from annotations.services.curation import curation_decide, curation_start

    _two_submissions(w)
    curation, _ = curation_start(note=w.note_a1, by=w.users["reviewer"])
    if decide_all:
        for unit in curation_state(note=w.note_a1).merge.disagreements:
            curation_decide(note=w.note_a1, unit=unit.key, choice="none", expected_version=_cur_version(w),
                            by=w.users["reviewer"])


def _unit(w: World) -> str:
    from annotations.curation.selectors import curation_state

    return curation_state(note=w.note_a1).merge.disagreements[0].key


def _cur_version(w: World) -> int:
    return AnnotationSet.objects.get(note=w.note_a1, source_kind="curation").version


def _two_per_note(w: World):
    Project.objects.filter(pk=w.alpha.pk).update(annotators_per_note=2)


def _assignment(w: World) -> int:
    """The annotator's open assignment of note a2 (made once)."""
    from django.utils import timezone

    from annotations.models import NoteAssignment

    return NoteAssignment.objects.get_or_create(note=w.note_a2, user=w.users["annotator"],
                                                defaults={"touched_at": timezone.now()})[0].pk


def _model_origin(w: World):
    from annotations.models import Entity

    Entity.objects.filter(annotation_set=w.annotator_set, local_id="T1").update(origin="model")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method}:{c.name}")
def test_api_permission_matrix(world, case: Case, role: str):
    if case.setup:
        case.setup(world)
    url = reverse(case.name, kwargs=case.kwargs(world)) + case.query(world)
    body = case.body(world) if case.body else None
    response = getattr(world.client(role), case.method)(url, body, format=case.fmt)
    assert response.status_code == case.expected[role], (role, url, getattr(response, "data", None))
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        assert set(response.json()) == {"code", "message", "details"}


@dataclass
class Route:
    route: str
    name: str | None
    converters: dict


def _patterns(resolver=None, prefix="", namespace="", converters=None):
    """Every URL pattern with its full route, namespaced name and the converters of all its parts."""
    converters = converters or {}
    for entry in (resolver or get_resolver()).url_patterns:
        merged = {**converters, **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, prefix + str(entry.pattern), inner, merged)
        elif isinstance(entry, URLPattern):
            yield Route(prefix + str(entry.pattern), f"{namespace}{entry.name}" if entry.name else None, merged)


def test_every_api_endpoint_and_audit_page_is_in_the_matrix():
    names = {r.name for r in _patterns() if r.route.startswith(("api/", "audit/"))}
    covered = {c.name for c in CASES} | {"api-token", "api-not-found", "audit-event-list", "audit-event-export",
                                         "audit-site-event-list", "audit-site-event-export"}
    assert names <= covered, f"endpoints missing from the permission matrix: {sorted(names - covered)}"


# The only doors open to anonymous users (DELETE api-token needs the token it revokes; old-project-path only
# redirects /p/... to /projects/..., which then asks for the login).
PAGES_ANON_OK = {"login", "api-token", "api-not-found", "password_reset", "password_reset_done",
                 "password_reset_confirm", "password_reset_complete", "old-project-path"}


def _fill(route: Route, w: World) -> dict:
    values = {"slug": "alpha", "note_id": w.note_a1.pk, "pk": w.annotator_set.pk, "local_id": "T1",
              "export_id": "0" * 32, "action": "undo", "assignment_id": 1, "unit": "s-0000000000000000",
              "case_id": 1, "drug_id": 1, "reaction_id": 1}
    kwargs = {}
    for name, converter in route.converters.items():
        if name in values:
            kwargs[name] = values[name]
        elif "int" in type(converter).__name__.lower() or "id" in type(converter).__name__.lower():
            kwargs[name] = 1
        else:
            kwargs[name] = "x"
    return kwargs


def _app_urls(w: World):
    for route in _patterns():
        if route.route.startswith(("admin/", "static/")) or not route.name:
            continue
        try:
            yield route.name, reverse(route.name, kwargs=_fill(route, w)), route
        except NoReverseMatch:  # reported by the callers
            yield route.name, None, route


def test_every_page_and_endpoint_refuses_anonymous_users(world):
    client = Client()
    for name, url, _ in _app_urls(world):
        assert url, f"could not build a URL for {name}"
        if name in PAGES_ANON_OK:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code in (302, 401, 403, 405), (name, method, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith("/accounts/login/"), (name, response["Location"])


def test_every_project_page_and_endpoint_is_404_for_members_of_other_projects(world):
    client = Client()
    client.force_login(world.users["outsider"])
    for name, url, route in _app_urls(world):
        if "slug" not in route.converters:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            # 403 here would be a CSRF refusal of a POST (checked before the view); 405 a GET-only view.
            assert response.status_code in (403, 404, 405), (name, method, response.status_code)
            if response.status_code == 403:
                assert b"CSRF" in response.content, (name, method)


@pytest.mark.parametrize("role", ["annotator", "reviewer", "admin"])
def test_members_get_every_project_page_without_a_server_error(world, role):
    client = Client()
    client.force_login(world.users[role])
    for name, url, route in _app_urls(world):
        if "slug" not in route.converters:
            continue
        response = client.get(url)
        assert response.status_code < 500, (name, url, response.status_code)


@pytest.mark.parametrize(
    "role,expected", [("anonymous", 302), ("annotator", 403), ("reviewer", 403), ("admin", 200), ("outsider", 404)]
)
@pytest.mark.parametrize("name", ["audit-event-list", "audit-event-export"])
def test_audit_pages_are_for_project_admins_only(world, role, expected, name):
    client = Client()
    if role != "anonymous":
        client.force_login(world.users[role])
    response = client.get(reverse(name, kwargs={"slug": "alpha"}))
    assert response.status_code == expected


@pytest.mark.parametrize("name", ["audit-site-event-list", "audit-site-event-export"])
def test_the_site_wide_trail_with_logins_is_for_superusers_only(world, name):
    from django.contrib.auth import get_user_model

    for role in ("annotator", "reviewer", "admin", "outsider"):
        client = Client()
        client.force_login(world.users[role])
        assert client.get(reverse(name)).status_code == 404
    assert Client().get(reverse(name)).status_code == 302
    root = get_user_model().objects.create_superuser("root", password="pw-root")
    client = Client()
    client.force_login(root)
    response = client.get(reverse(name))
    assert response.status_code == 200
    body = response.content if name.endswith("list") else b"".join(response.streaming_content)
    assert b"login_success" in body or b"Login" in body
