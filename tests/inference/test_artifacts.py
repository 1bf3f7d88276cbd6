"""Model directories published to the file store by content hash and cached per worker (inference.artifacts):
on the local default store and on a real S3-compatible bucket (SeaweedFS), with corrupted copies, eviction by
size and two processes resolving one version at once."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference.artifacts import (
    ArtifactError,
    artifact_exists,
    artifact_local,
    artifact_path,
    artifact_publish,
    artifact_read_file,
    cache_evict,
    reference_hash,
)
from tests.factories import tiny_encoder
from tests.object_store import child_env

ROOT = Path(__file__).resolve().parents[2]


def _digests(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def _small_dir(path: Path, payload: bytes) -> Path:
    path.mkdir(parents=True)
    (path / "weights.bin").write_bytes(payload)
    (path / "sub").mkdir()
    (path / "sub" / "config.json").write_text('{"a": 1}')
    return path


@pytest.fixture
def local_store(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ADE_REVIEW_MODEL_CACHE_DIR = tmp_path / "cache-worker-1"
    return settings


def test_a_published_directory_is_resolved_by_another_worker_with_identical_files(local_store, tmp_path):
    source = tiny_encoder(tmp_path / "encoder")
    (source / "checkpoints").mkdir()
    (source / "checkpoints" / "step-1.bin").write_bytes(b"scratch")
    reference = artifact_publish(source, exclude=("checkpoints",))
    assert reference.startswith("artifact:") and artifact_exists(reference)
    assert artifact_publish(source, exclude=("checkpoints",)) == reference  # content-addressed: stored once
    local_store.ADE_REVIEW_MODEL_CACHE_DIR = tmp_path / "cache-worker-2"  # a worker that never saw it
    with artifact_local(reference) as files:
        assert str(files).startswith(str(tmp_path / "cache-worker-2"))
        expected = {k: v for k, v in _digests(source).items() if not k.startswith("checkpoints/")}
        assert _digests(files) == expected
    assert json.loads(artifact_read_file(reference, "config.json")) == json.loads((source / "config.json").read_text())
    assert artifact_read_file(reference, "no-such-file") is None


def test_a_local_path_is_read_where_it_is_and_a_malformed_reference_is_refused(local_store, tmp_path):
    legacy = _small_dir(tmp_path / "old-version", b"x")
    with artifact_local(str(legacy)) as files:
        assert files == legacy  # rows written before the store keep their directory
    for bad in ("artifact:../../etc", "artifact:" + "0" * 63, "artifact:" + "A" * 64):
        with pytest.raises(ArtifactError, match="not a model artifact reference"):
            reference_hash(bad)
    with pytest.raises(ArtifactError, match="not in the file store"):
        artifact_path("artifact:" + "0" * 64)


def test_a_directory_with_a_symbolic_link_or_nothing_in_it_is_not_published(local_store, tmp_path):
    linked = _small_dir(tmp_path / "linked", b"x")
    (linked / "escape").symlink_to("/etc/hostname")
    with pytest.raises(ArtifactError, match="plain files only"):
        artifact_publish(linked)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="empty"):
        artifact_publish(tmp_path / "empty")


def test_a_corrupted_cached_file_is_detected_and_downloaded_again(local_store, tmp_path):
    source = _small_dir(tmp_path / "v1", os.urandom(4096))
    reference = artifact_publish(source)
    files = artifact_path(reference)
    weights = files / "weights.bin"
    weights.write_bytes(b"\0" * 4096)  # same size, other bytes: only the sha256 tells
    time.sleep(0.01)
    again = artifact_path(reference)
    assert (again / "weights.bin").read_bytes() == (source / "weights.bin").read_bytes()
    (again / "sub" / "config.json").unlink()  # a file gone
    assert (artifact_path(reference) / "sub" / "config.json").read_text() == '{"a": 1}'


def test_a_file_altered_in_the_store_is_refused_and_leaves_no_copy(local_store, tmp_path):
    reference = artifact_publish(_small_dir(tmp_path / "v1", b"original"))
    stored = Path(local_store.MEDIA_ROOT) / "models" / reference_hash(reference) / "files" / "weights.bin"
    stored.write_bytes(b"tampered")
    with pytest.raises(ArtifactError, match="does not match its manifest"):
        artifact_path(reference)
    cache = Path(local_store.ADE_REVIEW_MODEL_CACHE_DIR)
    assert not (cache / reference_hash(reference)).exists() and not any((cache / ".tmp").iterdir())


def test_least_recently_used_versions_are_evicted_above_the_size_limit(local_store, tmp_path):
    refs = [artifact_publish(_small_dir(tmp_path / f"v{i}", os.urandom(1000) + bytes([i]))) for i in range(3)]
    local_store.ADE_REVIEW_MODEL_CACHE_MAX_BYTES = 3000  # two versions of ~1.3 KB (files and manifest) fit
    cache = Path(local_store.ADE_REVIEW_MODEL_CACHE_DIR)
    artifact_path(refs[0])
    artifact_path(refs[1])
    past = time.time() - 100
    os.utime(cache / reference_hash(refs[1]), (past, past))
    os.utime(cache / reference_hash(refs[0]), (past + 10, past + 10))  # refs[0] used after refs[1]
    artifact_path(refs[2])
    held = {p.name for p in cache.iterdir() if not p.name.startswith(".")}
    assert held == {reference_hash(refs[0]), reference_hash(refs[2])}
    # The version being loaded stays even when it alone is over the limit; one another process holds, too.
    local_store.ADE_REVIEW_MODEL_CACHE_MAX_BYTES = 1
    with artifact_local(refs[0]):  # this lock is a separate open file, as another process's would be
        with artifact_local(refs[1]) as files:
            assert (files / "weights.bin").is_file()
            held = {p.name for p in cache.iterdir() if not p.name.startswith(".")}
            assert held == {reference_hash(refs[0]), reference_hash(refs[1])}
    assert set(cache_evict(max_bytes=0)) == {reference_hash(refs[0]), reference_hash(refs[1])}
    assert not [p for p in cache.iterdir() if not p.name.startswith(".")]


_RESOLVER = """
import os, sys, time, hashlib, json
import django
django.setup()
from pathlib import Path
from inference.artifacts import artifact_local
go = Path(sys.argv[2])
Path(sys.argv[3]).touch()
while not go.exists():
    time.sleep(0.01)
