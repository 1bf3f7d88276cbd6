"""Bodies and answers of the encoder API."""

from __future__ import annotations

from rest_framework import serializers


class EncoderOutput(serializers.Serializer):
    path = serializers.CharField(help_text="The encoder directory; empty: the shipped MiniLM-L6.")
    name = serializers.CharField()
    adapted = serializers.BooleanField()
    base = serializers.CharField(help_text="The encoder it was adapted from (empty: the shipped MiniLM-L6).")
    created_at = serializers.CharField()
    metrics = serializers.DictField(help_text="The adaptation's figures: [UNK] rate, pieces per word, perplexity "
                                    "before and after, steps, tokens/s.")
    exists = serializers.BooleanField()


class EncoderStateOutput(serializers.Serializer):
    current = EncoderOutput()
    lineage = EncoderOutput(many=True, help_text="The encoder, the one it was adapted from, and so on.")
    can_roll_back = serializers.BooleanField()
    adapting_job = serializers.IntegerField(source="running.pk", allow_null=True, default=None)


class EncoderAdoptInput(serializers.Serializer):
    job = serializers.IntegerField(min_value=1, max_value=2**62, help_text="A finished adapt job of the project.")
