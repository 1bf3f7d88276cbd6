"""The safety overview: confirmed ADEs (ADE relations of each note's gold) counted by drug, by reaction and over
time in a constant number of queries, and the within-hospital disproportionality table equal to the 2x2 tables
counted by hand; the page is for reviewers and admins."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from annotations.formats.document import Document, Entity, Normalization, Relation, Span
from annotations.models import AnnotationSet, Note, ProjectMembership
from annotations.models import Relation as RelationRow
from annotations.services.corpus_import import corpus_import, project_get_or_create
from pharmacovigilance.core.disproportionality import disproportionality
from pharmacovigilance.safety.selectors import (
    safety_counts_by_drug,
    safety_counts_by_reaction,
    safety_counts_over_time,
    safety_disproportionality,
)
from pharmacovigilance.terminology.models import Term, TermHierarchy, Terminology

pytestmark = pytest.mark.django_db

ATC = {"warfarin": "B01AA03", "heparin": "B01AB01", "amoxicillin": "J01CA04", "metformin": "A10BA02"}
LLT = {"bleeding": "10005103", "rash": "10037844"}  # made-up LLT codes whose PTs follow


def note_doc(i: int, drugs: list[str], ades: list[tuple[str, str]], *, month: int = 1, coded: bool = True) -> Document:
    """A note mentioning `drugs`, with an ADE relation (drug -> reaction) for each of `ades`."""
    text, entities, relations, norms = f"Note {i}.", [], [], []

    def mention(kind: str, words: str) -> str:
        nonlocal text
        text += " "
        start = len(text)
        text += words
        eid = f"T{len(entities) + 1}"
        entities.append(Entity(eid, kind, (Span(start, len(text)),), words))
        code = (ATC if kind == "Drug" else LLT).get(words)
        if coded and code:
            norms.append(Normalization(f"N{len(norms) + 1}", eid, "ATC" if kind == "Drug" else "MedDRA", code))
        return eid

    drug_ids = {d: mention("Drug", d) for d in drugs}
    for drug, reaction in ades:
        relations.append(Relation(f"R{len(relations) + 1}", "Adverse-Effect", drug_ids[drug], mention("Adverse-Effect", reaction)))
    return Document(id=f"n{i:03d}", text=text, entities=tuple(entities), relations=tuple(relations),
                    normalizations=tuple(norms), label="ade" if ades else "no_ade",
                    metadata={"timestamp": datetime(2026, month, 10, tzinfo=UTC).isoformat()})


def corpus() -> list[Document]:
    docs = []
    i = 0
    for _ in range(4):  # warfarin -> bleeding: a = 4
        docs.append(note_doc(i := i + 1, ["warfarin"], [("warfarin", "bleeding")], month=1))
    for _ in range(2):  # warfarin, no reaction
        docs.append(note_doc(i := i + 1, ["warfarin"], [], month=2))
    docs.append(note_doc(i := i + 1, ["heparin"], [("heparin", "bleeding")], month=2))  # bleeding, not warfarin
    for _ in range(5):
        docs.append(note_doc(i := i + 1, ["amoxicillin", "metformin"], [("amoxicillin", "rash")], month=3))
    for _ in range(8):
        docs.append(note_doc(i := i + 1, ["metformin"], [], month=3))
    return docs  # 20 notes


@pytest.fixture
def project(tmp_path):
    project = project_get_or_create(slug="safety")
    path = tmp_path / "gold.jsonl"
    from annotations.formats.jsonl import dumps_document

    path.write_text("\n".join(dumps_document(d) for d in corpus()), encoding="utf-8")
    assert corpus_import(project=project, path=path, fmt="jsonl").imported == 20
    return project


def _noise(project, tmp_path):
    """Things that are not confirmed ADEs: raw notes (an empty import set), a submitted set not signed off, a
    model's set, and a rejected relation."""
    from annotations.formats.jsonl import dumps_document

    raw = tmp_path / "raw.jsonl"
    raw.write_text(dumps_document(Document(id="raw-1", text="warfarin and bleeding")), encoding="utf-8")
    corpus_import(project=project, path=raw, fmt="jsonl", source_name="ehr")
    submitted = tmp_path / "submitted.jsonl"
    submitted.write_text(dumps_document(note_doc(90, ["warfarin"], [("warfarin", "bleeding")])), encoding="utf-8")
    corpus_import(project=project, path=submitted, fmt="jsonl", status="submitted")
    rejected = Note.objects.get(project=project, external_id="n010")  # amoxicillin -> rash
    RelationRow.objects.filter(annotation_set__note=rejected).update(decision="rejected")


