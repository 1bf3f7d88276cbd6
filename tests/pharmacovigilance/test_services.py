"""The case services on PostgreSQL: opening a case from a confirmed note, edits with their version check, drugs,
reactions, another note of the patient, causality, state transitions, the audit trail, and the CaseReport the
writers read."""

from __future__ import annotations

from datetime import date

import pytest

from annotations.audit.models import AuditEvent
from annotations.errors import ApplicationError, ConflictError
from annotations.models import Project
from pharmacovigilance import selectors, services
from pharmacovigilance.core.report import CaseState, DrugRole, Seriousness, WhoUmcCategory
from pharmacovigilance.models import Case, CaseEvidence, Causality

from .world import TEXT

pytestmark = pytest.mark.django_db


def open_case(pv, user="reviewer2") -> Case:
    return services.case_open_from_note(note=pv.confirmed, by=pv.users[user]).case


def test_a_confirmed_note_opens_a_case_prefilled_from_its_signed_off_annotations(pv):
    opened = services.case_open_from_note(note=pv.confirmed, by=pv.users["reviewer2"])
    case = opened.case
    assert opened.created and case.state == CaseState.DRAFT and case.version == 1
    assert case.reference == f"pv-{case.pk}"
    assert (case.patient_id, case.patient_identifier) == (pv.patient.pk, "patient-7")
    assert (case.patient_sex, case.patient_age_years) == ("female", 71)  # from the patient's metadata
    assert case.onset == date(2026, 3, 4)  # the note's date
    assert case.reporter_qualification == "physician"  # the note's author role
    assert list(case.notes.all()) == [pv.confirmed]
    drugs = list(case.drugs.order_by("position"))
    assert [(d.key, d.name, d.role, d.dose) for d in drugs] == [
        ("D1", "warfarin", "suspect", "5 mg daily"), ("D2", "metformin", "concomitant", "")]
    (reaction,) = case.reactions.all()
    assert (reaction.key, reaction.term) == ("R1", "gastrointestinal bleeding")  # the negated rash is left out
    evidence = CaseEvidence.objects.filter(case=case)
    warfarin = [(e.kind, TEXT[e.start:e.end]) for e in evidence.filter(drug=drugs[0], reaction=None)]
    assert sorted(warfarin) == [("dose", "5 mg daily"), ("drug", "warfarin"), ("drug", "warfarin")]
    relation = evidence.get(kind="relation")
    assert (relation.drug, relation.reaction, relation.annotation_local_id) == (drugs[0], reaction, "R2")
    source = relation.annotation_set
    assert source.status == "gold" and relation.annotation_set_version == source.version
    assert evidence.get(kind="reaction").attributes == [["Certainty", "probable"]]
    assert case.narrative.startswith("note-ade (2026-03-04): On day 4 the patient developed gastrointestinal")
    record = AuditEvent.objects.get(action="case_change")
    assert (record.actor, record.note_id, record.object_id) == (pv.users["reviewer2"], pv.confirmed.pk, str(case.pk))
    assert record.details["op"] == "open" and record.details["drugs"] == 2
    assert "warfarin" not in str(record.details)  # ids and counts, never clinical words


def test_opening_again_lands_on_the_notes_case(pv):
    first = open_case(pv)
    again = services.case_open_from_note(note=pv.confirmed, by=pv.users["admin"])
    assert not again.created and again.case.pk == first.pk and Case.objects.count() == 1


@pytest.mark.parametrize(("who", "code"), [("annotator", "forbidden"), ("outsider", "forbidden")])
def test_only_reviewers_and_admins_open_cases(pv, who, code):
    with pytest.raises(ApplicationError) as error:
        services.case_open_from_note(note=pv.confirmed, by=pv.users[who])
    assert error.value.code == code and error.value.status == 403
    assert Case.objects.count() == 0


def test_a_note_not_confirmed_opens_no_case(pv):
    with pytest.raises(ApplicationError) as error:
        services.case_open_from_note(note=pv.unconfirmed, by=pv.users["reviewer"])
    assert (error.value.code, error.value.status) == ("not_confirmed", 409)