with artifact_local(sys.argv[1]) as files:
    digests = {p.relative_to(files).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in sorted(files.rglob("*")) if p.is_file()}
print(json.dumps({"dir": str(files), "digests": digests}))
"""


@pytest.mark.django_db
def test_two_processes_resolving_one_version_from_the_bucket_at_once_make_one_intact_copy(bucket_settings, tmp_path,
                                                                                          settings):
    settings.ADE_REVIEW_MODEL_CACHE_DIR = tmp_path / "publisher-cache"
    source = tiny_encoder(tmp_path / "encoder")
    (source / "big.bin").write_bytes(os.urandom(24 * 1024 * 1024))  # long enough a download for the two to overlap
    reference = artifact_publish(source)
    keys = {o["Key"] for o in bucket_settings.store.client().list_objects_v2(
        Bucket=bucket_settings.bucket, Prefix="models/")["Contents"]}
    h = reference_hash(reference)
    assert f"models/{h}/manifest.json" in keys and f"models/{h}/files/big.bin" in keys
    cache = tmp_path / "worker-cache"  # one machine's cache, two worker processes on it
    env = child_env(**bucket_settings.env, DJANGO_SETTINGS_MODULE="ade_review.settings.test", PYTHONPATH=str(ROOT),
                    ADE_REVIEW_MODEL_CACHE_DIR=str(cache), ADE_REVIEW_VAR_DIR=str(tmp_path / "var"))
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _RESOLVER, reference, str(go), str(tmp_path / f"ready-{i}")],
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{i}").exists() for i in range(2)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), procs[0].stderr.read()
        time.sleep(0.05)
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert results[0] == results[1]
    assert results[0]["digests"] == _digests(source)
    assert [p.name for p in cache.iterdir() if not p.name.startswith(".")] == [h]
    assert not any((cache / ".tmp").iterdir())  # the loser's download (if any) did not stay behind


@pytest.mark.django_db
def test_a_worker_with_an_empty_cache_loads_a_version_from_the_bucket(bucket_settings, tmp_path, settings):
    from inference.core.encoder import load_encoder_model

    settings.ADE_REVIEW_MODEL_CACHE_DIR = tmp_path / "trainer-cache"
    source = tiny_encoder(tmp_path / "encoder")
    reference = artifact_publish(source)
    settings.ADE_REVIEW_MODEL_CACHE_DIR = tmp_path / "other-worker-cache"
    with artifact_local(reference) as files:
        assert _digests(files) == _digests(source)
        loaded, original = load_encoder_model(files), load_encoder_model(source)
        assert all((a == b).all() for a, b in zip(loaded.state_dict().values(), original.state_dict().values(),
                                                  strict=True))


@pytest.mark.django_db
def test_rows_that_name_a_local_directory_are_published_by_the_command(local_store, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    from annotations.audit.models import AuditAction, AuditEvent
    from annotations.services.corpus_import import project_get_or_create
    from inference.models import ModelVersion

    project = project_get_or_create(slug="old-site", name="Old site")
    encoder = tiny_encoder(tmp_path / "adapted-encoder")
    project.encoder_path = str(encoder)
    project.save(update_fields=["encoder_path"])
    old = _small_dir(tmp_path / "versions" / "v1", b"weights")
    v1 = ModelVersion.objects.create(project=project, name="v1", path=str(old), encoder=str(encoder))
    gone = ModelVersion.objects.create(project=project, name="v0", path=str(tmp_path / "deleted-long-ago"))

    out = StringIO()
    call_command("models_publish", "--dry-run", stdout=out)
    assert "would publish" in out.getvalue() and ModelVersion.objects.get(pk=v1.pk).path == str(old)
    call_command("models_publish", stdout=out)
    v1.refresh_from_db()
    project.refresh_from_db()
    assert v1.path.startswith("artifact:") and v1.encoder == project.encoder_path != str(encoder)
    assert ModelVersion.objects.get(pk=gone.pk).path == str(tmp_path / "deleted-long-ago")  # reported, left alone
    assert "missing" in out.getvalue()
    local_store.ADE_REVIEW_MODEL_CACHE_DIR = tmp_path / "a-new-worker"
    assert _digests(artifact_path(v1.path)) == _digests(old)
    assert AuditEvent.objects.filter(project=project, action=AuditAction.MODEL_CHANGE,
                                     details__published="path", object_id=str(v1.pk)).exists()
