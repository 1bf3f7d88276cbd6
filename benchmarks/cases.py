"""Case exports and EHR intake at hospital scale (issue 18), and the term look-up, in one results file.

    python benchmarks/cases.py [--cases 10000] [--notes 10000] [--database-url URL] [--skip-term-lookup]

A scratch PostgreSQL database (dropped first) is migrated, then:
- `fhir_export_10k_s`, `e2b_export_10k_s`: --cases synthetic cases (two drugs, two MedDRA-coded reactions, a
  causality assessment, a source note each; made-up, no patient data) are bulk-created as case rows, and a
  `case_export` job (FHIR R4 Bundles zipped; one E2B(R3) batch) runs in this process over all of them, end to end:
  the case record's selectors read them a batch at a time, the writers validate (FHIR: fhir.resources) and
  write, the job finishes and audits. Timed from the job's start to its end;
- `fhir_intake_10k_notes_s`: a FHIR Bundle of --notes DocumentReferences (base64 text of ~600 characters) with
  their Patients and Encounters is imported with `corpus_import(fmt="fhir")` into an empty project;
  `fhir_intake_ndjson_10k_notes_s` the same as NDJSON (the Bulk Data form, streamed);
- memory: the resident set size is sampled every 20 ms during each phase; `*_rss_growth_mib` is its peak minus its
  value when the phase started. Each export is also run over a tenth of the cases (`*_1k_rss_growth_mib`): flat
  memory means the two are close;
- `term_lookup_p95_ms` (and the other look-up figures): `benchmarks/term_lookup.py::measure_term_lookup` over
  80,000 made-up MedDRA-like terms.

Goals (issue 18): each of the three timings under 60 s with flat memory; the look-up p95 under 50 ms.
Writes benchmarks/results/cases.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import log, reset_database, setup_django, write_result  # noqa: E402

DRUGS = [("warfarin", "B01AA03"), ("heparin", "B01AB01"), ("amoxicillin", "J01CA04"), ("metformin", "A10BA02"),
         ("ibuprofen", "M01AE01"), ("simvastatin", "C10AA01"), ("clozapine", "N05AH02"), ("digoxin", "C01AA05")]
REACTIONS = [("gastrointestinal bleeding", "10017955"), ("rash", "10037844"), ("lactic acidosis", "10023676"),
             ("angioedema", "10002424"), ("acute kidney injury", "10069339"), ("rhabdomyolysis", "10039020")]
WORDS = ("patient admitted with worsening symptoms after starting treatment daily dose reviewed on the ward "
         "observations stable plan continue monitor bloods tomorrow discussed with family").split()


class RssPeak:
    """The peak resident set size while the block runs, sampled every 20 ms; `growth_mib` over its start."""

    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> RssPeak:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mib(self) -> float:
        return round((self.peak - self.start) / 1024**2, 1)


def note_text(rng: random.Random, drug: str, reaction: str, i: int) -> str:
    filler = " ".join(rng.choice(WORDS) for _ in range(90))
    return f"SYNTHETIC NOTE {i}. {filler}. Started {drug}; developed {reaction} on day {rng.randint(2, 9)}. {filler}."


def create_cases(project, user, n: int) -> None:
    """n made-up cases with their rows, in bulk (a note, two drugs, two coded reactions, one causality each)."""
    from annotations.models import Note, Patient
    from annotations.services.corpus_import import text_hash
    from pharmacovigilance.models import Case, CaseDrug, CaseReaction, Causality

    rng = random.Random(18)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    batch = 1000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        patients = Patient.objects.bulk_create(
            [Patient(project=project, external_id=f"bench-patient-{start + k}") for k in range(size)])
        picks = [(rng.choice(DRUGS), rng.choice(DRUGS), rng.sample(REACTIONS, 2)) for _ in range(size)]
        notes = Note.objects.bulk_create([
            Note(project=project, patient=patients[k], external_id=f"bench-note-{start + k}",
                 text=(t := note_text(rng, picks[k][0][0], picks[k][2][0][0], start + k)), text_hash=text_hash(t),
                 timestamp=now + timedelta(minutes=start + k), note_type="discharge summary")
            for k in range(size)])
        cases = Case.objects.bulk_create([
            Case(project=project, reference=f"bench-{start + k}", state="assessed", patient=patients[k],
                 patient_identifier=patients[k].external_id, patient_sex=rng.choice(["male", "female", ""]),
                 patient_age_years=rng.randint(18, 95), onset=date(2026, 3, 1) + timedelta(days=k % 28),
                 serious_hospitalisation=k % 3 == 0, narrative=f"Made-up case {start + k}: {picks[k][0][0]} and "
                 f"{picks[k][2][0][0]}.", reporter="pharmacovigilance", created_by=user)
            for k in range(size)])
        Case.notes.through.objects.bulk_create(
            [Case.notes.through(case_id=c.pk, note_id=note.pk) for c, note in zip(cases, notes, strict=True)])
        # Doses, routes and dates vary from case to case (as they do in a hospital's cases), so that no two drug
        # statements are alike; the drugs themselves repeat (eight of them).
        drugs = CaseDrug.objects.bulk_create([
            CaseDrug(case=c, key=f"D{j + 1}", role="suspect" if j == 0 else "concomitant", name=d[0], code=d[1],
                     code_system="atc", code_version="2026", dose=f"{rng.choice([1, 2.5, 5, 10, 20, 40, 500])} mg",
                     frequency=rng.choice(["daily", "twice daily", "three times daily", "at night"]),
                     route=rng.choice(["oral", "intravenous", "subcutaneous"]),
                     start=date(2025, 1, 1) + timedelta(days=rng.randint(0, 420)),
                     action_taken=rng.choice(["withdrawn", "dose_reduced", "dose_not_changed", "unknown"]))
            for c, (d1, d2, _) in zip(cases, picks, strict=True) for j, d in enumerate((d1, d2))])
        reactions = CaseReaction.objects.bulk_create([
            CaseReaction(case=c, key=f"R{j + 1}", term=r[0], code=r[1], code_system="meddra", code_version="27.0",
                         pt_code=r[1], pt_text=r[0], outcome="recovered")
            for c, (_, _, rs) in zip(cases, picks, strict=True) for j, r in enumerate(rs)])
        Causality.objects.bulk_create([
            Causality(case=c, drug=drugs[2 * k], reaction=reactions[2 * k], who_umc="probable", naranjo_score=6,
                      naranjo_category="probable", assessed_by=user, assessed_at=now)
            for k, c in enumerate(cases)])
    log(f"created {n:,} cases")


def run_export(project, user, fmt: str, limit: int | None) -> dict:
    """One case_export job over the project's first `limit` cases (None: all), run in this process."""
    from inference.jobs.engine import job_single_run
    from inference.models import Job
    from pharmacovigilance.models import Case

    ids = Case.objects.filter(project=project).order_by("pk").values_list("pk", flat=True)
    cases = "all" if limit is None else ",".join(map(str, ids[:limit]))
    job = Job.objects.create(project=project, kind="case_export", created_by=user,
                             parameters={"report_format": fmt, "cases": cases})
    with RssPeak() as rss:
        t0 = time.perf_counter()
        job_single_run(job_id=job.pk)
        seconds = time.perf_counter() - t0
    job.refresh_from_db()
    if job.state != "succeeded":
        raise RuntimeError(f"the {fmt} export job ended {job.state}: {job.message}")
    from ade_review.storage import file_storage  # the result is a key of the file store

    size = file_storage().size(job.result_path)
    file_storage().delete(job.result_path)
    return {"seconds": seconds, "rss_growth_mib": rss.growth_mib, "done": job.done, "bytes": size}


