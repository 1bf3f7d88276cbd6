"""`manage.py storage_check`: a node checks it reaches the file store, and a deployment creates its bucket."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_the_check_writes_reads_and_deletes_a_file_on_the_local_disk(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command("storage_check", stdout=out)
    assert "the file store works: the local disk" in out.getvalue()
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # the probe is gone


def test_create_bucket_makes_the_missing_bucket_and_the_check_then_passes(bucket_settings, settings):
    client = bucket_settings.store.client()
    missing = f"t-{uuid.uuid4().hex[:16]}"
    settings.STORAGES = {**settings.STORAGES, "default": bucket_settings.store.storage_options(missing)}
    out = io.StringIO()
    call_command("storage_check", "--create-bucket", stdout=out)
    assert "created the bucket" in out.getvalue() and "the file store works: the S3-compatible bucket" in out.getvalue()
    client.head_bucket(Bucket=missing)
    assert client.list_objects_v2(Bucket=missing).get("KeyCount", 0) == 0  # the probe is gone
    out = io.StringIO()
    call_command("storage_check", "--create-bucket", stdout=out)  # run again at every start: nothing to create
    assert "created" not in out.getvalue()


def test_a_store_that_refuses_the_credentials_fails_the_check_without_naming_the_bucket(bucket_settings, settings):
    options = bucket_settings.store.storage_options(bucket_settings.bucket)
    options["OPTIONS"]["secret_key"] = "not-the-secret-0123456789"
    settings.STORAGES = {**settings.STORAGES, "default": options}
    with pytest.raises(CommandError) as refused:
        call_command("storage_check", stdout=io.StringIO())
    message = str(refused.value)
    assert message.startswith("the S3-compatible bucket: the file store refused to write a file"), message
    for secret in (bucket_settings.bucket, bucket_settings.store.endpoint_url, "not-the-secret"):
        assert secret not in message