def test_an_archived_project_opens_no_case(pv):
    from django.utils import timezone

    Project.objects.filter(pk=pv.project.pk).update(archived_at=timezone.now())
    pv.confirmed.project.refresh_from_db()
    with pytest.raises(ApplicationError) as error:
        services.case_open_from_note(note=pv.confirmed, by=pv.users["admin"])
    assert error.value.code == "archived"


def test_an_update_on_a_stale_version_is_refused_and_writes_nothing(pv):
    case = open_case(pv)
    services.case_update(case=case, by=pv.users["reviewer"], version=1, seriousness=["hospitalisation"],
                         narrative="Edited narrative.")
    assert case.version == 2
    stale = Case.objects.get(pk=case.pk)
    stale.version = 1
    with pytest.raises(ConflictError) as error:
        services.case_update(case=stale, by=pv.users["reviewer2"], version=1, narrative="Overwrite")
    assert error.value.status == 409 and error.value.current_version == 2
    case.refresh_from_db()
    assert case.narrative == "Edited narrative." and case.seriousness == {Seriousness.HOSPITALISATION}
    assert AuditEvent.objects.filter(action="case_change", details__op="update").count() == 1


def test_seriousness_is_the_set_given_and_bad_values_are_refused(pv):
    case = open_case(pv)
    services.case_update(case=case, by=pv.users["reviewer"], version=1, seriousness=["death", "life_threatening"])
    services.case_update(case=case, by=pv.users["reviewer"], version=2, seriousness=["hospitalisation"])
    case.refresh_from_db()
    assert case.seriousness == {Seriousness.HOSPITALISATION} and case.serious_death is False
    for bad in ({"seriousness": ["sneezing"]}, {"onset": "yesterday"}, {"patient_age_years": "200"},
                {"reporter_qualification": "astrologer"}, {"colour": "red"}):
        with pytest.raises(ApplicationError):
            services.case_update(case=case, by=pv.users["reviewer"], version=3, **bad)
    assert Case.objects.get(pk=case.pk).version == 3


def test_drugs_and_reactions_are_added_changed_and_removed_with_their_causality(pv):
    case = open_case(pv)
    drug = services.case_drug_add(case=case, by=pv.users["reviewer"], version=1, name="clopidogrel", role="suspect",
                                  start="2026-02-20", end="2026-03-04", code="B01AC04", code_system="atc")
    assert drug.key == "D3" and case.version == 2 and drug.start == date(2026, 2, 20)
    reaction = services.case_reaction_add(case=case, by=pv.users["reviewer"], version=2, term="anaemia",
                                          outcome="recovering")
    assert reaction.key == "R2" and case.version == 3
    services.case_reaction_update(case=case, reaction_id=reaction.pk, by=pv.users["reviewer"], version=3,
                                  code="10002034", code_system="meddra", code_version="27.0", pt_code="10002034",
                                  pt_text="Anaemia")
    services.case_causality_assess(case=case, drug_id=drug.pk, reaction_id=reaction.pk, by=pv.users["reviewer"],
                                   version=4, who_umc="possible")
    with pytest.raises(ApplicationError) as error:
        services.case_drug_update(case=case, drug_id=drug.pk, by=pv.users["reviewer"], version=5,
                                  start="2026-03-10", end="2026-03-01")
    assert error.value.code == "bad_dates"
    # Concomitant now: its assessment was about a suspect and goes.
    services.case_drug_update(case=case, drug_id=drug.pk, by=pv.users["reviewer"], version=5, role="concomitant")
    assert not Causality.objects.filter(drug=drug).exists()
    services.case_reaction_remove(case=case, reaction_id=reaction.pk, by=pv.users["reviewer"], version=6)
    services.case_drug_remove(case=case, drug_id=drug.pk, by=pv.users["reviewer"], version=7)
    assert case.version == 8 and case.drugs.count() == 2 and case.reactions.count() == 1
    ops = list(AuditEvent.objects.filter(action="case_change").order_by("pk").values_list("details__op", flat=True))
    assert ops == ["open", "drug_add", "reaction_add", "reaction_update", "causality", "drug_update",
                   "reaction_remove", "drug_remove"]


