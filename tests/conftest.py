"""Shared fixtures: users with project roles, the corpus folder, small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def data_dir() -> Path:
    return Path(os.environ.get("ADE_REVIEW_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def corpus_dir():
    """The public corpora folder; skips when it is absent."""
    path = data_dir()
    if not path.is_dir():
        pytest.skip(f"public corpora not found at {path} (set ADE_REVIEW_DATA)")
    return path


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole run (Playwright's sync API allows one per thread)."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    playwright_sync = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium not installed at {CHROMIUM} (apt-get install chromium)")
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def browser_login(browser, live_server, username: str, password: str):
    """A fresh browser page logged in through the login form."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state()
    return page


# A real S3-compatible object store (SeaweedFS) for the tests that need one: `object_store`, `bucket_settings`.
from tests.object_store import bucket_settings, object_store  # noqa: E402, F401
