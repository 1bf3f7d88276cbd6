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


@contextmanager
def stored_file_local(key: str, *, suffix: str = "") -> Iterator[Path]:
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
        local = folder / (PurePosixPath(key).name or f"file{suffix}")
        store = file_storage()
        if not store.exists(key):
            raise FileNotFoundError("no such stored file")
        with store.open(key, "rb") as source, open(local, "wb") as out:
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


def stored_file_delete(key: str) -> None:
    """Remove a stored file (nothing when it is gone already); on the local disk also the folders it leaves
    empty, up to the top folder of its key ("imports", "exports", ...)."""
    file_storage().delete(key)
    own = stored_file_local_path(key)
    if own is None:
        return
    parts = PurePosixPath(key).parts
    folder = own.parent
    for _ in range(len(parts) - 2):
        try:
            folder.rmdir()  # only when empty
        except OSError:
            return
        folder = folder.parent


def stored_file_response(key: str, *, filename: str | None = None, content_type: str | None = None):
    """A download of the stored file `key` through this web node: a FileResponse read in 1 MiB blocks from the
    store (the local disk, or the bucket: django-storages spools the object into this node's temporary disk and
    memory stays flat), as an attachment named `filename` (default: the key's last part; never the key
    itself, so no folder, bucket or endpoint reaches the browser). Errors: FileNotFoundError."""
    from django.http import FileResponse

    name = filename or PurePosixPath(key).name
    handle = file_storage().open(key, "rb")
    response = FileResponse(handle, as_attachment=True, filename=name,
                            **({"content_type": content_type} if content_type else {}))
    response.block_size = COPY_CHUNK
    return response
