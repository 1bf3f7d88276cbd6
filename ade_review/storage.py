"""The one store of files: uploads, exports, model versions, adapted encoders and terminology files.

Everything the product keeps as a file goes through Django's storage API, alias "default" (configured once, in
`ade_review/settings/base.py`): the local disk under MEDIA_ROOT by default, an S3-compatible bucket when
`ADE_REVIEW_S3_BUCKET` is set. Code names files by *key* (a relative, `/`-separated name such as
`exports/12/job-40.zip`), never by a local path, so that a web node and workers on other machines find the same
object. A worker that needs a real directory (a model version for `transformers`) copies it into its own local
cache (`ADE_REVIEW_VAR_DIR/cache`), never into a path another machine is expected to see.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from django.core.files import File
from django.core.files.storage import Storage, storages


def file_storage() -> Storage:
    """The configured store (local disk or bucket); read on every call, so test settings take effect."""
    return storages["default"]


def object_store_in_use() -> bool:
    """True when files live in an S3-compatible bucket rather than on this machine's disk."""
    return type(file_storage()).__module__.startswith("storages.backends.s3")


def store_unreachable(exc: BaseException) -> bool:
    """True for an error of the object store itself (botocore's: the bucket cannot be reached, refuses the
    credentials, times out): what pages and the API answer with 503 "the file store cannot be reached" instead
    of a 500 whose log would carry the endpoint. The local disk's errors (OSError) stay server errors."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # no S3 backend installed: nothing can come from a bucket
        return False
    return isinstance(exc, (BotoCoreError, ClientError))


STORE_UNREACHABLE_MESSAGE = ("The file store cannot be reached just now. Nothing was lost; try again in a "
                             "moment, or tell your site administrator if it lasts.")


# --- keys, and moving files between this machine and the store ------------------------------------------------

# One part of a key: what the product itself names files with (ids, slugs, timestamps, sanitised upload names).
# No part starts with a dot, so no key climbs out of its folder or hides a file.
_KEY_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
# Bytes moved per read when a stored file is copied to this machine or streamed to a browser.
COPY_CHUNK = 1024 * 1024


def stored_key_check(key: object, *, prefix: str) -> str | None:
    """`key` when it names a file under the folder `prefix` (e.g. "exports/12"): relative, "/"-separated,
    each part letters, digits, ".", "_", "-" (not starting with a dot); else None.

    Keys come back from the database (a job's parameters, its result) and, through ids, from URLs: they are
    checked, never trusted, before the store is asked for them."""
    if not isinstance(key, str) or not key.startswith(prefix.rstrip("/") + "/") or len(key) > 1000:
        return None
    if not all(_KEY_PART.fullmatch(part) for part in key.split("/")):
        return None
    return key


def stored_file_local_path(key: str) -> Path | None:
    """The stored file's own path when the store is this machine's disk, else None (a bucket)."""
    try:
        return Path(file_storage().path(key))
    except NotImplementedError:
        return None


def stored_file_stream(key: str):
    """The stored file `key` as a binary stream read as it arrives, and its size in bytes: the file itself on the
    local disk; from a bucket the object's body straight off the connection (django-storages' own file would
    first fetch the whole object before its first byte), so memory stays flat and a download starts at once.

    Errors: FileNotFoundError when the key names no file; the store's own errors."""
    store = file_storage()
    if not store.exists(key):
        raise FileNotFoundError("no such stored file")
    handle = store.open(key, "rb")
    remote = getattr(handle, "obj", None)  # django-storages' S3 file: its boto3 object, nothing read yet
    if remote is None:
        return handle, store.size(key)
    got = remote.get()
    return got["Body"], int(got["ContentLength"])


def stored_file_within(key: str, folder: str) -> bool:
    """True when the stored file `key` really lies in the store's `folder`: on the local disk its real path
    (links and `..` resolved) is a file under the folder's real path; in a bucket, which has no links, a key
    that stored_key_check passed for that folder always does."""
    own = stored_file_local_path(key)
    if own is None:
        return True
    root = stored_file_local_path(folder).resolve()
    return root in own.resolve().parents and own.is_file()


