"""Behaviour under load: N concurrent clients against gunicorn on this machine, then count the stored edits.

    python benchmarks/load.py [--notes 2000] [--clients 50] [--duration 60] [--workers 3] [--threads 8]
                              [--think-ms 0] [--name load]

Creates a scratch PostgreSQL database (dropped first; --database-url), seeds it with synthetic notes and one
annotator per client, starts gunicorn on 127.0.0.1 (a free port, loopback only) with the production
settings, and runs the clients for --duration seconds. Each client loops over a mix of

  * the review queue page (HTML, session login),
  * the note list API (flagged notes by ADE probability: the queue as scripts see it),
  * the editor's reads: a note with its text and an annotation set with all its annotations (API),
  * entity edits on the client's own annotation set with the version check (create, then delete),

then every client's annotation set is read back from the database: its entity count and version must match
what the successful responses promised (`lost_edits` counts the mismatches). Writes
benchmarks/results/load.json. The clients run in this process (threads; http.client keep-alive), so
they share the machine's cores with gunicorn and PostgreSQL: latencies include that contention.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import write_result  # noqa: E402

WORDS = (
    "patient admitted with chest pain started on warfarin aspirin metformin developed rash nausea bleeding "
    "dizziness after dose increase stable overnight reviewed by team plan continue monitor labs"
).split()
SLUG = "load"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --- database -----------------------------------------------------------------------------------------


def scratch_database(url: str) -> None:
    import psycopg

    parsed = urllib.parse.urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed(notes: int, clients: int, rng: random.Random) -> list[dict]:
    """Notes, users with tokens, one annotation set per client on its own note; returns the clients."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from accounts.services import api_token_create
    from annotations.formats.schema import EntityType, RelationType, Schema
    from annotations.models import AnnotationSet, Entity, Note, ProjectMembership
    from annotations.services.corpus_import import project_get_or_create, text_hash
    from annotations.services.schemas import project_schema_set

    project = project_get_or_create(slug=SLUG, name="Load test")
    project_schema_set(
        project=project,
        schema=Schema(entity_types=(EntityType("Drug"), EntityType("ADE")),
                      relation_types=(RelationType("Causes", "Arg1", ("Drug",), "Arg2", ("ADE",)),)),
        inferred=False,
    )
    rows = []
    for i in range(notes):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(80, 250))) + "."
        p = rng.random()
        rows.append(Note(project=project, external_id=f"n{i:05d}", text=text, text_hash=text_hash(text),
                         ade_probability=p, ade_uncertainty=1 - abs(2 * p - 1), flagged=p >= 0.5))
    Note.objects.bulk_create(rows, batch_size=1000)
    note_ids = list(Note.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))
    User = get_user_model()
    result = []
    for c in range(clients):
        user = User.objects.create_user(f"load{c:02d}", password=f"pw-load-{c}")
        ProjectMembership.objects.create(project=project, user=user, role="annotator")
        note = Note.objects.get(pk=note_ids[c])
        aset = AnnotationSet.objects.create(note=note, source_kind="user", user=user, source_name=user.username,
                                            status="in_progress")
        start = note.text.index(" ") + 1
        end = note.text.index(" ", start)
        Entity.objects.create(annotation_set=aset, local_id="T1", type="Drug", fragments=[[start, end]],
                              start=start, end=end, text=note.text[start:end])
        result.append({"username": user.username, "password": f"pw-load-{c}", "token": api_token_create(user=user)[1],
                       "annotation_set": aset.pk, "note": note.pk, "text_length": len(note.text),
                       "span": [start, end]})
    return result


# --- the clients --------------------------------------------------------------------------------------


