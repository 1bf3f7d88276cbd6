"""terminology_load on PostgreSQL: a whole distribution in one transaction, the previous version replaced
atomically, nothing half-loaded from a broken file or a hostile archive; the command; proposing codes."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from annotations.audit.models import AuditAction, AuditEvent
from annotations.errors import ApplicationError
from annotations.models import AnnotationSet, Entity, Normalization, Note
from pharmacovigilance.terminology.models import Term, TermHierarchy, Terminology
from pharmacovigilance.terminology.services import normalizations_propose, terminology_load

from .conftest import ATC, MEDDRA, MEDDRA_BROKEN, SNOMED, meddra_copy

pytestmark = pytest.mark.django_db


def test_meddra_loads_every_level_the_hierarchy_and_an_audit_record(staff):
    result = terminology_load(by=staff, system="meddra", version="27.0", files=MEDDRA)
    t = result.terminology
    assert (t.system, t.version, t.current, t.loaded_by, t.loaded_from) == ("meddra", "27.0", True, staff, "valid")
    assert result.counts == {"SOC": 5, "HLGT": 5, "HLT": 6, "PT": 7, "LLT": 15, "hierarchy": 8}
    assert Term.objects.filter(terminology=t).count() == 38
    nosebleed = Term.objects.get(terminology=t, level="LLT", code="95000001")
    assert (nosebleed.text, nosebleed.normalized, nosebleed.pt_code, nosebleed.pt_text) == (
        "Nosebleed", "nosebleed", "94000001", "Epistaxis")
    assert TermHierarchy.objects.filter(terminology=t, pt_code="94000001", primary=True).get().soc_code == "91000001"
    event = AuditEvent.objects.get(action=AuditAction.TERMINOLOGY_LOAD)
    assert event.actor == staff and event.object_id == str(t.pk)
    assert event.details["counts"]["LLT"] == 15 and event.details["replaced"] is None


def test_a_new_version_replaces_the_old_one_atomically(staff, tmp_path):
    first = terminology_load(by=staff, system="meddra", version="26.1", files=MEDDRA).terminology
    folder = meddra_copy(tmp_path)
    with open(folder / "llt.asc", "a", encoding="utf-8") as f:
        f.write("95000200$Nose bleed recurrent$94000001$$$$$$$Y$$\n")
    result = terminology_load(by=staff, system="meddra", version="27.0", files=folder)
    first.refresh_from_db()
    assert first.current is False and first.replaced_at is not None
    assert result.replaced == first and result.terminology.current
    assert Term.objects.filter(terminology=first).count() == 0  # the old terms go with the load
    assert Term.objects.filter(terminology=result.terminology, code="95000200").exists()
    assert list(Terminology.objects.filter(current=True).values_list("version", flat=True)) == ["27.0"]
    assert AuditEvent.objects.filter(action=AuditAction.TERMINOLOGY_LOAD).order_by("pk").last().details["replaced"] == {
        "id": first.pk, "version": "26.1"}


def test_a_broken_distribution_loads_nothing_and_keeps_the_current_version(staff):
    current = terminology_load(by=staff, system="meddra", version="26.1", files=MEDDRA).terminology
    terms_before = Term.objects.count()
    with pytest.raises(ApplicationError) as exc:
        terminology_load(by=staff, system="meddra", version="27.0", files=MEDDRA_BROKEN)
    assert exc.value.code == "terminology_refused"
    assert exc.value.message.startswith("Nothing loaded: 6 problems in the files, first llt.asc:16: 3 fields")
    problems = exc.value.details["problems"]
    assert {"file": "llt.asc", "line": 18, "reason": "PT 94999999 is not in pt.asc"} in problems
    assert {"file": "mdhier.asc", "line": 9, "reason": "HLT 93000099 is not in hlt.asc"} in problems
    assert Term.objects.count() == terms_before
    assert list(Terminology.objects.values_list("version", "current")) == [("26.1", True)]
    current.refresh_from_db()
    assert current.current


def test_a_zip_of_the_medascii_folder_loads(staff, tmp_path):
    archive = tmp_path / "MedDRA_27_0_English.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in MEDDRA.iterdir():
            z.write(path, f"MedDRA_27_0_English/MedAscii/{path.name}")
        z.writestr("MedDRA_27_0_English/readme.txt", "not a table")
    result = terminology_load(by=staff, system="meddra", version="27.0", files=archive)
    assert result.counts["LLT"] == 15 and result.terminology.loaded_from == "MedDRA_27_0_English.zip"


def test_hostile_archives_are_refused_before_anything_is_read(staff, tmp_path):
    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as z:
        z.writestr("../llt.asc", "x")
    with pytest.raises(ApplicationError) as exc:
        terminology_load(by=staff, system="meddra", version="1", files=slip)
    assert "'..' component" in exc.value.message

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("llt.asc", b"0" * (3 * 1024 * 1024))  # 3 MiB of zeros compress to a few KiB
    from django.test import override_settings

    with override_settings(ADE_REVIEW_MAX_TERMINOLOGY_BYTES=1024 * 1024), pytest.raises(ApplicationError) as exc:
        terminology_load(by=staff, system="meddra", version="1", files=bomb)
    assert "beyond the per-document limit" in exc.value.message and "zip bomb" in exc.value.message
    assert not Terminology.objects.exists()


def test_a_huge_line_is_a_problem_not_a_memory_hog(staff, tmp_path, settings):
    settings.ADE_REVIEW_MAX_TERMINOLOGY_LINE_BYTES = 1000
    path = tmp_path / "atc.csv"
    path.write_bytes(b"B01AA03,warfarin\nA10," + b"x" * 5000 + b"\n")
    with pytest.raises(ApplicationError) as exc:
        terminology_load(by=staff, system="atc", version="1", files=path)
    assert exc.value.details["problems"] == [{"file": "atc.csv", "line": 2, "reason": "line too long"}]


def test_a_file_of_only_problems_stops_at_the_cap(staff, tmp_path):
    path = tmp_path / "atc.csv"
    path.write_text("nonsense\n" * 2000, encoding="utf-8")
    with pytest.raises(ApplicationError) as exc:
        terminology_load(by=staff, system="atc", version="1", files=path)
    assert len(exc.value.details["problems"]) == 500 and "500+ problems" in exc.value.message


def test_an_empty_terminology_and_bad_parameters(staff, tmp_path):
    (tmp_path / "atc.csv").write_text("ATC code,name\n", encoding="utf-8")
    with pytest.raises(ApplicationError, match="no ATC terms found"):
        terminology_load(by=staff, system="atc", version="1", files=tmp_path / "atc.csv")
    with pytest.raises(ApplicationError) as exc:
        terminology_load(by=staff, system="icd10", version="1", files=ATC)
    assert exc.value.code == "bad_parameters"
    with pytest.raises(ApplicationError) as exc:
        terminology_load(by=staff, system="atc", version="<b>", files=ATC)
    assert exc.value.code == "bad_parameters"


def test_a_stop_request_rolls_the_load_back(staff):
    calls = []

    def stop():
        calls.append(1)
        return True

    with pytest.raises(ApplicationError) as exc:
        terminology_load(by=staff, system="atc", version="1", files=ATC, should_stop=stop)
    assert exc.value.code == "cancelled" and calls
    assert not Terminology.objects.exists() and not Term.objects.exists()


def test_progress_is_reported_in_kib(staff):
    seen = []
    terminology_load(by=staff, system="snomed", version="20990131", files=SNOMED,
                     progress=lambda done, total: seen.append((done, total)))
    assert seen and all(0 <= done <= total for done, total in seen)


def test_systems_are_independent(staff):
    terminology_load(by=staff, system="meddra", version="27.0", files=MEDDRA)
    terminology_load(by=staff, system="atc", version="2024", files=ATC)
    terminology_load(by=staff, system="snomed", version="20990131", files=SNOMED)
    assert sorted(Terminology.objects.filter(current=True).values_list("system", flat=True)) == ["atc", "meddra",
                                                                                               "snomed"]


# --- the command ----------------------------------------------------------------------------------------


def test_command_loads_and_is_audited_as_the_command(db):
    out = io.StringIO()
    call_command("load_terminology", str(MEDDRA), "--system", "meddra", "--version", "27.0", stdout=out)
    assert out.getvalue().startswith("loaded MedDRA 27.0: 5 SOC, 5 HLGT, 6 HLT, 7 PT, 15 LLT, 8 hierarchy")
    load = AuditEvent.objects.get(action=AuditAction.TERMINOLOGY_LOAD)
    assert load.actor is None and load.actor_username.endswith("(manage.py load_terminology)")
    command = AuditEvent.objects.get(action=AuditAction.COMMAND)
    assert command.details["command"] == "load_terminology" and command.details["succeeded"] is True
    assert command.details["options"]["terminology_version"] == "27.0"


def test_command_lists_every_problem_and_loads_nothing(db):
    with pytest.raises(CommandError) as exc:
        call_command("load_terminology", str(MEDDRA_BROKEN), "--system", "meddra", "--version", "27.0")
    text = str(exc.value)
    assert text.startswith("nothing loaded:") and "llt.asc:17: LLT code '9500X102' is not an 8-digit" in text
    assert not Terminology.objects.exists()
    assert AuditEvent.objects.get(action=AuditAction.COMMAND).details["succeeded"] is False


# --- proposing codes ------------------------------------------------------------------------------------


def _model_set(project, text, spans):
    from annotations.services.corpus_import import text_hash
    from inference.models import ModelVersion

    note = Note.objects.create(project=project, external_id=f"n{Note.objects.count()}", text=text,
                               text_hash=text_hash(text))
    version = ModelVersion.objects.get_or_create(project=project, name="m1", defaults={"path": "/x"})[0]
    aset = AnnotationSet.objects.create(note=note, source_kind="model", model_version=version, source_name="m1",
                                        status="pre_annotated")
    for i, (type_, start, end) in enumerate(spans, start=1):
        Entity.objects.create(annotation_set=aset, local_id=f"T{i}", type=type_, fragments=[[start, end]],
                              start=start, end=end, text=text[start:end], origin="model")
    return aset


def test_codes_are_proposed_for_drug_and_reaction_spans(people, meddra, atc, staff):
    project, _ = people
    text = "Started warfarin; nosebleed overnight. Feels tired."
    aset = _model_set(project, text, [("Drug", 8, 16), ("ADE", 18, 27), ("Reason", 39, 50)])
    before = aset.version
    out = normalizations_propose(by=staff, annotation_sets=[aset])
    assert out == {"sets": 1, "proposed": 2, "unmatched": 0}
    rows = {n.entity.local_id: (n.local_id, n.resource, n.resource_id, n.text)
            for n in Normalization.objects.filter(annotation_set=aset).select_related("entity")}
    assert rows == {"T1": ("N1", "ATC", "B01AA03", "warfarin"), "T2": ("N2", "MedDRA", "95000001", "Nosebleed")}
    aset.refresh_from_db()
    assert aset.version == before + 1
    event = AuditEvent.objects.get(action=AuditAction.ANNOTATION_CHANGE, object_id=str(aset.pk))
    assert event.details["operation"] == "codes_proposed" and event.details["normalizations"] == 2
    # Run again: every span has its code, nothing changes.
    assert normalizations_propose(by=staff, annotation_sets=[aset]) == {"sets": 0, "proposed": 0, "unmatched": 0}


def test_spans_far_from_any_term_get_no_code_and_people_sets_are_refused(people, meddra, staff):
    project, users = people
    aset = _model_set(project, "Zzqx developed.", [("ADE", 0, 4)])
    assert normalizations_propose(by=staff, annotation_sets=[aset]) == {"sets": 0, "proposed": 0, "unmatched": 1}
    own = AnnotationSet.objects.create(note=aset.note, source_kind="user", user=users["annotator"],
                                       source_name="annotator")
    with pytest.raises(ApplicationError) as exc:
        normalizations_propose(by=staff, annotation_sets=[own])
    assert exc.value.code == "not_a_model_set"
