"""Retention of stored files: uploaded corpora (imports/), export files (exports/) and uploaded terminology files
(terminologies/) hold clinical notes or licensed content, so they are deleted ADE_REVIEW_FILE_RETENTION_DAYS after
they were written (a beat task calls `stored_files_expire` every hour). A file that a queued or running job still
reads or writes is kept whatever its age.

It goes through the storage API only (`listdir`, `get_modified_time`, `delete`: `ade_review.storage`), so the
same code expires files on the local disk and objects in a bucket; keys are never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from django.conf import settings
from django.core.files.storage import Storage

from ade_review.storage import file_storage, stored_file_delete
from inference.models import FINISHED_STATES, Job

logger = logging.getLogger(__name__)

# terminologies/: uploaded terminology files (licensed), which their load job deletes when it ends; one whose job
# never ran goes with the others.
STORED_FOLDERS = ("imports", "exports", "terminologies")


def _in_use() -> set[str]:
    """The keys (and, for command-line imports, server paths) that unfinished jobs read or write."""
    names = set()
    for parameters, result in Job.objects.exclude(state__in=FINISHED_STATES).values_list(
        "parameters", "result_path"
    ):
        for value in ((parameters or {}).get("path"), result):
            if value:
                names.add(str(value))
    return names


def _walk(store: Storage, folder: str) -> Iterator[str]:
    """Every file's key under `folder`, depth first; a folder that is gone (removed meanwhile) yields nothing."""
    try:
        folders, files = store.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for name in folders:
        yield from _walk(store, f"{folder}/{name}")


def stored_files_expire(*, days: int | None = None, now: float | None = None) -> int:
    """Delete uploads, exports and uploaded terminology files written more than `days` ago (default
    ADE_REVIEW_FILE_RETENTION_DAYS; 0 keeps them for ever), and on the local disk the folders they leave
    empty. `now` (seconds since the epoch; default the clock) is when "ago" is counted from.
    Result: the number of files deleted."""
    days = settings.ADE_REVIEW_FILE_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = (time.time() if now is None else now) - days * 86400
    store = file_storage()
    keep = _in_use()
    removed = 0
    for folder in STORED_FOLDERS:
        for key in list(_walk(store, folder)):
            if key in keep:
                continue
            try:
                if store.get_modified_time(key).timestamp() >= cutoff:
                    continue
                # An upload's own folder goes with it (on the local disk); exports share their project's.
                stored_file_delete(key, own_folder=folder != "exports")
            except FileNotFoundError:
                continue  # removed meanwhile (a concurrent run, a discarded upload, a finished load job)
            removed += 1
    if removed:
        logger.info("retention: %d stored file(s) older than %d days deleted", removed, days)
    return removed
