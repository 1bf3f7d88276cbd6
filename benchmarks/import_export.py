"""Import and export speed on PostgreSQL, export memory against corpus size, and the full brat round trips.

    python benchmarks/import_export.py [--notes 10000] [--entities 50] [--relations 20] [--skip-corpora]

Uses a scratch PostgreSQL database (dropped and created; --database-url). Prints its figures and writes
benchmarks/results/import_export.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import reset_database, setup_django, write_result  # noqa: E402

from annotations.formats.brat import write_ann, write_txt  # noqa: E402
from annotations.formats.document import Document, Entity, Relation, Span  # noqa: E402

WORDS = "patient was given dose daily after admission with history of pain and fever noted by staff".split()
TYPES = ["Drug", "Adverse-Effect", "Dose", "Indication"]


def synthetic_document(i: int, n_entities: int, n_relations: int, rng: random.Random) -> Document:
    parts, entities, pos = [], [], 0
    for k in range(n_entities):
        filler = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))) + " "
        parts.append(filler)
        pos += len(filler)
        mention = f"mention{k}x{rng.randint(0, 999)}"
        parts.append(mention)
        entities.append(Entity(f"T{k + 1}", TYPES[k % len(TYPES)], (Span(pos, pos + len(mention)),), mention))
        pos += len(mention)
        parts.append(". " if k % 7 == 6 else " ")
        pos += len(parts[-1])
    relations = tuple(
        Relation(f"R{r + 1}", "Related", entities[2 * r].id, entities[2 * r + 1].id) for r in range(n_relations)
    )
    return Document(id=f"synthetic-{i:06d}", text="".join(parts) + "\n", entities=tuple(entities), relations=relations)


def write_synthetic_corpus(folder: Path, n_notes: int, n_entities: int, n_relations: int) -> None:
    rng = random.Random(13)
    folder.mkdir(parents=True)
    for i in range(n_notes):
        doc = synthetic_document(i, n_entities, n_relations, rng)
        (folder / f"{doc.id}.txt").write_bytes(write_txt(doc))
        (folder / f"{doc.id}.ann").write_text(write_ann(doc), encoding="utf-8", newline="")




def export_child(project: str, out: str) -> None:
    """Run one export in this process and print its time and peak memory (for the memory-vs-size figure)."""
    from annotations.models import Project
    from annotations.services.corpus_export import corpus_export

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    written = corpus_export(project=Project.objects.get(slug=project), out=Path(out), fmt="brat")
    print(json.dumps({
        "written": written,
        "seconds": time.perf_counter() - started,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mib": base / 1024,
    }))


def run_export_child(url: str, project: str, out: Path) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--database-url", url, "--export-child", project, str(out)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def round_trip(source: Path, out: Path) -> tuple[int, int]:
    """Compare every exported .txt (bytes) and .ann (what it says) with the source; returns (compared, differing)."""
    from annotations.formats.brat import parse_brat
    from annotations.formats.canonical import canonical_diff

    compared = differing = 0
    exported = {p.name: p for p in out.rglob("*.ann")}
    for ann in sorted(source.rglob("*.ann")):
        txt = ann.with_suffix(".txt")
        mine = exported.get(ann.name)
        compared += 1
        if mine is None or mine.with_suffix(".txt").read_bytes() != txt.read_bytes():
            differing += 1
            continue
        text = txt.read_bytes().decode("utf-8")
        a = parse_brat(text, ann.read_bytes().decode("utf-8"), doc_id=ann.stem, source=ann.name)
        b = parse_brat(text, mine.read_bytes().decode("utf-8"), doc_id=ann.stem, source=mine.name)
        if canonical_diff(a, b):
            differing += 1
    return compared, differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--entities", type=int, default=50)
    parser.add_argument("--relations", type=int, default=20)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/ade_review_bench")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ADE_REVIEW_DATA", ROOT.parent / "shared" / "data")))
    parser.add_argument("--skip-corpora", action="store_true")
    parser.add_argument("--export-child", nargs=2, metavar=("PROJECT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.export_child:
        setup_django(args.database_url)
        export_child(*args.export_child)
        return

    reset_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    from annotations.services.corpus_import import corpus_import, project_get_or_create

    call_command("migrate", verbosity=0)
    metrics: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        small = max(args.notes // 10, 1)
        for label, n in (("small", small), ("full", args.notes)):
            corpus = tmp / f"synthetic-{label}"
            write_synthetic_corpus(corpus, n, args.entities, args.relations)
            project = project_get_or_create(slug=f"synthetic-{label}")
            started = time.perf_counter()
            report = corpus_import(project=project, path=corpus, fmt="brat", batch_size=200)
            seconds = time.perf_counter() - started
            assert report.imported == n and not report.skipped, report.summary()[:2000]
            child = run_export_child(args.database_url, project.slug, tmp / f"out-{label}")
            print(f"synthetic {n} notes x {args.entities} entities, {args.relations} relations: "
                  f"import {seconds:.1f} s, export {child['seconds']:.1f} s, export peak RSS {child['peak_rss_mib']:.0f} MiB")
            if label == "full":
                metrics[f"import_{n // 1000}k_notes_s"] = round(seconds, 2)
                metrics[f"export_{n // 1000}k_notes_s"] = round(child["seconds"], 2)
                metrics["export_peak_rss_mib"] = round(child["peak_rss_mib"], 1)
                metrics["import_notes_per_s"] = round(n / seconds, 1)
                metrics["export_notes_per_s"] = round(n / child["seconds"], 1)
            else:
                metrics[f"export_peak_rss_mib_{n}_notes"] = round(child["peak_rss_mib"], 1)
        metrics[f"export_peak_rss_mib_{args.notes}_notes"] = metrics["export_peak_rss_mib"]

        if not args.skip_corpora:
            corpora = {"maccrobat": args.data / "maccrobat2020", "ncbi_disease": args.data / "ncbi_disease"}
            for name, source in corpora.items():
                if not source.is_dir():
                    print(f"{name}: not found at {source}, skipped")
                    continue
                project = project_get_or_create(slug=name)
                started = time.perf_counter()
                report = corpus_import(project=project, path=source, fmt="brat")
                seconds = time.perf_counter() - started
                out = tmp / f"out-{name}"
                child = run_export_child(args.database_url, name, out)
                compared, differing = round_trip(source, out)
                print(f"{name}: {report.imported} documents imported in {seconds:.1f} s "
                      f"({report.imported / seconds:.1f} docs/s), {len(report.skipped)} problems; exported in "
                      f"{child['seconds']:.1f} s; round trip: {compared} compared, {differing} differ")
                metrics[f"{name}_documents"] = report.imported
                metrics[f"{name}_skipped_problems"] = len(report.skipped)
                metrics[f"{name}_import_docs_per_s"] = round(report.imported / seconds, 1)
                metrics[f"{name}_export_docs_per_s"] = round(child["written"] / child["seconds"], 1)
                metrics[f"{name}_round_trip_compared"] = compared
                metrics[f"{name}_round_trip_differing"] = differing
    path = write_result(
        "import_export",
        metrics,
        extra={"database": "PostgreSQL (local)", "load_average_1m_at_end": os.getloadavg()[0], "synthetic_corpus": {
            "notes": args.notes, "entities_per_note": args.entities, "relations_per_note": args.relations}},
    )
    print(json.dumps(metrics, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
