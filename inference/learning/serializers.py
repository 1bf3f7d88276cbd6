"""Bodies and answers of the learning loop's API."""

from __future__ import annotations

from rest_framework import serializers


class ModelVersionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    encoder = serializers.CharField()
    metrics = serializers.JSONField(help_text="Held-out metrics (versions made by a retrain).")
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    parent = serializers.CharField(source="parent.name", allow_null=True, default=None)
    training_job = serializers.IntegerField(source="training_job_id", allow_null=True)
    gate_outcome = serializers.CharField(help_text="promoted | refused | empty (registered by hand)")
    gate = serializers.JSONField(help_text="metric, candidate, incumbent (same held-out notes), reason.")
    training_notes = serializers.IntegerField(source="n_training", required=False)
    heldout_notes = serializers.IntegerField(source="n_heldout", required=False)


class RetrainPolicyInput(serializers.Serializer):
    retrain_every = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    gate_metric = serializers.ChoiceField(
        choices=["ner_macro_f1_strict", "re_f1_strict", "note_f1", "note_evidence_f1"], required=False)
    gate_tolerance = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    heldout_fraction = serializers.FloatField(min_value=0.01, max_value=0.9, required=False)
    epochs = serializers.IntegerField(min_value=1, max_value=100, required=False)
    start_from = serializers.ChoiceField(choices=["current", "base"], required=False)
    query_strategy = serializers.ChoiceField(
        choices=["random", "least_confidence", "margin", "entropy", "mnlp", "ade"], required=False)
    diversity = serializers.BooleanField(required=False)
    batch_size = serializers.IntegerField(min_value=1, max_value=500, required=False)
    cold_start = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)


class RetrainPolicyOutput(RetrainPolicyInput):
    new_gold = serializers.IntegerField(help_text="Gold notes for training that arrived since the last retrain.")
    train_notes = serializers.IntegerField()
    heldout_notes = serializers.IntegerField()
    awaiting_adjudication = serializers.IntegerField(help_text="Notes two people submitted, not yet signed off.")
    training_job = serializers.IntegerField(allow_null=True, help_text="The queued or running retrain, if any.")


class AnnotationQueueOutput(serializers.Serializer):
    rank = serializers.IntegerField(source="al_score.rank")
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    scores = serializers.JSONField(source="al_score.scores", help_text="Every query strategy's score (higher: less sure).")
    ade_probability = serializers.FloatField(allow_null=True)
