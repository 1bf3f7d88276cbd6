"""A real Celery worker process on Redis, killed with SIGKILL in the middle of a job and started again.

The job must still finish with exactly one model annotation set per note, counts that add up, and a
state and message that say what happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

from annotations.models import AnnotationSet, NoteLabel
from inference.jobs.engine import job_create
from inference.models import Job, JobChunk, JobError, JobState
from tests.processes import process_stop

from .conftest import make_notes

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("ADE_REVIEW_TEST_BROKER", "redis://127.0.0.1:6379/3")
VISIBILITY_TIMEOUT_S = 3
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def broker():
    """This process enqueues to Redis (not eagerly) for the test; the queue db starts and ends empty."""
    from ade_review.celery import app

    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "broker_transport_options")}
    _forget_connections(app)
    app.conf.update(
        broker_url=BROKER,
        task_always_eager=False,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
    )
    try:
        yield BROKER
    finally:
        app.conf.update(saved)
        _forget_connections(app)
        client.flushdb()


def _forget_connections(app) -> None:
    """Drop the app's cached broker connections (made for another broker URL by earlier tests).

    kombu keeps connection and producer pools in a global registry keyed by broker URL: closing the app's
    pool alone would leave that closed pool registered, and the next task sent (Celery takes a producer
    even for eager tasks) would get "Acquire on closed pool". kombu.pools.reset closes and forgets them all.
    """
    import kombu.pools

    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


class Worker:
    """A `celery worker` subprocess on the test database; always stopped by the fixture."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        db = connection.settings_dict
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "ade_review.settings.test",
            "CELERY_BROKER_URL": BROKER,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT_S),
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "OMP_NUM_THREADS": "1",
            # Django's system checks (run at worker start) cover the web side; this worker only runs tasks.
            "CELERY_SKIP_CHECKS": "1",
        }
        n = len(self.procs)
        log = (self.log_dir / f"worker-{n}.log").open("w")
        cmd = [
            sys.executable,
            str(Path(__file__).with_name("celery_worker.py")),
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"jobs-test-{n}@%h",
        ]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            process_stop(proc, timeout=10)

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.log_dir.glob("worker-*.log")))


@pytest.fixture
def workers(tmp_path):
    w = Worker(tmp_path)
    try:
        yield w
    finally:
        w.stop_all()


def wait_for(predicate, timeout: float, what: str, workers: Worker, every: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if workers.procs and workers.procs[-1].poll() is not None:
            pytest.fail(f"the worker exited ({workers.procs[-1].returncode})\n{workers.logs()}")
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}\n{workers.logs()}")


def test_worker_killed_mid_job_loses_nothing_and_duplicates_nothing(project, model_version, broker, workers):
    n_notes = 300
    make_notes(project, n_notes, repeat=4)
    job = job_create(project=project, kind="pre_annotate", parameters={"chunk_size": 10, "batch_size": 5})

    first = workers.start()

    def mid_chunk():
        in_flight = JobChunk.objects.filter(job=job, attempts__gte=1, completed_at__isnull=True).exists()
        done = Job.objects.values_list("done", flat=True).get(pk=job.pk)
        return in_flight and done >= 30

    wait_for(mid_chunk, 120, "the worker to be in the middle of the job", workers)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    job.refresh_from_db()
    at_kill = (job.state, job.done)
    assert job.state == JobState.RUNNING and 30 <= job.done < n_notes, at_kill
    # The chunk can finish between the check above and the kill; then the worker may hold the next
    # message without having started it (no attempt recorded yet). Either way nothing may be lost or
    # duplicated; a chunk that had started must run again.
    started_at_kill = list(
        JobChunk.objects.filter(job=job, attempts__gte=1, completed_at__isnull=True).values_list("pk", flat=True)
    )

    workers.start()
    wait_for(
        lambda: Job.objects.get(pk=job.pk).is_finished,
        150,
        "the job to finish after the restart",
        workers,
        0.2,
    )

    job.refresh_from_db()
    assert (job.state, job.total, job.done, job.failed) == (JobState.SUCCEEDED, n_notes, n_notes, 0), (
        job.message
    )
    sets = AnnotationSet.objects.filter(source_kind="model", model_version=model_version)
    assert sets.count() == n_notes
    assert sets.values("note_id").distinct().count() == n_notes
    assert NoteLabel.objects.filter(annotation_set__in=sets).count() == n_notes
    chunks = JobChunk.objects.filter(job=job)
    assert all(c.completed_at for c in chunks)
    assert sum(c.done for c in chunks) == n_notes
    if started_at_kill:
        again = chunks.filter(pk__in=started_at_kill, attempts__gte=2)
        assert again.count() == len(started_at_kill), "the chunk in flight at the kill was delivered again"
        assert "ran again" in job.message
    assert not JobError.objects.filter(job=job).exists()


def test_an_import_whose_worker_is_killed_is_failed_by_the_reaper_once_its_lease_runs_out(
    project, broker, workers, settings, tmp_path, monkeypatch
):
    """No worker comes back: nothing would ever finish the job but the reaper (finding 5 of issue 13)."""
    from inference.jobs.engine import jobs_reap_stale

    # The command line stores the file in the file store (here a disk folder of this test's, which the worker,
    # started with this environment, uses too).
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))

    corpus = tmp_path / "big.jsonl"
    corpus.write_text(
        "".join(f'{{"id": "n{i:05d}", "text": "Note {i}: aspirin, then a rash."}}\n' for i in range(30_000)),
        encoding="utf-8",
    )
    job = job_create(project=project, kind="import", parameters={"path": str(corpus), "format": "jsonl"},
                     any_import_path=True)
    worker = workers.start()
    wait_for(lambda: Job.objects.filter(pk=job.pk, state=JobState.RUNNING, done__gt=0).exists(), 120,
             "the import to be under way", workers)
    beat = Job.objects.get(pk=job.pk).heartbeat_at
    wait_for(lambda: Job.objects.get(pk=job.pk).heartbeat_at > beat, 30, "a heartbeat while it reads", workers)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    settings.ADE_REVIEW_JOB_LEASE_S = 5
    assert jobs_reap_stale() == []  # its last heartbeat is fresh: the job may still be alive
    time.sleep(6)
    assert jobs_reap_stale() == [job.pk]
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.message.startswith("the worker stopped"), job.message
    assert job.finished_at is not None
