"""A note flagged by the note classifier alone shows its evidence: the sentence with the highest ADE score,
stored when classification runs (the queue and the note page never run the model)."""

from __future__ import annotations

import pytest

from annotations.audit.models import AuditAction, AuditEvent
from annotations.formats.document import Document
from annotations.models import Note
from inference.models import Job
from inference.serving import classification
from inference.serving.predictor import NotePrediction

from .conftest import TEXT

pytestmark = pytest.mark.django_db

BLEEDING = "On day 3 the patient developed gastric and duodenal bleeding; no rash."


class SentenceModel:
    """Scores a sentence by whether it mentions bleeding; records what it was asked."""

    def __init__(self):
        self.calls = []

    def predict(self, documents, *, batch_size=16):
        self.calls.append([d.text for d in documents])
        return [NotePrediction(document=d, ade_probability=0.93 if "bleeding" in d.text else 0.08, uncertainty=0.1)
                for d in documents]


def _classify(ui, monkeypatch, probability: float):
    model = SentenceModel()
    monkeypatch.setattr("inference.serving.predictor.predictor_for_model_version", lambda *a, **kw: model)
    note = Note.objects.get(pk=ui["note"].pk)
    job = Job.objects.create(project=ui["project"], kind="pre_annotate", model_version=ui["model"])
    prediction = NotePrediction(document=Document(id=note.external_id, text=note.text), ade_probability=probability,
                                uncertainty=0.2)
    classification.classifications_write(job=job, notes=[note], predictions={note.pk: prediction})
    note.refresh_from_db()
    return note, model


def test_classification_stores_the_sentence_with_the_highest_ade_score_of_a_note_flagged_without_relations(
        ui, monkeypatch):
    note, model = _classify(ui, monkeypatch, 0.91)
    assert note.flagged and note.ade_evidence["source"] == "sentence"
    assert TEXT[note.ade_evidence["start"]:note.ade_evidence["end"]] == BLEEDING
    assert note.ade_evidence["score"] == pytest.approx(0.93) and "text" not in note.ade_evidence
    assert len(model.calls) == 1 and len(model.calls[0]) == 3  # each sentence scored alone, in one call
    note, model = _classify(ui, monkeypatch, 0.2)
    assert not note.flagged and note.ade_evidence == {} and model.calls == []  # nothing to explain


def test_the_queue_and_the_note_page_show_the_classifier_sentence_without_running_the_model(
        client, ui, monkeypatch, django_assert_num_queries):
    note, _ = _classify(ui, monkeypatch, 0.91)
    monkeypatch.setattr("inference.serving.predictor.predictor_for_model_version",
                        lambda *a, **kw: pytest.fail("the page ran the model"))
    client.force_login(ui["users"]["reviewer"])
    # session, user, membership, page of notes, schema, newest model sets, their ADE relations, the evidence
    # notes' texts, the audit row
    with django_assert_num_queries(9):
        html = client.get("/projects/ui/queue/").content.decode()
    row = html[html.index(">note-ade<"):]
    row = row[:row.index("</tr>")]
    assert "the sentence with the highest ADE score <small>0.93</small>" in row
    assert f'<mark class="why-sentence evidence-sentence">{BLEEDING}</mark>' in row
    [read] = AuditEvent.objects.filter(action=AuditAction.NOTE_VIEW, details__view="queue")
    assert note.pk in read.details["notes"]
    page = client.get(f"/projects/ui/notes/{note.pk}/").content.decode()
    start = TEXT.index(BLEEDING)
    assert f'id="flag-evidence" class="flag-evidence" hx-disable data-start="{start}" data-end="{start + len(BLEEDING)}"' in page
    assert f'<mark class="evidence-sentence">{BLEEDING}</mark>' in page and "js/flag_evidence.js" in page