def _load_terminologies():
    meddra = Terminology.objects.create(system="meddra", version="27.0", current=True)
    Term.objects.bulk_create([
        Term(terminology=meddra, code="10005103", text="Bleeding", normalized="bleeding", level="LLT",
             pt_code="10055798", pt_text="Haemorrhage"),
        Term(terminology=meddra, code="10055798", text="Haemorrhage", normalized="haemorrhage", level="PT",
             pt_code="10055798", pt_text="Haemorrhage"),
        Term(terminology=meddra, code="10037844", text="Rash", normalized="rash", level="LLT", pt_code="10037844",
             pt_text="Rash"),
        Term(terminology=meddra, code="10037844", text="Rash", normalized="rash", level="PT", pt_code="10037844",
             pt_text="Rash"),
        Term(terminology=meddra, code="10047065", text="Vascular disorders", normalized="vascular", level="SOC"),
        Term(terminology=meddra, code="10040785", text="Skin and subcutaneous tissue disorders", normalized="skin",
             level="SOC"),
    ])
    TermHierarchy.objects.bulk_create([
        TermHierarchy(terminology=meddra, pt_code="10055798", hlt_code="1", hlgt_code="2", soc_code="10047065",
                      primary=True),
        TermHierarchy(terminology=meddra, pt_code="10037844", hlt_code="3", hlgt_code="4", soc_code="10040785",
                      primary=True),
    ])
    atc = Terminology.objects.create(system="atc", version="2026", current=True)
    Term.objects.bulk_create([Term(terminology=atc, code=c, text=n, normalized=n, level="ATC5") for n, c in ATC.items()]
                             + [Term(terminology=atc, code="B", text="Blood and blood forming organs",
                                     normalized="blood", level="ATC1")])


def test_disproportionality_equals_the_tables_counted_by_hand(project, tmp_path):
    _noise(project, tmp_path)
    table = safety_disproportionality(project=project)
    assert table.reports == 20  # the raw note and the submitted-only note are not reports
    rows = {(r.drug, r.reaction): r.stats for r in table.rows}
    # Uncoded terminology: the MedDRA code as given; ATC at level 5.
    bleed = rows[("atc:B01AA03", "mdr:10005103")]
    assert (bleed.a, bleed.b, bleed.c, bleed.d) == (4, 2, 1, 13)
    expected = disproportionality(4, 2, 1, 13)
    assert (bleed.prr, bleed.ror_low, bleed.chi2) == (expected.prr, expected.ror_low, expected.chi2)
    assert bleed.signal
    # One amoxicillin -> rash relation was rejected: 4 notes confirm it; metformin co-occurs in those 4.
    assert (rows[("atc:J01CA04", "mdr:10037844")].a, rows[("atc:J01CA04", "mdr:10037844")].b) == (4, 1)
    metformin = rows[("atc:A10BA02", "mdr:10037844")]
    assert (metformin.a, metformin.b, metformin.c, metformin.d) == (4, 9, 0, 7)
    assert metformin.corrected
    assert table.rows[0].stats.signal  # signals first


def test_codes_roll_up_to_pt_soc_and_atc_levels_with_their_names(project):
    _load_terminologies()
    by_drug = safety_counts_by_drug(project=project)
    assert [(k.key, k.label, k.reports, k.ades) for k in by_drug] == [
        ("atc:J01CA04", "amoxicillin (ATC J01CA04)", 5, 5),
        ("atc:B01AA03", "warfarin (ATC B01AA03)", 4, 4),
        ("atc:B01AB01", "heparin (ATC B01AB01)", 1, 1),
    ]
    level_one = safety_counts_by_drug(project=project, atc_level=1)
    assert [(k.key, k.label, k.reports) for k in level_one] == [
        ("atc:B", "Blood and blood forming organs (ATC B)", 5), ("atc:J", "ATC J", 5)]
    by_pt = safety_counts_by_reaction(project=project)
    assert [(k.key, k.label, k.reports) for k in by_pt] == [
        ("pt:10037844", "Rash (PT 10037844)", 5), ("pt:10055798", "Haemorrhage (PT 10055798)", 5)]
    by_soc = safety_counts_by_reaction(project=project, level="soc")
    assert [k.key for k in by_soc] == ["soc:10040785", "soc:10047065"]
    table = safety_disproportionality(project=project, atc_level=1, reaction_level="soc")
    blood = {(r.drug, r.reaction): r.stats for r in table.rows}[("atc:B", "soc:10047065")]
    assert (blood.a, blood.b, blood.c, blood.d) == (5, 2, 0, 13)  # warfarin and heparin both under B


