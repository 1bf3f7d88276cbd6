"""Inter-annotator agreement of a large project (issue 17): seconds to compute the whole report from
PostgreSQL, and peak Python memory at two project sizes to show it stays flat in the number of notes.

    python benchmarks/agreement.py [--notes 10000] [--small 2000] [--annotators 3] [--entities 50]
                                   [--database-url URL] [--name agreement]
    python benchmarks/agreement.py --curation-only [--curation-chars 50000] [--curation-entities 2000]
    python benchmarks/agreement.py --keep-curation   # the agreement part only; the curation figures carried over

A scratch PostgreSQL database (dropped first) gets one project; `--small` notes are written, measured,
then the rest up to `--notes`, measured again. Every note has one submitted set per annotator with
`--entities` entities (a shared truth, each annotator missing some, shifting boundaries, changing types,
adding discontinuous fragments), 5 relations, 2 events, a verdict and a submission day (agreement over time). Data are written through
annotation_sets_write (the import's bulk path) and not timed. Timed: `project_agreement` (the selector the
page, the CSV and the API call: chunked reads + annotations.formats.agreement), without tracemalloc; peak
memory: a second run under tracemalloc (Python allocations, the figure that would grow if notes were kept).
Writes benchmarks/results/agreement.json.

`metrics.curation_ready_ms` (issue 17, goal under 1,000 ms): a note of `--curation-chars` characters that two
annotators annotated with `--curation-entities` entities each (one in ten differs: a boundary, a type, or
only one of them has it) and a few relations; a reviewer's curation of it started (the agreed entities in the
curation set). Headless Chromium opens its curation page; the figure is the median, over `--loads` loads after
a first warm one, of the time from navigation start to the curation script's `curation-ready` mark (the text
with the curated entities, the first page of disagreements side by side and the keys in place; the first,
cold load, which merges the two sets, is reported apart as `curation_ready_cold_ms`). Also
`curation_decide_ms`: a key pressed on the current disagreement until it comes back decided (a round trip:
merge, edit, the unit and the text segments swapped). The curation part runs alone with `--curation-only`
(in a scratch database of its own, `--curation-database-url`) and merges its figures into the existing JSON,
keeping the 10k-note figures; a full run does both.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import log, reset_database, setup_django, write_result  # noqa: E402

TYPES = ("Drug", "ADE", "Dose", "Route")
SUBMITTED_FROM = datetime(2026, 1, 5, 10, tzinfo=UTC)
VERDICTS = ("ade", "no_ade", "uncertain")


def _documents(rng: random.Random, note_id: str, annotators: int, n_entities: int):
    from annotations.formats.document import Document, Entity, Event, Relation, Span

    text = " ".join(f"w{i:04d}x{i % 7}" for i in range(n_entities * 2))  # 11 chars a word
    truth = []
    for k in range(n_entities):
        start = k * 24
        frags = [(start, start + 8)]
        if k % 10 == 0:
            frags.append((start + 12, start + 18))  # discontinuous
        truth.append((rng.choice(TYPES), frags))
    verdict = rng.choice(VERDICTS)
    docs = []
    for _ in range(annotators):
        ents = []
        for type_, frags in truth:
            r = rng.random()
            if r < 0.05:
                continue
            if r < 0.12:
                type_ = rng.choice(TYPES)
            elif r < 0.2:
                frags = [(frags[0][0] + 1, frags[0][1]), *frags[1:]]
            ents.append(Entity(id=f"T{len(ents) + 1}", type=type_, spans=tuple(Span(s, e) for s, e in frags),
                               text=" ".join(text[s:e] for s, e in frags)))
        rels = tuple(Relation(id=f"R{j + 1}", type="ADE-of", arg1=ents[2 * j].id, arg2=ents[2 * j + 1].id)
                     for j in range(5))
        events = tuple(Event(id=f"E{j + 1}", type="Reaction", trigger=ents[20 + j].id,
                             args=(("Theme", ents[30 + j].id),)) for j in range(2))
        label = verdict if rng.random() < 0.75 else rng.choice(VERDICTS)
        docs.append(Document(id=note_id, text=text, entities=tuple(ents), relations=rels, events=events,
                             label=label if rng.random() > 0.03 else None))
    return text, docs


def build(project, users, start: int, stop: int, n_entities: int, seed: int) -> None:
    from django.db import transaction

    from annotations.models import AnnotationSet, Note
    from annotations.services.corpus_import import text_hash
    from annotations.services.document_store import annotation_sets_write

    rng = random.Random(seed + start)
    for lo in range(start, stop, 250):
        hi = min(stop, lo + 250)
        generated = [_documents(rng, f"n{i:06d}", len(users), n_entities) for i in range(lo, hi)]
        with transaction.atomic():
            notes = Note.objects.bulk_create([
                Note(project=project, external_id=f"n{i:06d}", text=text, text_hash=text_hash(text))
                for i, (text, _) in zip(range(lo, hi), generated, strict=True)
            ])
            # Submitted over about half a year, an annotator a day behind another now and then, so that
            # agreement over time has weeks and months to count (and pairs that straddle two of them).
            sets = AnnotationSet.objects.bulk_create([
                AnnotationSet(note=note, source_kind="user", user=u, source_name=u.username, status="submitted",
                              submitted_at=SUBMITTED_FROM + timedelta(days=(i * 7) % 180 + k * ((i + k) % 3 == 0)))
                for i, note in zip(range(lo, hi), notes, strict=True) for k, u in enumerate(users)
            ])
            docs = [d for _, ds in generated for d in ds]
            annotation_sets_write(list(zip(sets, docs, strict=True)), origin="human")
        log(f"  wrote notes {lo}..{hi}")


def measure(project) -> tuple[float, float, object]:
    from annotations.agreement.selectors import project_agreement

    t0 = time.perf_counter()
    report = project_agreement(project=project)
    seconds = time.perf_counter() - t0
    tracemalloc.start()
    project_agreement(project=project)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, report


def _dense_versions(n_chars: int, n_entities: int):
    """The note and two annotators' Documents of it: the same mentions, one in ten different."""
    from annotations.formats.document import Document, Entity, Relation, Span

    rng = random.Random(23)
    words = ("patient was given the dose daily after admission with a history of pain and fever noted by "
             "staff on the ward overnight").split()
    mentions = {"Drug": ["warfarin", "metformin", "ibuprofen"], "Adverse-Effect": ["gastric bleeding", "rash"],
                "Dose": ["5 mg", "500 mg"]}
    types = list(mentions)
    gap = max(n_chars // n_entities - 13, 4)  # a filler of about gap + 3, a mention of about 9: n_chars in all
    parts, spans, pos = [], [], 0
    for k in range(n_entities):
        filler = ""
        while len(filler) < gap:
            filler += rng.choice(words) + " "
        if k % 12 == 11:
            filler = filler.rstrip() + ".\n"
        parts.append(filler)
        pos += len(filler)
        type_ = types[k % 3]
        mention = rng.choice(mentions[type_])
        parts.append(mention + " ")
        spans.append((type_, pos, pos + len(mention)))
        pos += len(mention) + 1
    text = "".join(parts)
    text += "x" * max(0, n_chars - len(text) - 1) + "\n"
    docs = []
    for annotator in range(2):
        entities = []
        for k, (type_, s, e) in enumerate(spans):
            if k % 10 == 3 and annotator:  # a boundary
                s += 1
            elif k % 10 == 6 and annotator:  # a type
                type_ = "Drug" if type_ != "Drug" else "Dose"
            elif k % 10 == 9 and annotator:  # only the first annotator has it
                continue
            entities.append(Entity(f"T{k + 1}", type_, (Span(s, e),), text[s:e]))
        ids = {e.id for e in entities}
        relations = tuple(
            Relation(f"R{k}", "Adverse-Effect", f"T{k}", f"T{k + 1}") for k in range(1, n_entities - 1, 30)
            if f"T{k}" in ids and f"T{k + 1}" in ids and spans[k - 1][0] == "Drug" and spans[k][0] == "Adverse-Effect"
        )
        docs.append(Document("dense-curation", text, entities=tuple(entities), relations=relations,
                             label="ade" if annotator == 0 else "no_ade"))
    return text, docs


def curation_benchmark(args) -> dict[str, float]:
    """Build the dense note's curation and time its page in Chromium (see the module docstring)."""
    import statistics

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from editor import serve

    from annotations.demo_corpus import ANNOTATION_CONF, VISUAL_CONF
    from annotations.formats.brat_conf import load_schema
    from annotations.models import AnnotationSet, Note, Project, ProjectMembership
    from annotations.services.corpus_import import text_hash
    from annotations.services.curation import curation_start
    from annotations.services.document_store import annotation_sets_write
    from annotations.services.schemas import project_schema_set

    call_command("migrate", verbosity=0)
    project = Project.objects.create(slug="curation", name="Curation")
    project_schema_set(project=project, schema=load_schema(ANNOTATION_CONF, VISUAL_CONF), inferred=False)
    User = get_user_model()
    password = "bench-curation-password"
    users = {name: User.objects.create_user(name, password=password) for name in ("ann1", "ann2", "curator")}
    for name, role in (("ann1", "annotator"), ("ann2", "annotator"), ("curator", "reviewer")):
        ProjectMembership.objects.create(project=project, user=users[name], role=role)
    text, docs = _dense_versions(args.curation_chars, args.curation_entities)
    note = Note.objects.create(project=project, external_id="dense-curation", text=text, text_hash=text_hash(text))
    pairs = [(AnnotationSet.objects.create(note=note, source_kind="user", user=users[name], source_name=name,
                                           status="submitted"), doc) for name, doc in zip(("ann1", "ann2"), docs,
                                                                                         strict=True)]
    annotation_sets_write(pairs, origin="human")
    t0 = time.perf_counter()
    curation_start(note=note, by=users["curator"])
    start_s = time.perf_counter() - t0
    path = f"/projects/{project.slug}/notes/{note.pk}/curate/"

    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    url, server = serve()
    chromium_args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]
    times, sizes = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=chromium_args)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/accounts/login/")
        page.fill("input[name=username]", "curator")
        page.fill("input[name=password]", password)
        page.press("input[name=password]", "Enter")
        page.wait_for_url(f"{url}/")
        for _ in range(args.loads + 1):  # the first load warms caches and is not counted
            page.goto(f"{url}{path}", wait_until="commit")
            page.wait_for_selector("html[data-curation-ready]", timeout=60_000)
            times.append(page.evaluate("performance.getEntriesByName('curation-ready')[0].startTime"))
            sizes.append(page.evaluate("performance.getEntriesByType('navigation')[0].transferSize"))
        rendered = page.evaluate("[document.querySelectorAll('#note-text .e.b').length, "
                                 "document.querySelectorAll('#unit-list > li.unit').length, "
                                 "document.querySelectorAll('*').length]")
        page.evaluate("() => { window.__t0 = performance.now(); }")
        page.keyboard.press("1")
        page.wait_for_selector("#unit-list > li.unit.current.decided", timeout=60_000)
        decide_ms = page.evaluate("performance.now() - window.__t0")
        shots = ROOT / "tmp" / "artifacts"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "curation-dense.png"))
        browser.close()
    server.shutdown()
    cold, times = times[0], times[1:]
    from annotations.curation.selectors import curation_state

    state = curation_state(note=note)
    log(f"curation page: ready median {statistics.median(times):.0f} ms (max {max(times):.0f}), {sizes[-1]} bytes, "
        f"{rendered[0]} entity labels, {rendered[1]} disagreements shown of {len(state.merge.disagreements)}, "
        f"{rendered[2]} elements; decide {decide_ms:.0f} ms; first (cold) load {cold:.0f} ms")
    return {
        "curation_ready_ms": round(statistics.median(times), 1),
        "curation_ready_max_ms": round(max(times), 1),
        # The first load: the merge of the two sets is computed, then kept while they stay as they are.
        "curation_ready_cold_ms": round(cold, 1),
        "curation_decide_ms": round(decide_ms, 1),
        "curation_page_bytes": sizes[-1],
        "curation_note_chars": len(text),
        "curation_entities_per_side": args.curation_entities,
        "curation_disagreements": len(state.merge.disagreements),
        "curation_page_elements": rendered[2],
        "curation_start_s": round(start_s, 2),
    }