def fhir_intake_files(folder: Path, n: int) -> tuple[Path, Path]:
    """A Bundle (.json) and the same resources as NDJSON, of n DocumentReferences with Patients and Encounters."""
    rng = random.Random(7)
    patients = [{"resourceType": "Patient", "id": f"p{k}"} for k in range(max(1, n // 20))]
    encounters = [{"resourceType": "Encounter", "id": f"e{k}", "status": "finished", "class": {"code": "IMP"},
                   "subject": {"reference": f"Patient/p{k % len(patients)}"},
                   "period": {"start": "2026-03-01T08:00:00+00:00"}, "serviceProvider": {"display": "Cardiology"}}
                  for k in range(max(1, n // 10))]
    docs = []
    for i in range(n):
        drug, reaction = rng.choice(DRUGS)[0], rng.choice(REACTIONS)[0]
        text = note_text(rng, drug, reaction, i)[:600]
        docs.append({
            "resourceType": "DocumentReference", "id": f"d{i}", "status": "current",
            "identifier": [{"system": "http://hospital.example/notes", "value": f"intake-{i:06d}"}],
            "subject": {"reference": f"Patient/p{i % len(patients)}"},
            "date": (datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=i)).isoformat(),
            "type": {"text": "progress note"},
            "content": [{"attachment": {"contentType": "text/plain; charset=utf-8",
                                        "data": base64.b64encode(text.encode()).decode()}}],
            "context": {"encounter": [{"reference": f"Encounter/e{i % len(encounters)}"}]},
        })
    resources = patients + encounters + docs
    bundle = folder / "bundle.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": r} for r in resources]}), encoding="utf-8")
    ndjson = folder / "DocumentReference.ndjson"
    ndjson.write_text("\n".join(json.dumps(r) for r in resources) + "\n", encoding="utf-8")
    return bundle, ndjson


