"""Stopping the real processes tests start (Celery workers, SeaweedFS, slapd)."""

from __future__ import annotations

import subprocess


def process_stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds; returns once it is gone."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