@contextmanager
def stored_file_local(key: str) -> Iterator[Path]:
    """A file on this machine with the stored file's bytes, for readers that need a path (zip archives, the
    corpus and terminology readers): on the local disk the file itself; from a bucket a copy streamed into a
    private temporary folder (0700) of this machine, removed on exit whatever happens.

    Errors: FileNotFoundError when the key names no file; the store's own errors (OSError, botocore's)."""
    own = stored_file_local_path(key)
    if own is not None:
        if not own.is_file():
            raise FileNotFoundError("no such stored file")
        yield own
        return
    folder = Path(tempfile.mkdtemp(prefix="ade-review-"))
    try:
        local = folder / PurePosixPath(key).name  # its name and suffix tell the readers what it is
        source, _ = stored_file_stream(key)
        with source, open(local, "wb") as out:
            shutil.copyfileobj(source, out, COPY_CHUNK)
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _LocalFile(File):
    """A file already on this machine: the local-disk store moves it into place instead of copying it
    (FileSystemStorage uses `temporary_file_path`); a bucket streams it up (multipart above 8 MiB, a few parts
    in memory at a time, whatever the file's size)."""

    def temporary_file_path(self) -> str:
        return self.file.name


def stored_file_put(*, key: str, local_path: Path) -> str:
    """Put the local file `local_path` into the store at `key`, replacing what was there (a job run again
    rewrites its file). The local file is consumed: moved on the local disk, and left for the caller's
    temporary folder to remove after an upload to a bucket.

    Result: the key it was stored under (the same key). Errors: the store's (OSError, botocore's)."""
    store = file_storage()
    store.delete(key)  # no-op when absent; without it the store would pick another name
    with open(local_path, "rb") as fh:
        name = store.save(key, _LocalFile(fh, name=os.fspath(local_path)))
    return name.replace("\\", "/")


def stored_file_delete(key: str, *, own_folder: bool = False) -> None:
    """Remove a stored file (nothing when it is gone already). `own_folder`: the file has a folder of its own
    (an upload's: imports/<project id>/<upload>/<name>, terminologies/<upload>/<name>), which on the local disk
    goes with it once empty (a bucket has no folders); shared folders such as imports/<project id> stay, so an
    upload being stored next to it never loses its parent."""
    file_storage().delete(key)
    own = stored_file_local_path(key) if own_folder else None
    if own is not None:
        try:
            own.parent.rmdir()  # only when empty
        except OSError:
            pass


def stored_file_response(key: str, *, filename: str | None = None, content_type: str | None = None):
    """A download of the stored file `key` through this web node: a FileResponse streamed in 1 MiB blocks from
    the store as they arrive (stored_file_stream: memory flat, first byte at once, from the disk or the bucket),
    as an attachment named `filename` (default: the key's last part; never the key itself, so no folder, bucket
    or endpoint reaches the browser). Errors: FileNotFoundError."""
    from django.http import FileResponse

    name = filename or PurePosixPath(key).name
    stream, size = stored_file_stream(key)
    response = FileResponse(stream, as_attachment=True, filename=name,
                            **({"content_type": content_type} if content_type else {}))
    response["Content-Length"] = str(size)
    response.block_size = COPY_CHUNK
    return response


def object_store_bucket_ensure() -> bool:
    """Create the configured bucket when it does not exist yet (a fresh MinIO, SeaweedFS or Ceph at deployment),
    private: no ACL or policy is set, so only signed requests with the app's credentials reach it.

    Result: True when it was created, False when it was there already (or the store is the local disk).
    Errors: botocore's ClientError (no permission to create, a name taken by someone else)."""
    if not object_store_in_use():
        return False
    from botocore.exceptions import ClientError

    store = file_storage()
    client = store.connection.meta.client
    try:
        client.head_bucket(Bucket=store.bucket_name)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    region = client.meta.region_name
    extra = {"CreateBucketConfiguration": {"LocationConstraint": region}} if region and region != "us-east-1" else {}
    client.create_bucket(Bucket=store.bucket_name, **extra)
    return True


def stored_file_probe() -> None:
    """Write, read back and delete one small file in the store: the check every web node and worker can run at
    start (`manage.py storage_check`). Errors: RuntimeError naming the step that failed (never the bucket,
    endpoint or key); the store's own error is chained."""
    import uuid

    from django.core.files.base import ContentFile

    store = file_storage()
    key = f"health/{uuid.uuid4().hex}"
    body = uuid.uuid4().bytes
    step = "write"
    try:
        store.save(key, ContentFile(body))
        step = "read"
        with store.open(key, "rb") as fh:
            if fh.read() != body:
                raise RuntimeError("the file store returned other bytes than were written")
        step = "delete"
        stored_file_delete(key, own_folder=True)  # on the local disk the probe's folder goes too, once empty
    except RuntimeError:
        raise
    except Exception as exc:  # noqa: BLE001 - any store error: say which step, chain the cause
        raise RuntimeError(f"the file store refused to {step} a file ({type(exc).__name__})") from exc
