"""The model page, a version's page and the annotation queue: what each role sees and may do."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from annotations.models import Note
from inference.learning.selectors import annotation_queue
from inference.models import Job, ModelVersion
from inference.models.learning import NoteScore, RetrainPolicy

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(loop, role: str) -> Client:
    client = Client()
    if role == "outsider":
        user = get_user_model().objects.create_user("outsider", password="pw-out-123")
    else:
        user = loop.users[role]
    client.force_login(user)
    return client


def test_model_page_shows_versions_chart_and_retrain_queue(loop):
    page = client_for(loop, "annotator").get(reverse("inference:model-page", args=[loop.project.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-version="v1"' in html and "first model of the project" in html
    assert re.search(r'<g class="pt"[^>]*data-series="ner_macro_f1_strict"[^>]*data-version="v1"', html)
    state = page.context["state"]
    assert state.new_gold == 0 and state.policy.retrain_every == 3
    assert state.train_notes + state.heldout_notes == 24 and state.heldout_notes > 0
    assert 'id="retrain-button"' not in html  # annotators do not retrain


def test_admin_retrains_from_the_page_and_the_new_version_is_listed(loop):
    admin = client_for(loop, "admin")
    url = reverse("inference:model-retrain", args=[loop.project.slug])
    response = admin.post(url, {"start_from": "current", "epochs": "2"})
    assert response.status_code == 302
    job = Job.objects.filter(project=loop.project, kind="train").latest("pk")
    assert job.parameters["epochs"] == 2 and job.parameters["start_from"] == "current"
    assert job.created_by == loop.users["admin"]
    v2 = ModelVersion.objects.get(training_job=job)
    page = admin.get(reverse("inference:model-page", args=[loop.project.slug])).content.decode()
    assert f'data-version="{v2.name}"' in page
    detail = admin.get(reverse("inference:model-version", args=[loop.project.slug, v2.pk])).content.decode()
    trained_on = v2.training_notes.values_list("external_id", flat=True)
    assert all(external_id in detail for external_id in trained_on) and "v1" in detail


def test_retrain_policy_and_rollback_need_the_admin_role(loop):
    slug = loop.project.slug
    for role, expected in (("annotator", 403), ("reviewer", 403), ("outsider", 404)):
        client = client_for(loop, role)
        assert client.post(reverse("inference:model-retrain", args=[slug]), {"epochs": "1"}).status_code == expected
        assert client.post(reverse("inference:model-policy", args=[slug]), {"retrain_every": "1"}).status_code == expected
        url = reverse("inference:model-version-activate", args=[slug, loop.v1.pk])
        assert client.post(url).status_code == expected
    assert not Job.objects.filter(project=loop.project, kind="train").exclude(pk=loop.v1.training_job_id).exists()
    anonymous = Client().get(reverse("inference:model-page", args=[slug]))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_policy_form_saves_and_refuses_bad_values(loop):
    admin = client_for(loop, "admin")
    url = reverse("inference:model-policy", args=[loop.project.slug])
    form = {
        "retrain_every": "5", "gate_metric": "re_f1_strict", "gate_tolerance": "0.01", "heldout_fraction": "0.25",
        "epochs": "4", "start_from": "base", "query_strategy": "entropy", "diversity": "", "batch_size": "10",
        "cold_start": "0",
    }
    assert admin.post(url, form).status_code == 302
    policy = RetrainPolicy.objects.get(project=loop.project)
    assert (policy.retrain_every, policy.gate_metric, policy.query_strategy, policy.diversity) == (
        5, "re_f1_strict", "entropy", False)
    # the strategy changed: the queue was re-ranked by entropy, most uncertain first
    queue = annotation_queue(project=loop.project, limit=100)
    entropy = [n.al_score.scores["entropy"] for n in queue]
    assert entropy == sorted(entropy, reverse=True)
    bad = admin.post(url, {**form, "heldout_fraction": "1.5"})
    assert bad.status_code == 400
    assert RetrainPolicy.objects.get(project=loop.project).heldout_fraction == 0.25


def test_making_an_older_version_active_pre_annotates_again(loop):
    from inference.learning.retraining import retrain_request

    v2 = ModelVersion.objects.get(training_job=retrain_request(project=loop.project, epochs=2))
    assert v2.is_active or v2.gate_outcome == "refused"
    admin = client_for(loop, "admin")
    response = admin.post(reverse("inference:model-version-activate", args=[loop.project.slug, loop.v1.pk]))
    assert response.status_code == 302
    assert ModelVersion.objects.get(project=loop.project, is_active=True) == loop.v1
    assert Job.objects.filter(kind="pre_annotate", model_version=loop.v1).count() == 2


def test_annotation_queue_lists_notes_in_rank_order_and_next_hands_out_through_the_assignment_service(loop):
    from annotations.models import NoteAssignment

    annotator = client_for(loop, "annotator")
    slug = loop.project.slug
    page = annotator.get(reverse("inference:annotation-queue", args=[slug]))
    ranks = [int(r) for r in re.findall(r'<tr data-rank="(\d+)"', page.content.decode())]
    assert ranks == sorted(ranks) and ranks[0] == 1 and len(ranks) == len(loop.truth)
    assert 'id="annotate-next-form"' in page.content.decode()
    next_url = reverse("inference:annotation-next", args=[slug])
    # A GET (an old link) hands out nothing.
    assert annotator.get(next_url)["Location"] == reverse("inference:annotation-queue", args=[slug])
    assert not NoteAssignment.objects.exists()
    top = NoteScore.objects.get(project=loop.project, rank=1).note
    response = annotator.post(next_url)
    assert response.status_code == 302 and response["Location"] == reverse("note-detail", args=[slug, top.pk])
    assignment = NoteAssignment.objects.get()
    assert (assignment.note, assignment.user) == (top, loop.users["annotator"])
    # The person gets the note they hold back; with one annotator per note the next person gets the next note.
    assert annotator.post(next_url)["Location"] == response["Location"]
    second = NoteScore.objects.get(project=loop.project, rank=2).note
    other = client_for(loop, "annotator2").post(next_url)
    assert other["Location"] == reverse("note-detail", args=[slug, second.pk])
    # With two per note, a third person is sent to a note someone holds that still needs people first.
    loop.project.annotators_per_note = 2
    loop.project.save(update_fields=["annotators_per_note"])
    third = client_for(loop, "admin").post(next_url)
    assert third["Location"] == reverse("note-detail", args=[slug, top.pk])
    assert NoteAssignment.objects.filter(note=top).count() == 2


def test_retrain_policy_rollback_and_job_pages_leave_an_audit_trail(loop, tmp_path):
    from annotations.audit.models import AuditAction, AuditEvent

    admin = client_for(loop, "admin")
    slug = loop.project.slug
    admin.post(reverse("inference:model-retrain", args=[slug]), {"start_from": "base", "epochs": "1"})
    admin.post(reverse("inference:model-version-activate", args=[slug, loop.v1.pk]))
    started = admin.post(reverse("inference:job-list", args=[slug]), {"kind": "export", "format": "jsonl", "source": "gold"})
    assert started.status_code == 302
    export = Job.objects.filter(project=loop.project, kind="export").latest("pk")
    assert admin.get(reverse("inference:job-download", args=[slug, export.pk])).status_code == 200
    events = AuditEvent.objects.filter(project=loop.project, actor=loop.users["admin"])
    starts = events.filter(action=AuditAction.JOB_START)
    assert sorted(e.details["kind"] for e in starts) == ["export", "train"]
    assert events.filter(action=AuditAction.MODEL_CHANGE, details__activated="v1").exists()
    assert events.filter(action=AuditAction.DOWNLOAD, object_id=str(export.pk)).exists()


def test_without_workers_the_demo_trains_in_a_thread_and_the_page_follows_it(loop, settings):
    import time

    settings.ADE_REVIEW_JOBS_IN_THREAD = True
    admin = client_for(loop, "admin")
    slug = loop.project.slug
    started = time.monotonic()
    response = admin.post(reverse("inference:model-retrain", args=[slug]), {"start_from": "current", "epochs": "20"})
    assert response.status_code == 302
    job = Job.objects.filter(project=loop.project, kind="train").latest("pk")
    assert not Job.objects.get(pk=job.pk).is_finished  # the request came back before training ended (20 epochs)
    page = admin.get(reverse("inference:model-page", args=[slug])).content.decode()
    assert 'id="training-running"' in page and 'hx-trigger="every 2s"' in page and f"?watch={job.pk}" in page
    while not Job.objects.get(pk=job.pk).is_finished and time.monotonic() - started < 120:
        time.sleep(0.2)
    job.refresh_from_db()
    assert job.state == "succeeded", job.message
    assert ModelVersion.objects.filter(training_job=job).exists()
    # the page's poll learns that the training ended and reloads the page (new version, chart, gate)
    poll = admin.get(reverse("inference:model-page", args=[slug]) + f"?watch={job.pk}", HTTP_HX_REQUEST="true")
    assert poll.status_code == 204 and poll["HX-Refresh"] == "true"
    # the thread goes on to pre-annotate with the promoted version; let it end before the database is reset
    from inference.jobs.engine import job_threads_join

    assert job_threads_join(timeout=120)


# --- the dashboard and the model page agree, in names people read ------------------------------------------


def test_dashboard_and_model_page_show_the_same_counts_and_readable_metric_names(loop):
    # Only these notes flagged: which notes the fixture's first model flags depends on its (tiny, randomly
    # initialised) encoder, so on which tests ran before in the process.
    Note.objects.filter(project=loop.project).update(flagged=False)
    flagged = list(Note.objects.filter(project=loop.project, external_id__in=["n100", "n101", "n102"]))
    Note.objects.filter(pk__in=[n.pk for n in flagged]).update(flagged=True)
    Note.objects.filter(pk=flagged[0].pk).update(final_verdict="no_ade")  # decided: out of the queue
    gold_flagged = Note.objects.filter(project=loop.project, external_id="n000")
    gold_flagged.update(flagged=True)  # imported gold: nothing left to decide
    client = client_for(loop, "reviewer")
    slug = loop.project.slug
    dashboard = client.get(reverse("project-dashboard", args=[slug]))
    models = client.get(reverse("inference:model-page", args=[slug]))
    queue = client.get(reverse("note-queue", args=[slug])).content.decode()
    state = models.context["state"]
    for page in (dashboard, models):
        html = page.content.decode()
        assert re.search(r'id="gold-notes">24<', html), "gold = training + held-out on both pages"
        assert re.search(r'id="flagged-count">2<', html), "flagged = what the queue still shows"
    assert state.train_notes + state.heldout_notes == 24
    assert queue.count('class="note-link"') == 2
    html = dashboard.content.decode()
    assert '<abbr title="NER F1 (strict, macro)' in html and ">NER F1</abbr>" in html
    assert ">ner_macro_f1_strict<" not in html and ">re_f1_strict<" not in html
    model_html = models.content.decode()
    assert re.search(r'<th data-metric="ner_macro_f1_strict"><abbr title="NER F1 \(strict, macro\)[^"]*">NER F1</abbr>',
                     model_html)
    version = client.get(reverse("inference:model-version", args=[slug, loop.v1.pk])).content.decode()
    assert ">ner_macro_f1_strict<" not in version and "RE F1 (strict, macro)" in version


def test_the_dashboard_links_admins_to_the_audit_trail_and_exports(loop):
    slug = loop.project.slug
    admin = client_for(loop, "admin").get(reverse("project-dashboard", args=[slug])).content.decode()
    assert f'href="/audit/{slug}/" id="audit-link"' in admin
    assert f'href="/projects/{slug}/jobs/#job-start" id="export-link"' in admin
    annotator = client_for(loop, "annotator").get(reverse("project-dashboard", args=[slug])).content.decode()
    assert 'id="audit-link"' not in annotator  # the audit trail is for project admins
