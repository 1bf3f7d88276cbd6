"""Uploaded archives: a zip bomb costs the web process little memory and is refused with its real reason, as
are zip slip and links; with a broker the upload request only stores the file and enqueues."""

from __future__ import annotations

import io
import os
import stat
import threading
import time
import zipfile

import psutil
import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotations.models import Note
from inference.models import Job, JobError, JobState

pytestmark = pytest.mark.django_db

GOOD_TXT = "Warfarin caused bleeding.\n"
RSS_BOUND = 100 * 1024**2  # what the web process may grow by while it takes and imports the bomb
BOMB_MEMBER = 600 * 1024**2


def bomb_zip() -> bytes:
    """~2 MB: a good brat note, 1.4 MB of incompressible padding, and one member expanding to 600 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", GOOD_TXT)
        zf.writestr("a.ann", "")
        zf.writestr("padding.bin", os.urandom(1_400_000))
        with zf.open("bomb.txt", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(BOMB_MEMBER // len(block)):
                member.write(block)
    return buffer.getvalue()


class PeakRss:
    """This process's RSS sampled every 2 ms in a thread (the test client runs the request in-process)."""

    def __enter__(self):
        self.process = psutil.Process()
        self.baseline = self.peak = self.process.memory_info().rss
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def upload(client, project, name: str, data: bytes, fmt: str = "brat"):
    return client.post(
        reverse("inference:job-list", args=[project.slug]),
        {"kind": "import", "format": fmt, "upload": SimpleUploadedFile(name, data, "application/zip")},
    )


def test_a_zip_bomb_upload_grows_the_web_process_by_less_than_the_bound_and_says_why(
    client, project, admin_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    settings.ADE_REVIEW_MAX_IMPORT_MEMBER_BYTES = 50 * 1024**2
    data = bomb_zip()
    assert 1_500_000 < len(data) < 2_500_000
    client.force_login(admin_user)
    with PeakRss() as rss, django_capture_on_commit_callbacks(execute=True):
        response = upload(client, project, "bomb.zip", data)
    assert response.status_code == 302
    assert rss.growth < RSS_BOUND, f"RSS grew by {rss.growth / 1024**2:.0f} MiB"
    job = Job.objects.get()
    assert job.state == JobState.FAILED
    assert f"member 'bomb.txt' expands to {BOMB_MEMBER} bytes" in job.message, job.message
    assert "beyond the per-document limit of 52428800 bytes" in job.message and "zip bomb" in job.message
    assert not Note.objects.exists()


def _zip(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("members", "links", "reason"),
    [
        ({"a.txt": b"x", "../escape.txt": b"x"}, (), "member '../escape.txt' refused: '..' component"),
        ({"a.txt": b"x", "/etc/cron.d/x.txt": b"x"}, (), "member '/etc/cron.d/x.txt' refused: absolute path"),
        ({"a.txt": b"x"}, ("b.txt",), "member 'b.txt' refused: symbolic link"),
    ],
    ids=["zip-slip", "absolute", "link"],
)
def test_an_unsafe_archive_is_refused_with_its_real_reason(
    client,
    project,
    admin_user,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
    members,
    links,
    reason,
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, project, "evil.zip", _zip(members, links))
    job = Job.objects.get()
    assert job.state == JobState.FAILED and reason in job.message, job.message
    assert JobError.objects.filter(job=job, message__contains=reason).exists()
    assert not Note.objects.exists()


def test_with_a_broker_the_upload_request_only_stores_the_file_and_enqueues(
    client, project, admin_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    from ade_review.celery import app

    from .test_worker_crash import BROKER, _forget_connections

    settings.MEDIA_ROOT = tmp_path
    queue = redis.Redis.from_url(BROKER)
    queue.flushdb()
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    _forget_connections(app)
    app.conf.update(broker_url=BROKER, task_always_eager=False)
    try:
        client.force_login(admin_user)
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(client, project, "bomb.zip", _zip({"a.txt": GOOD_TXT.encode(), "a.ann": b""}))
        assert response.status_code == 302
        job = Job.objects.get()
        assert job.state == JobState.QUEUED and not Note.objects.exists()
        assert queue.llen("default") == 1
    finally:
        app.conf.update(saved)
        _forget_connections(app)
        queue.flushdb()