def test_an_id_of_another_case_is_not_found(pv):
    case = open_case(pv)
    other = Case.objects.create(project=pv.project, reference="x", patient_identifier="p", created_by=pv.users["admin"])
    foreign = services.case_drug_add(case=other, by=pv.users["admin"], version=1, name="aspirin")
    with pytest.raises(ApplicationError) as error:
        services.case_drug_remove(case=case, drug_id=foreign.pk, by=pv.users["reviewer"], version=1)
    assert (error.value.code, error.value.status) == ("not_found", 404)


def test_causality_is_scored_from_the_answers_and_recorded_with_its_assessor(pv):
    case = open_case(pv)
    d1, r1 = case.drugs.get(key="D1"), case.reactions.get(key="R1")
    row = services.case_causality_assess(case=case, drug_id=d1.pk, reaction_id=r1.pk, by=pv.users["reviewer"],
                                         version=1, who_umc="probable",
                                         naranjo_answers={"2": "yes", "3": "yes", "5": "no", "8": "dont_know"})
    assert (row.naranjo_score, row.naranjo_category, row.who_umc) == (5, "probable", "probable")
    assert row.naranjo_answers["2"] == "yes" and row.naranjo_answers["1"] == "dont_know"
    assert row.assessed_by == pv.users["reviewer"] and row.assessed_at is not None
    # Assessed again: the one row of the pair changes.
    services.case_causality_assess(case=case, drug_id=d1.pk, reaction_id=r1.pk, by=pv.users["reviewer2"],
                                   version=2, naranjo_answers={"2": "yes", "3": "yes", "4": "yes", "5": "no",
                                                               "10": "yes", "7": "yes", "8": "yes"})
    row = Causality.objects.get(drug=d1, reaction=r1)
    assert (row.naranjo_score, row.naranjo_category, row.who_umc, row.assessed_by.username) == (
        10, "definite", "", "reviewer2")
    concomitant = case.drugs.get(key="D2")
    for bad, code in (({"naranjo_answers": {"11": "yes"}}, "bad_naranjo"), ({"who_umc": "sure"}, "bad_who_umc"),
                      ({}, "empty_assessment")):
        with pytest.raises(ApplicationError) as error:
            services.case_causality_assess(case=case, drug_id=d1.pk, reaction_id=r1.pk, by=pv.users["reviewer"],
                                           version=3, **bad)
        assert error.value.code == code
    with pytest.raises(ApplicationError) as error:
        services.case_causality_assess(case=case, drug_id=concomitant.pk, reaction_id=r1.pk, by=pv.users["reviewer"],
                                       version=3, who_umc="possible")
    assert error.value.code == "not_suspect"


def test_assessed_needs_every_suspect_and_reaction_assessed_then_records_who_and_when(pv):
    case = open_case(pv)
    with pytest.raises(ApplicationError) as error:
        services.case_transition(case=case, by=pv.users["reviewer"], version=1, to="assessed")
    assert error.value.code == "incomplete" and error.value.details["gaps"] == [
        "Causality of D1 for R1 is not assessed."]
    d1, r1 = case.drugs.get(key="D1"), case.reactions.get(key="R1")
    services.case_causality_assess(case=case, drug_id=d1.pk, reaction_id=r1.pk, by=pv.users["reviewer"], version=1,
                                   naranjo_answers={"2": "yes"})
    services.case_transition(case=case, by=pv.users["reviewer"], version=2, to="assessed")
    case.refresh_from_db()
    assert (case.state, case.assessed_by, case.version) == ("assessed", pv.users["reviewer"], 3)
    assert case.assessed_at is not None
    # An assessed case changes no more until reopened.
    with pytest.raises(ApplicationError) as error:
        services.case_update(case=case, by=pv.users["reviewer"], version=3, narrative="x")
    assert (error.value.code, error.value.status) == ("not_draft", 409)
    with pytest.raises(ApplicationError) as error:
        services.case_transition(case=case, by=pv.users["reviewer"], version=3, to="assessed")
    assert error.value.code == "bad_transition"
    services.case_transition(case=case, by=pv.users["admin"], version=3, to="reported")
    case.refresh_from_db()
    assert (case.state, case.reported_by) == ("reported", pv.users["admin"])
    for to in ("draft", "assessed"):
        with pytest.raises(ApplicationError) as error:
            services.case_transition(case=case, by=pv.users["admin"], version=4, to=to)
        assert error.value.code == "reported"
    with pytest.raises(ApplicationError):
        services.case_drug_add(case=case, by=pv.users["admin"], version=4, name="x")


