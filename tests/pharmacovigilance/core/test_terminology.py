"""The terminology readers on tiny made-up files in the real layouts (tests/fixtures/terminologies), broken
ones included, and the look-up scorer. No database."""

from __future__ import annotations

from pathlib import Path

import pytest

from pharmacovigilance.core import terminology as t

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "terminologies"


def read(system: str, folder: Path) -> tuple[list, list[str]]:
    found, problems = t.terminology_files(system, [p.name for p in folder.iterdir()])
    sources = {key: t.Source(member, lambda p=folder / member: t.lines_of(p.read_bytes()))
               for key, member in found.items()}
    records = list(t.READERS[system](sources, problems=problems))
    return records, [str(p) for p in problems]


def source(name: str, data: bytes) -> t.Source:
    return t.Source(name, lambda: t.lines_of(data))


# --- MedDRA -----------------------------------------------------------------------------------------------


def test_meddra_distribution_reads_every_level_and_the_hierarchy():
    records, problems = read("meddra", FIXTURES / "meddra" / "valid")
    assert problems == []
    terms = [r for r in records if isinstance(r, t.TermRecord)]
    by_level = {level: sum(1 for r in terms if r.level == level) for level in ("SOC", "HLGT", "HLT", "PT", "LLT")}
    assert by_level == {"SOC": 5, "HLGT": 5, "HLT": 6, "PT": 7, "LLT": 15}
    nosebleed = next(r for r in terms if r.text == "Nosebleed")
    assert (nosebleed.level, nosebleed.code, nosebleed.pt_code, nosebleed.pt_text, nosebleed.current) == (
        "LLT", "95000001", "94000001", "Epistaxis", True)
    assert next(r for r in terms if r.text == "Head ache").current is False  # llt_currency N
    paths = [r for r in records if isinstance(r, t.HierarchyRecord)]
    epistaxis = sorted((p.soc_code, p.primary) for p in paths if p.pt_code == "94000001")
    assert epistaxis == [("91000001", True), ("91000005", False)]  # multiaxial: one primary SOC


def test_meddra_broken_files_report_file_line_and_reason():
    records, problems = read("meddra", FIXTURES / "meddra" / "broken")
    assert problems == [
        "llt.asc:16: 3 fields, expected 11 ($-separated, ending in $)",
        "llt.asc:17: LLT code '9500X102' is not an 8-digit MedDRA code",
        "llt.asc:18: PT 94999999 is not in pt.asc",
        "llt.asc:19: llt_currency 'Q' is not Y or N",
        "llt.asc:20: not UTF-8 text (byte 13); save the file as UTF-8",
        "mdhier.asc:9: HLT 93000099 is not in hlt.asc",
    ]


def test_meddra_missing_files_are_named():
    records, problems = read("meddra", FIXTURES / "atc" / "valid")
    assert records == []
    assert "llt.asc: missing from the MedDRA files (MedAscii folder of the distribution)" in problems
    assert len(problems) == len(t.MEDDRA_REQUIRED)


def test_meddra_record_without_trailing_dollar_and_crlf_still_reads():
    valid = FIXTURES / "meddra" / "valid"
    files = {name: source(name, (valid / name).read_bytes()) for name in t.MEDDRA_REQUIRED}
    files["soc.asc"] = source("soc.asc", (valid / "soc.asc").read_bytes().replace(b"$\n", b"\r\n"))
    problems: list = []
    records = list(t.read_meddra(files, problems=problems))
    assert problems == [] and sum(1 for r in records if getattr(r, "level", "") == "SOC") == 5


def test_meddra_code_given_twice_and_empty_name_and_unknown_primary_soc():
    valid = FIXTURES / "meddra" / "valid"
    files = {name: source(name, (valid / name).read_bytes()) for name in t.MEDDRA_REQUIRED}
    pt = (valid / "pt.asc").read_bytes() + b"94000001$Again$$91000001$$$$$$$$\n94000050$$$91000001$$$$$$$$\n"
    pt += b"94000051$Nowhere$$91999999$$$$$$$$\n"
    files["pt.asc"] = source("pt.asc", pt)
    problems: list = []
    list(t.read_meddra(files, problems=problems))
    assert [str(p) for p in problems] == [
        "pt.asc:8: PT code 94000001 given twice",
        "pt.asc:9: PT 94000050 has no name",
        "pt.asc:10: primary SOC 91999999 is not in soc.asc",
    ]


