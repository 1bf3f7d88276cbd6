"""Entry point for the worker subprocess of the crash test: the project's Celery app, with a short
visibility timeout and restore sweep so that a message left unacknowledged by a killed worker is
delivered again within seconds (production keeps kombu's defaults: one hour).

The restore sweep runs under a Redis mutex that expires after `unacked_mutex_expire` (kombu: 300 s). A
worker SIGKILLed while it holds that mutex would keep every other worker from restoring anything for
five minutes, so the test lowers it as well."""

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
        "unacked_mutex_expire": 2,
    }
    app.worker_main(["worker", *sys.argv[1:]])
