"""Retention of stored files: uploaded corpora (MEDIA_ROOT/imports) and export files (MEDIA_ROOT/exports)
hold clinical notes, so they are deleted ADE_REVIEW_FILE_RETENTION_DAYS after they were written (a beat
task calls `stored_files_expire` every hour). A file that a queued or running job still reads or writes is
kept whatever its age.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from django.conf import settings

from inference.models import FINISHED_STATES, Job

logger = logging.getLogger(__name__)

# MEDIA_ROOT/terminologies: uploaded terminology files (licensed), which their load job deletes when it ends;
# one whose job never ran goes with the others.
STORED_FOLDERS = ("imports", "exports", "terminologies")


def _in_use() -> set[Path]:
    paths = set()
    for parameters, result in Job.objects.exclude(state__in=FINISHED_STATES).values_list(
        "parameters", "result_path"
    ):
        for value in ((parameters or {}).get("path"), result):
            if value:
                paths.add(Path(value).resolve())
    return paths


def stored_files_expire(*, days: int | None = None) -> int:
    """Delete uploads and export files older than `days` (default ADE_REVIEW_FILE_RETENTION_DAYS; 0 keeps
    them for ever), and the upload folders they leave empty. Result: the number of files deleted."""
    days = settings.ADE_REVIEW_FILE_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = time.time() - days * 86400
    media = Path(settings.MEDIA_ROOT)
    keep = _in_use()
    removed = 0
    for name in STORED_FOLDERS:
        root = media / name
        if not root.is_dir():
            continue
        emptied: set[Path] = set()
        for path in sorted(root.rglob("*"), reverse=True):  # files before their folders
            try:
                if path.is_symlink() or path.is_file():
                    if path.lstat().st_mtime < cutoff and path.resolve() not in keep:
                        path.unlink()
                        removed += 1
                        emptied.add(path.parent)
                elif (
                    path.is_dir()
                    and (path in emptied or path.stat().st_mtime < cutoff)
                    and not any(path.iterdir())
                ):
                    # An upload's own folder emptied above, or an old empty one (a fresh empty folder may be
                    # an upload being written: left alone).
                    path.rmdir()
                    emptied.add(path.parent)
            except OSError:
                continue  # removed meanwhile (a concurrent run, a discarded upload) or not ours to remove
    if removed:
        logger.info("retention: %d stored file(s) older than %d days deleted", removed, days)
    return removed