def test_a_second_llt_file_in_the_archive_is_a_problem():
    found, problems = t.terminology_files("meddra", ["MedAscii/llt.asc", "old/llt.asc", "MedAscii/pt.asc",
                                                     "SeqAscii/llt.seq", "readme.txt"])
    assert found == {"llt.asc": "MedAscii/llt.asc", "pt.asc": "MedAscii/pt.asc"}
    assert [str(p) for p in problems] == ["old/llt.asc: a second llt.asc (the first is MedAscii/llt.asc)"]


def test_overlong_lines_and_nul_are_reported():
    problems: list = []
    src = t.Source("atc.csv", lambda: iter([(1, b"A,Alimentary"), (2, None), (3, b"B,Bl\x00od")]))
    records = list(t.read_atc({"atc.csv": src}, problems=problems))
    assert [r.code for r in records] == ["A"]
    assert [str(p) for p in problems] == ["atc.csv:2: line too long", "atc.csv:3: NUL character in the line"]


def test_problem_log_stops_reading_a_wrong_file():
    log = t.ProblemLog(3)
    src = source("llt.asc", b"x\n" * 100)
    with pytest.raises(t.TooManyProblems):
        list(t.read_atc({"llt.asc": src}, problems=log))
    assert len(log) == 3


# --- ATC --------------------------------------------------------------------------------------------------


def test_atc_csv_with_header_levels_from_code_length_and_repeated_rows_once():
    records, problems = read("atc", FIXTURES / "atc" / "valid")
    assert problems == []
    levels = {r.code: r.level for r in records}
    assert levels["B"] == "ATC1" and levels["B01"] == "ATC2" and levels["B01A"] == "ATC3"
    assert levels["B01AA"] == "ATC4" and levels["B01AA03"] == "ATC5"
    assert len(records) == 15  # metformin's second row (another DDD) is read once
    assert next(r.text for r in records if r.code == "J01C") == "Beta-lactam antibacterials, penicillins"


def test_atc_tsv_and_semicolons():
    for data in (b"B01AA03\twarfarin\tsome DDD\n", b"B01AA03;warfarin\n", b"B01AA03;warfarin;7,5;mg\n"):
        problems: list = []
        records = list(t.read_atc({"x": source("x.tsv", data)}, problems=problems))
        assert problems == [] and [(r.code, r.text) for r in records] == [("B01AA03", "warfarin")]


def test_atc_broken_file():
    records, problems = read("atc", FIXTURES / "atc" / "broken")
    assert [r.code for r in records] == ["B01AA03", "J01CA04"]
    assert problems == [
        "atc.csv:3: 'B01AA3' is not an ATC code (A, A10, A10B, A10BA or A10BA02)",
        "atc.csv:4: 1 column(s), expected code and name",
        "atc.csv:6: J01CA04 given twice with different names",
        "atc.csv:7: not UTF-8 text (byte 12); save the file as UTF-8",
    ]


@pytest.mark.parametrize(("code", "level"), [("A", "ATC1"), ("A10", "ATC2"), ("A10B", "ATC3"), ("A10BA", "ATC4"),
                                             ("A10BA02", "ATC5"), ("A1", None), ("A10BA2", None), ("10", None),
                                             ("a10", None), ("A10BA023", None)])
def test_atc_level(code, level):
    assert t.atc_level(code) == level


# --- SNOMED CT ----------------------------------------------------------------------------------------------