def test_uncoded_spans_count_under_their_text(tmp_path):
    project = project_get_or_create(slug="uncoded")
    from annotations.formats.jsonl import dumps_document

    path = tmp_path / "u.jsonl"
    docs = [note_doc(1, ["warfarin"], [("warfarin", "bleeding")], coded=False),
            note_doc(2, ["warfarin"], [("warfarin", "bleeding")], coded=False)]
    path.write_text("\n".join(dumps_document(d) for d in docs), encoding="utf-8")
    corpus_import(project=project, path=path, fmt="jsonl")
    assert [(k.key, k.label, k.coded) for k in safety_counts_by_drug(project=project)] == [("txt:warfarin", "warfarin", False)]
    assert [k.key for k in safety_counts_by_reaction(project=project)] == ["txt:bleeding"]
    (row,) = safety_disproportionality(project=project).rows
    assert row.stats is None  # every note mentions warfarin: nothing to compare with


def test_counts_over_time_by_month(project):
    months = safety_counts_over_time(project=project)
    assert [(m.month, m.reports, m.ades) for m in months] == [
        (date(2026, 1, 1), 4, 4), (date(2026, 2, 1), 1, 1), (date(2026, 3, 1), 5, 5)]


def test_newest_gold_set_wins(project):
    note = Note.objects.get(project=project, external_id="n001")
    old = AnnotationSet.objects.get(note=note)
    user = get_user_model().objects.create_user("curator")
    from annotations.services.document_store import annotation_sets_write

    newer = AnnotationSet.objects.create(note=note, source_kind="user", user=user, status="gold", source_name="rev")
    annotation_sets_write([(newer, note_doc(1, ["heparin"], [("heparin", "rash")]))], origin="human")
    assert AnnotationSet.objects.get(pk=newer.pk).updated_at >= old.updated_at
    keys = {k.key: k.reports for k in safety_counts_by_drug(project=project)}
    assert keys["atc:B01AA03"] == 3 and keys["atc:B01AB01"] == 2


@pytest.mark.parametrize("notes", [20, 60])
def test_query_counts_do_not_grow_with_the_notes(tmp_path, django_assert_max_num_queries, notes):
    project = project_get_or_create(slug=f"q{notes}")
    from annotations.formats.jsonl import dumps_document

    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(dumps_document(note_doc(i, ["warfarin", "metformin"], [("warfarin", "bleeding")]))
                              for i in range(notes)), encoding="utf-8")
    corpus_import(project=project, path=path, fmt="jsonl")
    with django_assert_max_num_queries(6):
        safety_disproportionality(project=project)
    with django_assert_max_num_queries(3):
        safety_counts_by_drug(project=project)
        safety_counts_over_time(project=project)


@pytest.fixture
def members(project):
    users = {}
    for role in ("annotator", "reviewer", "admin"):
        users[role] = get_user_model().objects.create_user(f"s-{role}", password="pw-" + role)
        ProjectMembership.objects.create(project=project, user=users[role], role=role)
    users["outsider"] = get_user_model().objects.create_user("s-outsider", password="pw-o")
    return users