def run_intake(path: Path, slug: str, n: int) -> dict:
    from annotations.models import Note
    from annotations.services.corpus_import import corpus_import, project_get_or_create

    project = project_get_or_create(slug=slug)
    with RssPeak() as rss:
        t0 = time.perf_counter()
        report = corpus_import(project=project, path=path, fmt="fhir")
        seconds = time.perf_counter() - t0
    if report.imported != n or report.skipped:
        raise RuntimeError(f"intake imported {report.imported} of {n}: {report.summary()[:500]}")
    assert Note.objects.filter(project=project, patient__isnull=False).count() == n
    return {"seconds": seconds, "rss_growth_mib": rss.growth_mib}


def child(args) -> None:
    """One measured phase in a fresh interpreter (so that one phase's memory does not hide the next one's)."""
    setup_django(args.database_url, DEBUG="0", LOG_LEVEL="WARNING")
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from annotations.models import Project

    settings.MEDIA_ROOT = Path(args.media)
    if args.child == "export":
        fmt, limit = args.child_args[0], int(args.child_args[1])
        result = run_export(Project.objects.get(slug="cases-bench"), get_user_model().objects.get(username="cases-bench"),
                            fmt, limit or None)
    else:
        path, slug, n = args.child_args
        result = run_intake(Path(path), slug, int(n))
    print("RESULT " + json.dumps(result), flush=True)


