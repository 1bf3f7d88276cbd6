"""The one file store: the local disk by default, an S3-compatible bucket (a real SeaweedFS) when configured."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from ade_review.storage import file_storage, object_store_in_use


def test_the_default_store_is_the_local_disk_under_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    assert not object_store_in_use()
    name = file_storage().save("exports/1/a.txt", ContentFile(b"x"))
    assert (tmp_path / name).read_bytes() == b"x"


@pytest.mark.django_db
def test_a_configured_bucket_receives_the_files_and_keeps_them_private(bucket_settings):
    assert object_store_in_use()
    store = file_storage()
    name = store.save("exports/1/a.txt", ContentFile(b"hello"))
    with store.open(name) as fh:
        assert fh.read() == b"hello"
    client = bucket_settings.store.client()
    assert client.get_object(Bucket=bucket_settings.bucket, Key=name)["Body"].read() == b"hello"
    # Private: an unsigned request is refused; the signed link the store hands out works and expires.
    import urllib.error
    import urllib.request

    unsigned = f"{bucket_settings.store.endpoint_url}/{bucket_settings.bucket}/{name}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=10)
    assert refused.value.code in (401, 403)
    signed = store.url(name)
    assert "X-Amz-Signature=" in signed and "X-Amz-Expires=" in signed
    assert urllib.request.urlopen(signed, timeout=10).read() == b"hello"
