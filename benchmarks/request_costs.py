"""What one request of the load benchmark's mix costs the server, alone: queries and in-process time.

    python benchmarks/request_costs.py [--calls 30] [--database-url URL]

The load benchmark (benchmarks/load.py) says how latency behaves when 50 people share two cores; this says
where a single request's work goes, so that a change to it can be measured without that noise. A scratch
PostgreSQL database (dropped first) is seeded as load.py seeds it (2,000 notes, annotators with their own
annotation set); each request of the mix (the queue page, the note list, a note, an annotation set, an entity
create, an entity delete) runs --calls times through Django's test client with the production settings, and
the figures are its query count and the median and minimum time. Writes benchmarks/results/request_costs.json.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import load  # noqa: E402
from _common import write_result  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/ade_review_request_costs")
    args = parser.parse_args()
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "ade_review.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "CACHE_URL": os.environ.get("CACHE_URL") or "redis://127.0.0.1:6379/14",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": args.database_url,
        "STATIC_ROOT": tempfile.mkdtemp(prefix="ade-costs-static-"),
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE_USER": "100000/min",
    })
    load.scratch_database(args.database_url)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], check=True, cwd=ROOT)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v", "0"], check=True,
                   cwd=ROOT)
    info = load.seed(2000, 1, random.Random(7))[0]

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from annotations.models import AnnotationSet

    slug, aset = load.SLUG, info["annotation_set"]
    api = Client(HTTP_AUTHORIZATION=f"Token {info['token']}")
    page = Client()
    page.force_login(get_user_model().objects.get(username=info["username"]))
    base = f"/api/projects/{slug}/annotation-sets/{aset}/entities/"

    def version() -> int:
        return AnnotationSet.objects.get(pk=aset).version

    def newest() -> str:
        return AnnotationSet.objects.get(pk=aset).entities.order_by("-pk").values_list("local_id", flat=True)[0]

    def create(current: int):
        return api.post(base, {"version": current, "type": "ADE", "fragments": [[0, 5]]},
                        content_type="application/json")

    def prepare_create():
        current = version()
        return lambda: create(current)

    def prepare_delete():
        create(version())  # the entity to delete
        path = f"{base}{newest()}/?version={version()}"
        return lambda: api.delete(path)

    # name -> a function, run outside the measurement, that prepares what is needed and returns the request
    mix = {
        "queue_html": lambda: lambda: page.get(f"/projects/{slug}/queue/"),
        "note_list_api": lambda: lambda: api.get(f"/api/projects/{slug}/notes/?flagged=true"
                                                 "&ordering=-ade_probability&page=2"),
        "note_detail_api": lambda: lambda: api.get(f"/api/projects/{slug}/notes/{info['note']}/"),
        "annotation_set_api": lambda: lambda: api.get(f"/api/projects/{slug}/annotation-sets/{aset}/"),
        "entity_create": prepare_create,
        "entity_delete": prepare_delete,
    }
    metrics: dict[str, float] = {}
    for name, prepare in mix.items():
        times, queries = [], 0
        for _ in range(args.calls + 1):  # the first call warms caches and is not counted
            call = prepare()
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = call()
                elapsed = (time.perf_counter() - started) * 1000
            if response.status_code >= 400:
                raise SystemExit(f"{name}: {response.status_code} {response.content[:200]!r}")
            times.append(elapsed)
            queries = len(captured.captured_queries)
        times = times[1:]
        metrics[f"{name}_queries"] = queries
        metrics[f"{name}_median_ms"] = round(statistics.median(times), 1)
        metrics[f"{name}_min_ms"] = round(min(times), 1)
        print(f"{name:20s} {queries:3d} queries  median {metrics[f'{name}_median_ms']:6.1f} ms  "
              f"min {metrics[f'{name}_min_ms']:6.1f} ms", flush=True)
    metrics["calls"] = args.calls
    print(f"wrote {write_result('request_costs', metrics)}")


if __name__ == "__main__":
    main()