@pytest.mark.parametrize("role,status", [("annotator", 403), ("reviewer", 200), ("admin", 200), ("outsider", 404)])
def test_the_page_is_for_reviewers_and_admins(project, members, role, status):
    client = Client()
    client.force_login(members[role])
    response = client.get(reverse("safety-overview", args=[project.slug]) + "?atc_level=1&reaction_level=soc")
    assert response.status_code == status
    chart = client.get(reverse("safety-chart", args=[project.slug, "disproportionality"]))
    assert chart.status_code == status
    if status == 200:
        page = response.content.decode()
        assert 'id="safety-table"' in page and "signal" in page and "ATC B" in page
        assert chart["Content-Type"] == "image/png" and chart.content.startswith(b"\x89PNG")
        over_time = client.get(reverse("safety-chart", args=[project.slug, "over-time"]))
        assert over_time.content.startswith(b"\x89PNG")
        assert client.get(reverse("safety-chart", args=[project.slug, "nope"])).status_code == 404
        cases = client.get(reverse("safety-overview", args=[project.slug]) + "?source=cases&atc_level=9")
        assert cases.status_code == 200 and "per case" in cases.content.decode()
        assert client.get(reverse("safety-chart", args=[project.slug, "over-time"]) + "?source=cases").status_code == 200


def test_the_page_escapes_names_from_the_data(tmp_path, members, project):
    from annotations.formats.jsonl import dumps_document

    path = tmp_path / "x.jsonl"
    evil = '<script>alert("x")</script>'
    path.write_text(dumps_document(note_doc(99, [evil], [(evil, "bleeding")], coded=False)), encoding="utf-8")
    corpus_import(project=project, path=path, fmt="jsonl", source_name="x")
    client = Client()
    client.force_login(members["reviewer"])
    page = client.get(reverse("safety-overview", args=[project.slug])).content.decode()
    assert evil.lower() not in page.lower() and "&lt;script&gt;" in page


# --- the "cases" source: confirmed (assessed or reported) cases, one report per case ---------------------------


def _case(project, user, ref, drugs, reactions, *, state="assessed", onset=date(2026, 3, 4)):
    from pharmacovigilance.models import Case, CaseDrug, CaseReaction

    case = Case.objects.create(project=project, reference=ref, patient_identifier=f"p-{ref}", created_by=user,
                               state=state, onset=onset)
    for k, (name, role) in enumerate(drugs):
        CaseDrug.objects.create(case=case, key=f"D{k + 1}", name=name, role=role,
                                code=ATC.get(name, ""), code_system="atc" if name in ATC else "")
    for k, term in enumerate(reactions):
        CaseReaction.objects.create(case=case, key=f"R{k + 1}", term=term, code=LLT.get(term, ""),
                                    code_system="meddra", code_version="27.0")
    return case


def test_confirmed_cases_are_the_reports_of_the_cases_source():
    project = project_get_or_create(slug="cases-source")
    user = get_user_model().objects.create_user("case-maker")
    for i in range(3):
        _case(project, user, f"c{i}", [("warfarin", "suspect"), ("metformin", "concomitant")], ["bleeding"])
    _case(project, user, "c3", [("warfarin", "suspect")], [], state="reported")
    _case(project, user, "c4", [("amoxicillin", "suspect")], ["rash", "bleeding"], onset=None)
    _case(project, user, "c5", [("metformin", "suspect")], ["rash"])
    _case(project, user, "draft", [("warfarin", "suspect")], ["bleeding"], state="draft")  # not confirmed
    _load_terminologies()
    by_drug = {k.key: (k.reports, k.ades) for k in safety_counts_by_drug(project=project, source="cases")}
    # A case's ADEs: each suspect drug with each of its reactions; concomitant metformin is not a suspect there.
    assert by_drug == {"atc:B01AA03": (4, 3), "atc:J01CA04": (1, 2), "atc:A10BA02": (1, 1)}
    by_pt = {k.key: (k.reports, k.ades) for k in safety_counts_by_reaction(project=project, source="cases")}
    assert by_pt == {"pt:10055798": (4, 4), "pt:10037844": (2, 2)}
    table = safety_disproportionality(project=project, source="cases")
    assert table.reports == 6
    rows = {(r.drug, r.reaction): r.stats for r in table.rows}
    warfarin = rows[("atc:B01AA03", "pt:10055798")]
    assert (warfarin.a, warfarin.b, warfarin.c, warfarin.d) == (3, 1, 1, 1)
    metformin = rows[("atc:A10BA02", "pt:10055798")]  # concomitant in c0-c2: named, so counted as exposure
    assert (metformin.a, metformin.b, metformin.c, metformin.d) == (3, 1, 1, 1)
    months = safety_counts_over_time(project=project, source="cases")
    assert [(m.month, m.reports, m.ades) for m in months] == [(date(2026, 3, 1), 5, 4), (None, 1, 2)]