def test_reopening_an_assessed_case_makes_it_a_draft_again(pv):
    case = open_case(pv)
    d1, r1 = case.drugs.get(key="D1"), case.reactions.get(key="R1")
    services.case_causality_assess(case=case, drug_id=d1.pk, reaction_id=r1.pk, by=pv.users["reviewer"], version=1,
                                   who_umc="possible")
    services.case_transition(case=case, by=pv.users["reviewer"], version=2, to="assessed")
    services.case_transition(case=case, by=pv.users["reviewer"], version=3, to="draft")
    case.refresh_from_db()
    assert case.state == "draft" and case.assessed_by is None
    services.case_update(case=case, by=pv.users["reviewer"], version=4, narrative="corrected")


def test_a_case_with_no_suspect_or_reaction_cannot_be_assessed(pv):
    case = open_case(pv)
    services.case_reaction_remove(case=case, reaction_id=case.reactions.get().pk, by=pv.users["reviewer"], version=1)
    services.case_drug_update(case=case, drug_id=case.drugs.get(key="D1").pk, by=pv.users["reviewer"], version=2,
                              role="concomitant")
    assert services.case_assessment_gaps(case) == ["The case has no suspect drug.", "The case has no reaction."]


def test_another_note_of_the_same_patient_joins_with_its_drugs_reactions_and_evidence(pv):
    case = open_case(pv)
    services.case_note_add(case=case, note=pv.follow_up, by=pv.users["reviewer"], version=1)
    assert case.version == 2 and set(case.notes.all()) == {pv.confirmed, pv.follow_up}
    assert [d.name for d in case.drugs.order_by("position")] == ["warfarin", "metformin"]  # merged by name
    assert [r.term for r in case.reactions.order_by("position")] == ["gastrointestinal bleeding", "melaena"]
    bleeding = case.reactions.get(key="R1")
    assert {e.note_id for e in bleeding.evidence.all()} == {pv.confirmed.pk, pv.follow_up.pk}
    for target, code in ((pv.stranger, "other_patient"), (pv.follow_up, "already_in_case")):
        with pytest.raises(ApplicationError) as error:
            services.case_note_add(case=case, note=target, by=pv.users["reviewer"], version=2)
        assert error.value.code == code
    # A note without gold annotations joins as a source only.
    services.case_note_add(case=case, note=pv.unconfirmed, by=pv.users["reviewer"], version=2)
    assert case.notes.count() == 3 and case.drugs.count() == 2


def test_the_case_report_carries_the_case_for_the_writers(pv):
    case = open_case(pv)
    d1, r1 = case.drugs.get(key="D1"), case.reactions.get(key="R1")
    services.case_reaction_update(case=case, reaction_id=r1.pk, by=pv.users["reviewer"], version=1, code="10017955",
                                  code_system="meddra", code_version="27.0", code_text="GI bleeding",
                                  pt_code="10017955", pt_text="Gastrointestinal haemorrhage", outcome="recovered")
    services.case_causality_assess(case=case, drug_id=d1.pk, reaction_id=r1.pk, by=pv.users["reviewer"], version=2,
                                   who_umc="probable", naranjo_answers={"2": "yes", "3": "yes", "5": "no"})
    services.case_update(case=case, by=pv.users["reviewer"], version=3, seriousness=["hospitalisation"],
                         reporter="Dr Example")
    report = selectors.case_report(Case.objects.get(pk=case.pk))
    assert report.case_id == case.reference and report.patient_id == "patient-7" and report.serious
    assert report.seriousness == {Seriousness.HOSPITALISATION} and report.reporter == "Dr Example"
    warfarin = report.drugs[0]
    assert (warfarin.key, warfarin.name.text, warfarin.role, warfarin.dose) == ("D1", "warfarin", DrugRole.SUSPECT,
                                                                               "5 mg daily")
    assert [e.text for e in warfarin.evidence] == ["warfarin", "5 mg daily", "warfarin"]
    bleeding = report.reactions[0]
    assert (bleeding.term.code, bleeding.term.system, bleeding.term.preferred_term_code, bleeding.term.version) == (
        "10017955", "meddra", "10017955", "27.0")
    assert bleeding.onset == date(2026, 3, 4)  # the case's onset when the reaction has none of its own
    assert "gastrointestinal bleeding, considered probably caused by warfarin" in [e.text for e in bleeding.evidence]
    (c,) = report.causality
    assert (c.drug_key, c.reaction_key, c.who_umc, c.naranjo_score, c.naranjo_category, c.assessor) == (
        "D1", "R1", WhoUmcCategory.PROBABLE, 5, "probable", "reviewer")
    assert [s.note_external_id for s in report.sources] == ["note-ade"]
    # The batch reader gives the same report, without evidence when asked.
    (batched,) = selectors.case_reports(Case.objects.filter(pk=case.pk), with_evidence=False)
    assert batched.causality == report.causality and batched.drugs[0].evidence == ()