def test_snomed_snapshot_keeps_active_fsns_and_synonyms():
    records, problems = read("snomed", FIXTURES / "snomed" / "valid")
    assert problems == []
    assert [(r.code, r.level, r.text) for r in records] == [
        ("7100000001", "FSN", "Nosebleed (disorder)"),
        ("7100000001", "SYN", "Nosebleed"),
        ("7100000001", "SYN", "Bleeding from nose"),
        ("7100000002", "FSN", "Skin rash (disorder)"),
        ("7100000002", "SYN", "Rash"),
        ("7100000003", "FSN", "Warfarin (substance)"),
        ("7100000003", "SYN", "Warfarin"),
    ]  # the inactive description and the definition row are left out


def test_snomed_broken_files():
    records, problems = read("snomed", FIXTURES / "snomed" / "broken")
    assert [r.text for r in records] == ["Nosebleed (disorder)"]
    bad_header, *rows = problems
    assert bad_header.startswith("sct2_Description_Snapshot-en_BADHEADER_20990131.txt:1: the header is not RF2's")
    assert rows == [
        "sct2_Description_Snapshot-en_INT_20990131.txt:3: 8 columns, expected 9 (tab-separated)",
        "sct2_Description_Snapshot-en_INT_20990131.txt:4: id '71000X3013' is not a SNOMED CT id",
        "sct2_Description_Snapshot-en_INT_20990131.txt:5: active '2' is not 0 or 1",
        "sct2_Description_Snapshot-en_INT_20990131.txt:6: description 7100005015 has no term",
    ]


def test_snomed_files_are_found_by_name():
    found, _ = t.terminology_files("snomed", ["Snapshot/Terminology/sct2_Description_Snapshot-en_INT_20240101.txt",
                                              "Snapshot/Terminology/sct2_Concept_Snapshot_INT_20240101.txt",
                                              "Snapshot/Terminology/sct2_TextDefinition_Snapshot-en_INT.txt"])
    assert list(found) == ["Snapshot/Terminology/sct2_Description_Snapshot-en_INT_20240101.txt"]


# --- normalisation and ranking ------------------------------------------------------------------------------


def test_normalize_text():
    assert t.normalize_text("  Hépatite (AIGUË)--B ") == "hepatite aigue b"
    assert t.normalize_text("<script>alert(1)</script>") == "script alert 1 script"


def test_trigram_similarity_matches_pg_trgm_on_known_values():
    # PostgreSQL: SELECT similarity('word', 'two words') = 0.363636 (4 shared of 11 trigrams)
    assert t.trigram_similarity("word", "two words") == pytest.approx(4 / 11)
    assert t.trigram_similarity("abc", "abc") == 1.0
    assert t.trigram_similarity("", "abc") == 0.0


@pytest.mark.parametrize(("query", "best", "worse"), [
    ("rash", "Rash", "Rash pruritic"),  # the exact short term before the longer one
    ("nosebl", "Nosebleed", "Nose bleeding"),  # a word being typed
    ("hepatits", "Hepatitis", "Liver inflammation"),  # a typo
    ("itchy rash", "Itchy rash", "Rash"),
    ("bleeding gut", "Bleeding from the gut", "Gastrointestinal bleeding"),
])
def test_similarity_orders_what_was_meant_first(query, best, worse):
    assert t.similarity(query, best) > t.similarity(query, worse)


def test_rank_best_first_ties_by_length_and_minimum():
    texts = ["Rash pruritic", "Rash", "Skin rash", "Headache"]
    ranked = t.rank("rash", texts, text=lambda x: x, limit=3)
    assert [x for _, x in ranked] == ["Rash", "Rash pruritic", "Skin rash"]
    assert t.rank("rash", texts, text=lambda x: x, minimum=0.99) == [(1.0, "Rash")]
    assert t.rank("", texts, text=lambda x: x) == []


def test_term_hit_as_coded_value():
    hit = t.TermHit(system="meddra", code="95000001", text="Nosebleed", level="LLT", pt_code="94000001",
                    pt_text="Epistaxis", version="27.0", score=0.9)
    coded = hit.coded("nose bleed")
    assert (coded.text, coded.code, coded.preferred_term_code, coded.preferred_term, coded.version) == (
        "nose bleed", "95000001", "94000001", "Epistaxis", "27.0")
