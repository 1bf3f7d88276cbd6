"""A small project for the UI tests: users in every role, one flagged note with model pre-labels, a few
more notes for the queue. Browser tests drive Debian's Chromium through Playwright's sync API."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from annotations.demo_corpus import ANNOTATION_CONF, VISUAL_CONF
from annotations.formats.brat_conf import load_schema
from annotations.formats.document import Document, Entity, Span
from annotations.models import AnnotationSet, Note, Patient, ProjectMembership
from annotations.services.corpus_import import project_get_or_create, text_hash
from annotations.services.document_store import annotation_sets_write
from annotations.services.schemas import project_schema_set

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test are safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

PASSWORD = "pw-for-tests"
ARTIFACTS = Path(os.environ.get("ADE_REVIEW_ARTIFACTS", Path(__file__).resolve().parents[3] / "tmp" / "artifacts"))

# An astral character (2 UTF-16 units, 1 code point) before every annotation checks the offset conversion.
TEXT = (
    "Pt \U0001f642 started warfarin 5 mg daily on admission.\n"
    "On day 3 the patient developed gastric and duodenal bleeding; no rash.\n"
    "Plan: stop warfarin, review in clinic.\n"
)


def span(word: str, nth: int = 0) -> tuple[int, int]:
    """Code-point offsets of the nth occurrence of `word` in TEXT."""
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(word, start + 1)
    return start, start + len(word)


def entity(local_id: str, type_: str, word: str, confidence: float, nth: int = 0) -> Entity:
    s, e = span(word, nth)
    return Entity(local_id, type_, (Span(s, e),), TEXT[s:e], confidence)


# The model's pre-labels: right (warfarin), wrong type (rash as a Drug), right but to be negated (rash).
PRELABELS = (
    entity("T1", "Drug", "warfarin", 0.93),
    entity("T2", "Drug", "rash", 0.41),
    entity("T3", "Adverse-Effect", "rash", 0.55),
)


@pytest.fixture
def ui(django_user_model):
    """The project, its users (admin, reviewer, annotator, outsider), the flagged note and the queue."""
    project = project_get_or_create(slug="ui", name="UI test project")
    project_schema_set(project=project, schema=load_schema(ANNOTATION_CONF, VISUAL_CONF), inferred=False)
    users = {}
    for name in ("admin", "reviewer", "annotator", "annotator2", "outsider"):
        users[name] = django_user_model.objects.create_user(username=name, password=PASSWORD)
        role = {"annotator2": "annotator"}.get(name, name)
        if name != "outsider":
            ProjectMembership.objects.create(project=project, user=users[name], role=role)
    patient = Patient.objects.create(project=project, external_id="patient-7")
    start = datetime(2026, 3, 1, 8, tzinfo=UTC)
    note = Note.objects.create(
        project=project, patient=patient, external_id="note-ade", text=TEXT, text_hash=text_hash(TEXT),
        timestamp=start + timedelta(days=2), flagged=True, ade_probability=0.91, ade_uncertainty=0.2,
    )
    others = []
    for i in range(6):
        text = f"Routine note {i}: patient stable on metformin, no rash.\n"
        others.append(
            Note.objects.create(
                project=project, patient=patient if i < 2 else None, external_id=f"note-{i}", text=text,
                text_hash=text_hash(text), timestamp=start + timedelta(days=i), flagged=i < 4,
                ade_probability=0.5 + i / 20, ade_uncertainty=0.1 * i,
            )
        )
    from inference.models import ModelVersion

    model = ModelVersion.objects.create(project=project, name="ner-v1", path="/nonexistent", is_active=True,
                                        metrics={"ner_f1": 0.71})
    model_set = AnnotationSet.objects.create(
        note=note, source_kind="model", model_version=model, source_name="ner-v1", status="pre_annotated"
    )
    annotation_sets_write([(model_set, Document(id=note.external_id, text=TEXT, entities=PRELABELS))], origin="model")
    return {"project": project, "users": users, "note": note, "others": others, "patient": patient, "model": model}


# The `browser` fixture is the shared one in tests/conftest.py: Playwright's sync API allows one per thread.


def login(browser, live_server, username: str):
    """A fresh browser context logged in through the login form."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(f"{live_server.url}/")
    return page


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def save_small(src: Path, dst: Path) -> None:
    """Copy a screenshot as a small PNG (64 colours) for the repository."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        dst.write_bytes(src.read_bytes())
        return
    Image.open(src).convert("RGB").quantize(colors=64).save(dst, optimize=True)
