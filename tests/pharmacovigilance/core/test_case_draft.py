"""A case drafted from a note's annotations, in the demo schema and in n2c2 2018's (reaction first, dose fields
as their own entities), plus the line listing's row. No database."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pharmacovigilance.core.case_draft import SourceEntity, SourceNote, SourceRelation, case_draft, name_key
from pharmacovigilance.core.line_listing import COLUMNS, line_listing_row, line_listing_rows
from pharmacovigilance.core.report import (
    CaseDrug,
    CaseReaction,
    CaseReport,
    CausalityAssessment,
    Coded,
    DrugRole,
    Seriousness,
    SourceDocument,
    WhoUmcCategory,
)

DEMO = ("SYNTHETIC NOTE 1. Admitted with worsening symptoms.\nMedications: warfarin 5 mg daily.\nOn day 4 the "
        "patient developed gastrointestinal bleeding, considered probably caused by Warfarin; it was stopped and "
        "symptoms resolved.\nNo rash.\nPlan: review in clinic in two weeks.\n")


def ent(text: str, id_: str, type_: str, word: str, nth: int = 0, attributes=()) -> SourceEntity:
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    return SourceEntity(id_, type_, ((start, start + len(word)),), word, tuple(attributes))


def demo_note() -> SourceNote:
    return SourceNote(
        external_id="demo-001", text=DEMO, written_at=datetime(2026, 3, 1, 8, tzinfo=UTC), annotation_set="7",
        entities=(
            ent(DEMO, "T1", "Drug", "warfarin"), ent(DEMO, "T2", "Dose", "5 mg daily"),
            ent(DEMO, "T3", "Adverse-Effect", "gastrointestinal bleeding", attributes=[("Certainty", "probable")]),
            ent(DEMO, "T4", "Drug", "Warfarin"), ent(DEMO, "T5", "Adverse-Effect", "rash", attributes=[("Negation", "")]),
        ),
        relations=(SourceRelation("R1", "Dose", "T2", "T1"), SourceRelation("R2", "Adverse-Effect", "T4", "T3")),
    )


def test_a_demo_note_drafts_one_suspect_drug_with_its_dose_and_one_reaction_with_their_evidence():
    draft = case_draft([demo_note()], ade_relation_types={"Adverse-Effect"})
    assert [(d.name, d.role, d.dose) for d in draft.drugs] == [("warfarin", DrugRole.SUSPECT, "5 mg daily")]
    drug = draft.drugs[0]
    # Both mentions ("warfarin", "Warfarin") are one drug; the dose's span is evidence too.
    assert sorted((e.kind, e.annotation_id) for e in drug.evidence) == [("dose", "T2"), ("drug", "T1"), ("drug", "T4")]
    assert [r.term for r in draft.reactions] == ["gastrointestinal bleeding"]  # the negated rash is left out
    assert draft.reactions[0].evidence[0].attributes == (("Certainty", "probable"),)
    (link,) = draft.links
    assert (link.drug, link.reaction, link.evidence.annotation_id) == (0, 0, "R2")
    assert DEMO[link.evidence.start:link.evidence.end].startswith("gastrointestinal bleeding")
    assert DEMO[link.evidence.start:link.evidence.end].endswith("Warfarin")
    assert draft.onset == date(2026, 3, 1)
    assert draft.narrative.startswith("demo-001 (2026-03-01): On day 4 the patient developed gastrointestinal")
    assert "No rash" not in draft.narrative and "Plan:" not in draft.narrative


def test_relation_types_that_are_not_ade_evidence_do_not_make_a_drug_suspect():
    note = demo_note()
    other = SourceNote(note.external_id, note.text, note.written_at, note.entities,
                       (SourceRelation("R1", "Dose", "T2", "T1"), SourceRelation("R2", "Treats", "T4", "T3")))
    draft = case_draft([other], ade_relation_types={"Adverse-Effect"})
    assert draft.links == ()
    # No drug-reaction relation at all: every drug stays suspect until the reviewer says otherwise.
    assert [d.role for d in draft.drugs] == [DrugRole.SUSPECT]


N2C2 = ("Patient was given vancomycin 1 g IV q12h for 7 days.\nDeveloped red man syndrome after the second dose.\n"
        "Also on aspirin 81 mg PO daily.\n")


def test_an_n2c2_note_reads_reaction_first_relations_and_dose_route_frequency_duration():
    e = lambda *a, **k: ent(N2C2, *a, **k)  # noqa: E731
    note = SourceNote(
        external_id="100035", text=N2C2,
        entities=(e("T1", "Drug", "vancomycin"), e("T2", "Strength", "1 g"), e("T3", "Route", "IV"),
                  e("T4", "Frequency", "q12h"), e("T5", "Duration", "for 7 days"), e("T6", "ADE", "red man syndrome"),
                  e("T7", "Drug", "aspirin"), e("T8", "Strength", "81 mg"), e("T9", "Route", "PO")),
        relations=(SourceRelation("R1", "Strength-Drug", "T2", "T1"), SourceRelation("R2", "Route-Drug", "T3", "T1"),
                   SourceRelation("R3", "Frequency-Drug", "T4", "T1"), SourceRelation("R4", "Duration-Drug", "T5", "T1"),
                   SourceRelation("R5", "ADE-Drug", "T6", "T1"), SourceRelation("R6", "Strength-Drug", "T8", "T7"),
                   SourceRelation("R7", "Route-Drug", "T9", "T7")),
    )
    draft = case_draft([note], ade_relation_types={"ADE-Drug"})
    vanco, aspirin = draft.drugs
    assert (vanco.name, vanco.role, vanco.dose, vanco.route, vanco.frequency, vanco.duration) == (
        "vancomycin", DrugRole.SUSPECT, "1 g", "IV", "q12h", "for 7 days")
    assert (aspirin.name, aspirin.role, aspirin.dose, aspirin.route) == ("aspirin", DrugRole.CONCOMITANT, "81 mg", "PO")
    assert [r.term for r in draft.reactions] == ["red man syndrome"] and len(draft.links) == 1
    assert draft.onset is None  # undated note


def test_two_notes_merge_their_mentions_by_name():
    second = SourceNote("demo-002", "Follow-up: warfarin restarted; the gastrointestinal bleeding recurred.",
                        datetime(2026, 3, 9, tzinfo=UTC))
    second = SourceNote(second.external_id, second.text, second.written_at, entities=(
        ent(second.text, "T1", "Drug", "warfarin"), ent(second.text, "T2", "Adverse-Effect", "gastrointestinal bleeding")),
        relations=(SourceRelation("R1", "Adverse-Effect", "T1", "T2"),))
    draft = case_draft([demo_note(), second], ade_relation_types={"Adverse-Effect"})
    assert len(draft.drugs) == 1 and len(draft.reactions) == 1 and len(draft.links) == 1
    assert {e.note_external_id for e in draft.reactions[0].evidence} == {"demo-001", "demo-002"}
    assert draft.onset == date(2026, 3, 1)
    assert "demo-002 (2026-03-09): Follow-up" in draft.narrative


def test_name_keys_ignore_case_spaces_and_edge_punctuation():
    assert name_key(" Warfarin. ") == name_key("warfarin") == "warfarin"
    assert name_key("Red  man\nsyndrome") == "red man syndrome"


def test_a_line_listing_row_names_drugs_reactions_seriousness_and_causality():
    report = CaseReport(
        case_id="ui-7", patient_id="patient-7", patient_sex="female", patient_age_years=71,
        drugs=(CaseDrug("D1", Coded("warfarin", "B01AA03", "atc"), dose="5 mg daily"),
               CaseDrug("D2", Coded("=HYPERLINK(1)"), role=DrugRole.CONCOMITANT)),
        reactions=(CaseReaction("R1", Coded("GI bleed", "10017955", "meddra", "10017955", "Gastrointestinal "
                                            "haemorrhage", "27.0"), onset=date(2026, 3, 3)),),
        causality=(CausalityAssessment("D1", "R1", WhoUmcCategory.PROBABLE, 6, "probable", "rev"),),
        seriousness=frozenset({Seriousness.HOSPITALISATION}), sources=(SourceDocument("note-ade"),),
    )
    row = dict(zip(COLUMNS, line_listing_row(report), strict=True))
    assert row["suspect drugs"] == "warfarin [ATC B01AA03] 5 mg daily"
    assert row["concomitant drugs"] == "=HYPERLINK(1)"  # written as data; the CSV/XLSX writers make it safe
    assert row["MedDRA PT"] == "Gastrointestinal haemorrhage (10017955)" and row["onset"] == "2026-03-03"
    assert row["serious"] == "yes" and row["seriousness criteria"] == "Requires or prolongs hospitalisation"
    assert row["causality"] == "warfarin / GI bleed: WHO-UMC probable, Naranjo 6 (probable)"
    assert row["source notes"] == "note-ade" and row["age"] == "71"
    rows = list(line_listing_rows([report, report]))
    assert rows[0] == list(COLUMNS) and len(rows) == 3
