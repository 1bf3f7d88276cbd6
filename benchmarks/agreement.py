"""Inter-annotator agreement of a large project (issue 17): seconds to compute the whole report from
PostgreSQL, and peak Python memory at two project sizes to show it stays flat in the number of notes.

    python benchmarks/agreement.py [--notes 10000] [--small 2000] [--annotators 3] [--entities 50]
                                   [--database-url URL] [--name agreement]

A scratch PostgreSQL database (dropped first) gets one project; `--small` notes are written, measured,
then the rest up to `--notes`, measured again. Every note has one submitted set per annotator with
`--entities` entities (a shared truth, each annotator missing some, shifting boundaries, changing types,
adding discontinuous fragments), 5 relations, 2 events and a verdict. Data are written through
annotation_sets_write (the import's bulk path) and not timed. Timed: `project_agreement` (the selector the
page, the CSV and the API call: chunked reads + annotations.formats.agreement), without tracemalloc; peak
memory: a second run under tracemalloc (Python allocations, the figure that would grow if notes were kept).
Writes benchmarks/results/agreement.json.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import log, reset_database, setup_django, write_result  # noqa: E402

TYPES = ("Drug", "ADE", "Dose", "Route")
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
            sets = AnnotationSet.objects.bulk_create([
                AnnotationSet(note=note, source_kind="user", user=u, source_name=u.username, status="submitted")
                for note in notes for u in users
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/ade_review_agreement_bench")
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--annotators", type=int, default=3)
    parser.add_argument("--entities", type=int, default=50)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--name", default="agreement")
    args = parser.parse_args()

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
    metrics["peak_memory_ratio_large_to_small"] = round(
        metrics[f"peak_python_mib_{args.notes}_notes"] / metrics[f"peak_python_mib_{args.small}_notes"], 2)
    write_result(args.name, metrics, extra={"setup": {
        "timed": "annotations.agreement.selectors.project_agreement (chunked reads of 500 notes + the "
                 "framework-free counter), in process, PostgreSQL on 127.0.0.1; data writing not timed",
        "memory": "tracemalloc peak of a second, identical run (Python allocations only)",
        "goal": "agreement_10k_notes_s under 60 s; peak memory flat in the number of notes",
    }})


if __name__ == "__main__":
    main()