class Client:
    def __init__(self, port: int, info: dict, note_ids: list[int], deadline: float, rng: random.Random,
                 think_ms: float = 0.0):
        self.port, self.info, self.note_ids, self.deadline, self.rng = port, info, note_ids, deadline, rng
        self.think_ms = think_ms
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.samples: list[tuple[str, float, int]] = []  # (kind, ms, status)
        self.version = 1
        self.entities = 1  # what the server promised is stored
        self.created: list[str] = []
        self.edit_successes = 0
        self.failures: Counter = Counter()

    def request(self, method: str, path: str, *, body=None, headers=None, kind: str | None = None,
                api: bool = True) -> tuple[int, bytes, http.client.HTTPResponse]:
        headers = dict(headers or {})
        if api:
            headers["Authorization"] = f"Token {self.info['token']}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None and not isinstance(body, bytes | str):
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    if kind:
                        self.samples.append((kind, (time.perf_counter() - started) * 1000, 599))
                    return 599, b"", None
        elapsed = (time.perf_counter() - started) * 1000
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if kind:
            self.samples.append((kind, elapsed, response.status))
            if response.status >= 400:
                self.failures[(kind, response.status)] += 1
        return response.status, data, response

    def login(self) -> None:
        self.request("GET", "/accounts/login/", api=False)
        form = urllib.parse.urlencode({"username": self.info["username"], "password": self.info["password"],
                                       "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")})
        status, _, _ = self.request("POST", "/accounts/login/", body=form, api=False,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"login failed for {self.info['username']}: {status}")

    def queue_page(self):
        self.request("GET", f"/projects/{SLUG}/queue/", api=False, kind="queue_html")

    def note_list(self):
        page = self.rng.randint(1, max(1, min(10, len(self.note_ids) // 2 // 50)))  # ~half the notes are flagged
        self.request("GET", f"/api/projects/{SLUG}/notes/?flagged=true&ordering=-ade_probability&page={page}",
                     kind="note_list_api")

    def editor_reads(self):
        note = self.rng.choice(self.note_ids)
        self.request("GET", f"/api/projects/{SLUG}/notes/{note}/", kind="note_detail_api")
        self.request("GET", f"/api/projects/{SLUG}/annotation-sets/{self.info['annotation_set']}/",
                     kind="annotation_set_api")

    def edit(self):
        base = f"/api/projects/{SLUG}/annotation-sets/{self.info['annotation_set']}/entities/"
        if self.created and (len(self.created) >= 5 or self.rng.random() < 0.4):
            local_id = self.created[-1]
            status, data, _ = self.request("DELETE", f"{base}{local_id}/?version={self.version}", kind="entity_delete")
            if status == 200:
                self.created.pop()
                self.entities -= 1
        else:
            start = self.rng.randrange(0, self.info["text_length"] - 6)
            status, data, _ = self.request("POST", base, body={"version": self.version, "type": "ADE",
                                                               "fragments": [[start, start + 5]]}, kind="entity_create")
            if status == 201:
                self.created.append(json.loads(data)["id"])
                self.entities += 1
        if status in (200, 201):
            self.version = json.loads(data)["version"]
            self.edit_successes += 1
        elif status == 409:  # nobody else edits this set: a conflict here would be a bug; reload and go on
            self.version = json.loads(data)["details"]["current_version"]

    def run(self, ready: threading.Barrier, go: threading.Event) -> None:
        self.login()
        ready.wait()
        go.wait()
        actions = [self.queue_page, self.note_list, self.editor_reads, self.edit]
        weights = [25, 25, 25, 25]
        while time.monotonic() < self.deadline:
            self.rng.choices(actions, weights)[0]()
            if self.think_ms:  # a person reading between actions: uniform around the mean
                time.sleep(self.rng.uniform(0.5, 1.5) * self.think_ms / 1000)
        self.conn.close()


def wait_until_serving(port: int, timeout: float = 120.0, path: str = "/accounts/login/", expect: int = 200) -> None:
    """Until the server answers `path` with `expect` (the first requests import the app)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == expect:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)
    raise SystemExit("gunicorn did not start serving")


# --- main ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/ade_review_load")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="mean pause between a client's actions (0: back-to-back, the saturation test)")
    parser.add_argument("--name", default="load", help="result file name under benchmarks/results/")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    static_root = Path(tempfile.mkdtemp(prefix="ade-load-static-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ade_review.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        # Production settings require the shared cache (login throttling, API throttles count in it).
        "CACHE_URL": os.environ.get("CACHE_URL") or "redis://127.0.0.1:6379/14",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": args.database_url,
        "STATIC_ROOT": str(static_root),
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE_USER": "100000/min",
        "DB_CONN_MAX_AGE": "60",
    }
    os.environ.update(env)
    print(f"scratch database {args.database_url}", flush=True)
    scratch_database(args.database_url)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], check=True, env=env, cwd=ROOT)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], check=True, env=env, cwd=ROOT)
    clients_info = seed(args.notes, args.clients, rng)
    from annotations.models import Note

    note_ids = list(Note.objects.filter(project__slug=SLUG).values_list("pk", flat=True))
    print(f"seeded {len(note_ids)} notes, {len(clients_info)} annotators", flush=True)

    port = free_port()
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "ade_review.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--threads", str(args.threads), "--worker-class", "gthread",
         "--timeout", "60", "--log-level", "warning", "--preload"],
        env=env, cwd=ROOT,
    )
    try:
        wait_until_serving(port)
        clients = [Client(port, info, note_ids, 0.0, random.Random(args.seed * 1000 + i), args.think_ms)
                   for i, info in enumerate(clients_info)]
        errors: list[BaseException] = []
        ready, go = threading.Barrier(len(clients) + 1), threading.Event()

        def run(client: Client) -> None:
            try:
                client.run(ready, go)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                ready.abort()

        threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in clients]
        for t in threads:
            t.start()
        ready.wait(300)  # every client logged in; the clock starts now
        started = time.monotonic()
        for c in clients:
            c.deadline = started + args.duration
        go.set()
        for t in threads:
            t.join(args.duration + 120)
        elapsed = time.monotonic() - started
    finally:
        gunicorn.terminate()
        try:
            gunicorn.wait(30)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
        shutil.rmtree(static_root, ignore_errors=True)
    if errors:
        raise SystemExit(f"{len(errors)} clients crashed: {errors[0]!r}")

    # Count what is stored against what the server acknowledged.
    from django.db import connections

    from annotations.models import AnnotationSet, Entity

    connections.close_all()
    lost = 0
    for c in clients:
        aset = AnnotationSet.objects.get(pk=c.info["annotation_set"])
        stored = Entity.objects.filter(annotation_set=aset).count()
        expected_ids = {"T1", *c.created}
        stored_ids = set(Entity.objects.filter(annotation_set=aset).values_list("local_id", flat=True))
        lost += abs(stored - c.entities) + len(expected_ids ^ stored_ids) + abs(aset.version - (1 + c.edit_successes))

    samples = [s for c in clients for s in c.samples]
    latencies = [ms for _, ms, _ in samples]
    statuses = Counter(code for _, _, code in samples)
    failures = Counter()
    for c in clients:
        failures.update(c.failures)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, ms, _ in samples:
        by_kind[kind].append(ms)
    edits = sum(c.edit_successes for c in clients)
    metrics = {
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else float("nan"),
        "errors": sum(n for code, n in statuses.items() if code >= 400),
        "lost_edits": lost,
        "requests": len(samples),
        "requests_per_s": round(len(samples) / elapsed, 1),
        "edits_acknowledged": edits,
        "clients": args.clients,
        "notes": args.notes,
        "duration_s": round(elapsed, 1),
        "think_ms": args.think_ms,
    }
    for kind, values in sorted(by_kind.items()):
        metrics[f"{kind}_p95_ms"] = round(percentile(values, 0.95), 1)
        metrics[f"{kind}_count"] = len(values)
    extra = {
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "failures": {f"{k} {code}": n for (k, code), n in sorted(failures.items())},
        "setup": {
            "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads, production settings, "
                      "127.0.0.1",
            "database": "PostgreSQL on 127.0.0.1 (scratch database)",
            "pacing": f"each client pauses {args.think_ms:g} ms on average between actions"
                      if args.think_ms else "back-to-back requests, no pause (closed loop: measures saturation)",
            "mix": "25% queue page (HTML), 25% note list API, 25% editor reads (note + annotation set, API), "
                   "25% entity create/delete with the version check",
            "caveat": "clients run as threads in the benchmark process on the same machine; the machine's cores "
                      "are shared with other work, so figures are noisy",
        },
    }
    path = write_result(args.name, metrics, extra=extra)
    print(json.dumps(metrics, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