def test_the_case_list_is_for_reviewers_and_admins_and_filters_like_the_line_listing(pv):
    case = open_case(pv)
    services.case_update(case=case, by=pv.users["reviewer"], version=1, seriousness=["hospitalisation"])
    other = Case.objects.create(project=pv.project, reference="pv-other", patient_identifier="patient-9",
                                created_by=pv.users["admin"], onset=date(2025, 1, 1))
    services.case_reaction_add(case=other, by=pv.users["admin"], version=1, term="rash")

    def listed(user="reviewer", **f):
        filters = selectors.CaseFilters(**f)
        return {c.reference for c in selectors.case_list_for_user(user=pv.users[user], project=pv.project,
                                                                   filters=filters)}

    assert listed() == {case.reference, "pv-other"} == listed("admin")
    assert listed("annotator") == set() and listed("outsider") == set()
    assert listed(drug="WARFARIN") == {case.reference}
    assert listed(reaction="rash") == {"pv-other"}
    assert listed(seriousness="serious") == {case.reference} and listed(seriousness="non_serious") == {"pv-other"}
    assert listed(seriousness="hospitalisation") == {case.reference} and listed(seriousness="death") == set()
    assert listed(date_from=date(2026, 1, 1)) == {case.reference}
    assert listed(date_to=date(2025, 6, 1), dates="onset") == {"pv-other"}
    assert listed(state="assessed") == set()
    d1, r1 = case.drugs.get(key="D1"), case.reactions.get(key="R1")
    services.case_causality_assess(case=case, drug_id=d1.pk, reaction_id=r1.pk, by=pv.users["reviewer"], version=2,
                                   who_umc="certain", naranjo_answers={"2": "yes"})
    assert listed(who_umc="certain") == {case.reference} and listed(who_umc="possible") == set()
    assert listed(naranjo="possible") == {case.reference} and listed(naranjo="definite") == set()
    with pytest.raises(ApplicationError) as error:
        selectors.case_filters_clean({"seriousness": "very"})
    assert error.value.code == "bad_filter"


def test_the_case_page_pre_answers_what_the_note_says_with_its_evidence(pv):
    case = open_case(pv)
    page = selectors.case_page(case=case)
    (pair,) = page.pairs  # warfarin x bleeding; metformin is concomitant
    assert (pair.drug.key, pair.reaction.key, pair.causality) == ("D1", "R1", None)
    assert pair.suggestions[2].answer == "yes" and pair.suggestions[3].answer == "yes"
    assert "it was stopped and symptoms resolved" in pair.suggestions[3].evidence[0].text
    assert pair.who_umc_suggestion.answer == "probable"
    assert pair.result.score == 3 and pair.result.category == "possible"  # 2 + 1 from the suggestions, unsaved
    assert [e.quote for e in page.evidence_by_drug[pair.drug.pk]] == ["warfarin", "5 mg daily", "warfarin"]
    # Unsaved answers (the live score) replace the pair's.
    page = selectors.case_page(case=case, pair_answers={pair.id: {"2": "no"}})
    assert page.pairs[0].result.score == -1