CURATION_SETUP = {
    "curation_timed": "navigation start to the `curation-ready` mark of static/js/curation.js in headless Chromium "
                      "(median of the loads after a warm one), app served in process by Django's threaded WSGI "
                      "server, PostgreSQL on 127.0.0.1",
    "curation_goal": "curation_ready_ms under 1,000 ms",
}


def _curation_figures(name: str) -> tuple[dict[str, float], dict]:
    """The curation figures of benchmarks/results/NAME.json and the run that measured them (--keep-curation).

    Errors: SystemExit when the file has none (run with --curation-only first)."""
    import json

    from _common import RESULTS_DIR

    path = RESULTS_DIR / f"{name}.json"
    payload = json.loads(path.read_text()) if path.exists() else {}
    figures = {k: v for k, v in payload.get("metrics", {}).items() if k.startswith("curation_")}
    if not figures or "curation_run" not in payload:
        raise SystemExit(f"{path}: no curation figures to keep; run with --curation-only first")
    return figures, payload["curation_run"]


def merge_into_result(name: str, metrics: dict[str, float], *, run: dict | None = None) -> Path:
    """Add the curation figures to benchmarks/results/NAME.json, keeping what is there (the 10k-note run);
    `run`: the date, machine and command that measured them (default: this run)."""
    import json

    from _common import RESULTS_DIR, command_line, machine_info

    path = RESULTS_DIR / f"{name}.json"
    payload = json.loads(path.read_text()) if path.exists() else {"metrics": {}}
    payload["metrics"].update(metrics)
    payload.setdefault("setup", {}).update(CURATION_SETUP)
    payload["curation_run"] = run or {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                                      "machine": machine_info(), "command": command_line()}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/ade_review_agreement_bench")
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--annotators", type=int, default=3)
    parser.add_argument("--entities", type=int, default=50)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--name", default="agreement")
    parser.add_argument("--curation-only", action="store_true",
                        help="only the curation page; merge its figures into the existing results")
    parser.add_argument("--keep-curation", action="store_true",
                        help="only the agreement figures; carry the curation figures (and their run's date and "
                             "command) over from the existing results, for a change that cannot affect that page")
    parser.add_argument("--curation-database-url",
                        default="postgres://postgres@127.0.0.1:5432/ade_review_curation_bench")
    parser.add_argument("--curation-chars", type=int, default=50_000)
    parser.add_argument("--curation-entities", type=int, default=2_000)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()

    if args.curation_only:
        reset_database(args.curation_database_url)
        setup_django(args.curation_database_url, DEBUG="0")
        path = merge_into_result(args.name, curation_benchmark(args))
        log(f"wrote {path}")
        return

    reset_database(args.database_url)
    setup_django(args.database_url, DEBUG="0")
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from annotations.models import Project, ProjectMembership

    call_command("migrate", verbosity=0)
    project = Project.objects.create(slug="agreement", name="Agreement")
    User = get_user_model()
    users = [User.objects.create_user(f"annotator{i}") for i in range(args.annotators)]
    ProjectMembership.objects.bulk_create([ProjectMembership(project=project, user=u, role="annotator") for u in users])

    metrics: dict[str, float] = {"notes": args.notes, "annotators": args.annotators,
                                 "entities_per_set": args.entities}
    done = 0
    for size in (args.small, args.notes):
        t0 = time.perf_counter()
        build(project, users, done, size, args.entities, args.seed)
        done = size
        log(f"built {size} notes in {time.perf_counter() - t0:.1f}s")
        seconds, peak_mib, report = measure(project)
        metrics[f"agreement_{size}_notes_s"] = round(seconds, 2)
        metrics[f"peak_python_mib_{size}_notes"] = round(peak_mib, 1)
        log(f"{size} notes: {seconds:.1f}s, peak {peak_mib:.1f} MiB (tracemalloc); "
            f"alpha {report.alpha:.3f}, entity F1 strict {report.entity_f1_strict:.3f}")
    if args.notes == 10_000:
        metrics["agreement_10k_notes_s"] = metrics["agreement_10000_notes_s"]
    metrics["alpha"] = report.alpha if report.alpha is not None else float("nan")
    metrics["entity_f1_strict"] = report.entity_f1_strict
    metrics["entity_f1_relaxed"] = report.entity_f1_relaxed
    metrics["over_time_weeks"] = len(report.periods("week"))
    metrics["over_time_months"] = len(report.periods("month"))
    metrics["peak_memory_ratio_large_to_small"] = round(
        metrics[f"peak_python_mib_{args.notes}_notes"] / metrics[f"peak_python_mib_{args.small}_notes"], 2)
    kept = _curation_figures(args.name) if args.keep_curation else None
    write_result(args.name, metrics, extra={"setup": {
        "timed": "annotations.agreement.selectors.project_agreement (chunked reads of 500 notes, only the "
                 "columns the comparison needs, + the framework-free counter), in process, PostgreSQL on "
                 "127.0.0.1; data writing not timed",
        "load": f"1-minute load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores when the run ended "
                "(the machine may be shared)",
        "memory": "tracemalloc peak of a second, identical run (Python allocations only)",
        "goal": "agreement_10k_notes_s under 60 s; peak memory flat in the number of notes",
    }})
    if kept is not None:
        merge_into_result(args.name, kept[0], run=kept[1])
        return
    # The curation page (a project of its own in the same database), merged into the file just written.
    merge_into_result(args.name, curation_benchmark(args))


if __name__ == "__main__":
    main()
