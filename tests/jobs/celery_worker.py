"""Entry point for the worker subprocess of the crash test: the project's Celery app, with a short
visibility timeout and restore sweep so that a message left unacknowledged by a killed worker is
delivered again within seconds (production keeps kombu's defaults: one hour)."""

from __future__ import annotations

import os
import sys

from ade_review.celery import app

if __name__ == "__main__":
    timeout = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3"))
    app.conf.broker_transport_options = {
        "visibility_timeout": timeout,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
    app.worker_main(["worker", *sys.argv[1:]])
