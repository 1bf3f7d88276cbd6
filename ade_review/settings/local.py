"""The embedded demo: SQLite, tasks in-process, a per-machine secret kept under var/."""

import os
import secrets

from .base import *  # noqa: F403
from .base import SECRET_KEY, VAR_DIR

VAR_DIR.mkdir(parents=True, exist_ok=True)
if not SECRET_KEY:
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

# Without a broker, a job would run inside the request that started it (training for minutes): the demo runs
# every job in a background thread instead (progress and Cancel on the job and model pages). Servers with
# workers never use this.
ADE_REVIEW_JOBS_IN_THREAD = True

# The demo may seed its users and synthetic notes; password reset mails are printed on the console.
ADE_REVIEW_DEMO_ALLOWED = True
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# One process (runserver), so the per-process cache is shared by every request; servers set CACHE_URL.
SILENCED_SYSTEM_CHECKS = ["axes.W001"]