def in_child(args, *child_args: str) -> dict:
    import subprocess

    command = [sys.executable, __file__, "--database-url", args.database_url, "--media", args.media,
               "--child", child_args[0], *child_args[1:]]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{' '.join(child_args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/ade_review_cases_bench")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--skip-term-lookup", action="store_true")
    parser.add_argument("--name", default="cases")
    parser.add_argument("--media", default="", help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=["export", "intake"], help=argparse.SUPPRESS)
    parser.add_argument("child_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    reset_database(args.database_url)
    setup_django(args.database_url, DEBUG="0", LOG_LEVEL="WARNING")
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from annotations.services.corpus_import import project_get_or_create

    call_command("migrate", verbosity=0)
    args.media = tempfile.mkdtemp(prefix="cases-bench-")
    user = get_user_model().objects.create_user("cases-bench", password="x")
    project = project_get_or_create(slug="cases-bench")
    t0 = time.perf_counter()
    create_cases(project, user, args.cases)
    setup_s = time.perf_counter() - t0
    metrics: dict[str, float] = {}
    k = f"{args.cases // 1000}k"
    for fmt in ("fhir", "e2b"):
        small = in_child(args, "export", fmt, str(args.cases // 10))
        full = in_child(args, "export", fmt, "0")
        log(f"{fmt}: {full['done']:,} cases in {full['seconds']:.1f}s (RSS +{full['rss_growth_mib']} MiB; "
            f"{small['done']:,} cases: {small['seconds']:.1f}s, +{small['rss_growth_mib']} MiB)")
        metrics[f"{fmt}_export_{k}_s"] = round(full["seconds"], 2)
        metrics[f"{fmt}_export_{k}_rss_growth_mib"] = full["rss_growth_mib"]
        metrics[f"{fmt}_export_{k}_file_mib"] = round(full["bytes"] / 1024**2, 1)
        metrics[f"{fmt}_export_tenth_s"] = round(small["seconds"], 2)  # the same job over a tenth of the cases
        metrics[f"{fmt}_export_tenth_rss_growth_mib"] = small["rss_growth_mib"]
        metrics[f"{fmt}_export_cases_per_s"] = round(full["done"] / full["seconds"], 1)
    n = f"{args.notes // 1000}k"
    with tempfile.TemporaryDirectory() as tmp:
        bundle, ndjson = fhir_intake_files(Path(tmp), args.notes)
        metrics["fhir_intake_bundle_mib"] = round(bundle.stat().st_size / 1024**2, 1)
        for label, path, key in (("Bundle", bundle, ""), ("NDJSON", ndjson, "ndjson_")):
            result = in_child(args, "intake", str(path), f"intake-{key or 'bundle'}", str(args.notes))
            log(f"intake ({label}): {args.notes:,} notes in {result['seconds']:.1f}s (RSS +{result['rss_growth_mib']} MiB)")
            metrics[f"fhir_intake_{key}{n}_notes_s"] = round(result["seconds"], 2)
            metrics[f"fhir_intake_{key}{n}_rss_growth_mib"] = result["rss_growth_mib"]
    term_lookup_note = "skipped (--skip-term-lookup)"
    if not args.skip_term_lookup:
        # The terminology's own benchmark (benchmarks/term_lookup.py); its failure leaves its figures out, said below.
        try:
            from term_lookup import measure_term_lookup

            metrics |= measure_term_lookup(80_000)
            term_lookup_note = "benchmarks/term_lookup.py::measure_term_lookup over 80,000 made-up MedDRA-like LLTs"
        except Exception as exc:  # noqa: BLE001 - the case figures stand on their own
            term_lookup_note = f"failed ({type(exc).__name__}: {str(exc)[:200]}): left out"
            log(f"term look-up: {term_lookup_note}")
    extra = {"setup": {
        "database": "PostgreSQL on 127.0.0.1 (scratch database, migrated)",
        "cases": f"{args.cases:,} made-up cases bulk-created in {setup_s:.0f}s: two drugs (ATC-coded, of eight; dose, "
                 "frequency, route, start date and action taken drawn per case), two MedDRA-coded reactions, one "
                 "WHO-UMC + Naranjo assessment, one source note each",
        "exports": "a case_export job run by job_single_run in a fresh process per run: selectors -> writer (FHIR "
                   "validated with fhir.resources R4B) -> file -> finish and audit; a tenth of the cases, then all",
        "intake": f"a Bundle and an NDJSON file of {args.notes:,} DocumentReferences (~600 characters each) with "
                  f"{max(1, args.notes // 20)} Patients and {max(1, args.notes // 10)} Encounters, "
                  "corpus_import(fmt='fhir') in a fresh process each",
        "memory": "peak RSS sampled every 20 ms minus RSS when the phase started (after Django's setup)",
        "goals": "each timing < 60 s with flat memory; term_lookup_p95_ms < 50",
        "term_lookup": term_lookup_note,
    }}
    path = write_result(args.name, metrics, extra=extra)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
