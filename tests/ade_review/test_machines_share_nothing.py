"""Web node, worker 1 and worker 2 share nothing but the database, the broker and the bucket (issue 20).

The web node is this test process's live server; each worker is a real `celery worker` process with its own
empty ADE_REVIEW_VAR_DIR (its media folder, model scratch and model cache under it), all against one real
SeaweedFS bucket, the test PostgreSQL database and a Redis broker. Which worker takes each job is decided by
queues, as a site with a GPU server would route them: worker 2 (the "GPU worker") consumes only the `gpu` queue,
where the web node routes training; worker 1 consumes `default`, where imports, pre-annotation (planned by
whoever promoted the version: here worker 2) and exports go.

upload (web) -> import (worker 1) -> retrain from a published encoder (worker 2) -> pre-annotation with the
new version (worker 1, which never saw it) -> export (worker 1) -> download (web).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import redis
import requests
from django.contrib.auth import get_user_model
from django.db import connection

from accounts.services import api_token_create
from annotations.formats import registry
from annotations.models import AnnotationSet, ProjectMembership, ProjectRole
from annotations.services.corpus_import import project_get_or_create
from inference.artifacts import artifact_publish, reference_hash
from inference.models import Job, JobState, ModelVersion
from inference.models.learning import RetrainPolicy
from tests.factories import tiny_encoder
from tests.inference.learning.conftest import FAST, toy_document
from tests.object_store import child_env
from tests.processes import process_stop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("ADE_REVIEW_TEST_BROKER", "redis://127.0.0.1:6379/3")
WORKER_ENTRY = ROOT / "tests" / "inference" / "jobs" / "celery_worker.py"
# Paths a worker must not inherit from this process: each derives them from its own ADE_REVIEW_VAR_DIR.
LOCAL_PATHS = ("MEDIA_ROOT", "ADE_REVIEW_MODEL_DIR", "ADE_REVIEW_MODEL_CACHE_DIR", "ADE_REVIEW_VAR_DIR")


@pytest.fixture
def broker():
    """This process sends tasks to Redis (not eagerly), training to the `gpu` queue; the db starts and ends
    empty."""
    from ade_review.celery import app
    from tests.inference.jobs.test_worker_crash import _forget_connections

    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "task_routes")}
    _forget_connections(app)
    app.conf.update(broker_url=BROKER, task_always_eager=False,
                    task_routes={"inference.train": {"queue": "gpu"}})
    try:
        yield BROKER
    finally:
        app.conf.update(saved)
        _forget_connections(app)
        client.flushdb()


class Workers:
    def __init__(self, root: Path, bucket_env: dict[str, str]):
        self.root, self.bucket_env, self.procs = root, bucket_env, {}

    def start(self, name: str, queues: str) -> Path:
        var_dir = self.root / name / "var"
        var_dir.mkdir(parents=True)
        db = connection.settings_dict
        env = child_env(
            **self.bucket_env,
            PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="ade_review.settings.test", CELERY_BROKER_URL=BROKER,
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            ADE_REVIEW_VAR_DIR=str(var_dir), OMP_NUM_THREADS="1", CELERY_SKIP_CHECKS="1",
            CELERY_VISIBILITY_TIMEOUT="600",  # a training task outlasts the crash test's 3 s: no redelivery here
            ADE_REVIEW_TRAIN_CONFIG=json.dumps({**FAST, "min_steps": 0}),
        )
        for key in LOCAL_PATHS:
            env.pop(key, None)
        env["ADE_REVIEW_VAR_DIR"] = str(var_dir)
        log = (self.root / f"{name}.log").open("w")
        self.procs[name] = subprocess.Popen(
            [sys.executable, str(WORKER_ENTRY), "--pool=solo", "--loglevel=INFO", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-Q", queues, "-n", f"{name}@%h"],
            cwd=self.root / name, env=env, stdout=log, stderr=subprocess.STDOUT)
        return var_dir

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text()

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{self.log(n)[-4000:]}" for n in self.procs)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            process_stop(proc)


@pytest.fixture
def workers(tmp_path, bucket_settings):
    w = Workers(tmp_path / "machines", bucket_settings.env)
    try:
        yield w
    finally:
        w.stop_all()


def wait_job(job_id: int, workers: Workers, timeout: float = 90) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in workers.procs.items():
            if proc.poll() is not None:
                pytest.fail(f"{name} exited ({proc.returncode})\n{workers.logs()}")
        job = Job.objects.get(pk=job_id)
        if job.is_finished:
            assert job.state == JobState.SUCCEEDED, f"{job.kind}: {job.message}\n{workers.logs()}"
            return job
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for job {job_id}\n{workers.logs()}")


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_upload_import_retrain_pre_annotate_export_and_download_across_machines_sharing_no_disk(
    bucket_settings, broker, workers, live_server, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "web" / "media"  # the web node's own disk (it must not need it either)
    settings.ADE_REVIEW_MODEL_CACHE_DIR = tmp_path / "web" / "cache"
    w1 = workers.start("worker-1", "default")
    w2 = workers.start("worker-2", "gpu")

    project = project_get_or_create(slug="two-sites", name="Two machines")
    RetrainPolicy.objects.update_or_create(project=project, defaults={"retrain_every": 0})  # retrain on request only
    encoder = artifact_publish(tiny_encoder(tmp_path / "encoder", hidden_size=32, num_layers=1))
    project.encoder_path = encoder  # an adopted encoder lives in the bucket like any model
    project.save(update_fields=["encoder_path"])
    admin = get_user_model().objects.create_user("site-admin", password="pw-site-123")
    ProjectMembership.objects.create(project=project, user=admin, role=ProjectRole.ADMIN)
    _, secret = api_token_create(user=admin)
    web = requests.Session()
    web.headers["Authorization"] = f"Token {secret}"
    api = f"{live_server.url}/api/projects/{project.slug}"

    # Upload on the web node; the import runs on worker 1, which reads the upload from the bucket.
    gold = [toy_document(i) for i in range(24)]
    registry.write_corpus(gold, tmp_path / "gold.jsonl", "jsonl")
    uploaded = web.post(f"{api}/imports/", files={"file": ("gold.jsonl", (tmp_path / "gold.jsonl").read_bytes())},
                        data={"format": "jsonl"}, timeout=30)
    assert uploaded.status_code == 201, uploaded.text
    wait_job(uploaded.json()["id"], workers)
    assert project.notes.count() == 24
    for i in range(3):  # notes nobody annotated, for the new version to pre-annotate
        added = web.post(f"{api}/notes/", json={"external_id": f"new-{i}", "text": toy_document(200 + i).text},
                         timeout=30)
        assert added.status_code == 201, added.text

    # Retrain on worker 2 (the gpu queue), from the encoder in the bucket, into a version published there.
    started = web.post(f"{api}/jobs/", json={"kind": "train", "parameters": {"epochs": 1}}, timeout=30)
    assert started.status_code == 201, started.text
    trained = wait_job(started.json()["id"], workers, timeout=120)
    version = ModelVersion.objects.get(training_job=trained)
    assert version.is_active and version.path.startswith("artifact:") and version.encoder == encoder
    version_hash = reference_hash(version.path)
    assert reference_hash(encoder) in os.listdir(w2 / "cache" / "models")  # fetched through worker 2's cache
    assert not _files(w2 / "models")  # the training scratch is gone once published

    # The promotion's pre-annotation runs on worker 1, which had never seen the version: it loads it from the
    # bucket into its own cache.
    deadline = time.monotonic() + 30
    while not (pre := Job.objects.filter(project=project, kind="pre_annotate", model_version=version).first()):
        assert time.monotonic() < deadline, workers.logs()
        time.sleep(0.2)
    pre = wait_job(pre.pk, workers)
    assert version_hash in os.listdir(w1 / "cache" / "models")
    assert version_hash not in os.listdir(w2 / "cache" / "models")
    assert reference_hash(encoder) not in os.listdir(w1 / "cache" / "models")  # a pipeline carries its encoder
    assert f"model artifact {version_hash[:12]}: downloaded into this worker's cache" in workers.log("worker-1")
    model_sets = AnnotationSet.objects.filter(note__project=project, source_kind="model", model_version=version)
    assert set(model_sets.values_list("note__external_id", flat=True)) == {"new-0", "new-1", "new-2"}

    # Export on worker 1 into the bucket; download from the web node.
    exported = web.post(f"{api}/jobs/", json={"kind": "export", "parameters": {"format": "jsonl"}}, timeout=30)
    assert exported.status_code == 201, exported.text
    export_job = wait_job(exported.json()["id"], workers)
    download = web.get(f"{api}/jobs/{export_job.pk}/download/", timeout=30)
    assert download.status_code == 200, download.text[:300]
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        text = "".join(zf.read(n).decode() for n in zf.namelist())
    assert all(d.id in text for d in gold)

    # Nothing went through a disk another machine would have to see: every file is in the bucket.
    keys = {o["Key"] for page in bucket_settings.store.client().get_paginator("list_objects_v2").paginate(
        Bucket=bucket_settings.bucket) for o in page.get("Contents", [])}
    assert any(k.startswith(f"imports/{project.pk}/") for k in keys)
    assert any(k.startswith(f"exports/{project.pk}/") for k in keys)
    assert f"models/{version_hash}/manifest.json" in keys and f"models/{reference_hash(encoder)}/manifest.json" in keys
    for var_dir in (w1, w2):
        assert not _files(var_dir / "media"), _files(var_dir / "media")
    assert not _files(settings.MEDIA_ROOT)
