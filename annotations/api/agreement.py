"""The project's inter-annotator agreement as JSON (VIEW): the same report as the agreement page and CSV."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from annotations.agreement.selectors import project_agreement
from annotations.api.base import ERRORS, ProjectAPIView
from annotations.formats.agreement import GRANULARITIES
from annotations.permissions import agreement_check_visible

# --- serializers --------------------------------------------------------------------------------------


def _score(**kwargs) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, **kwargs)


class VerdictAgreementOutput(serializers.Serializer):
    alpha = _score(help_text="Krippendorff's alpha, nominal, missing verdicts allowed; null: undefined.")
    alpha_notes = serializers.IntegerField(help_text="Notes with two or more verdicts.")
    fleiss_kappa = _score(help_text="Over the notes every annotator gave a verdict; null: undefined.")
    fleiss_notes = serializers.IntegerField()
    mean_cohen_kappa = _score(help_text="Mean of the pairs' Cohen's kappa where defined.")


class PairOutput(serializers.Serializer):
    a = serializers.CharField(help_text="Username; a < b.")
    b = serializers.CharField()
    notes = serializers.IntegerField(help_text="Notes both submitted.")
    verdict_notes = serializers.IntegerField()
    verdict_kappa = _score(help_text="Cohen's kappa on the notes both gave a verdict.")
    entity_f1_strict = serializers.FloatField()
    entity_f1_relaxed = serializers.FloatField()
    relation_f1_strict = serializers.FloatField()
    relation_f1_relaxed = serializers.FloatField()
    event_f1_strict = serializers.FloatField()
    event_f1_relaxed = serializers.FloatField()
    boundary_disagreements = serializers.IntegerField(help_text="Same type, overlapping, different fragments.")
    type_disagreements = serializers.IntegerField(help_text="Identical fragments, different type.")


class TypeOutput(serializers.Serializer):
    type = serializers.CharField()
    f1_strict = serializers.FloatField()
    f1_relaxed = serializers.FloatField()
    tp_strict = serializers.IntegerField()
    fp_strict = serializers.IntegerField()
    fn_strict = serializers.IntegerField()
    tp_relaxed = serializers.IntegerField()


class ConfusionOutput(serializers.Serializer):
    type_a = serializers.CharField()
    type_b = serializers.CharField()
    entities = serializers.IntegerField()


class PeriodOutput(serializers.Serializer):
    granularity = serializers.ChoiceField(choices=GRANULARITIES, help_text="week (ISO, from Monday) or month.")
    start = serializers.DateField(help_text="The period's first day.")
    pair_notes = serializers.IntegerField(help_text="(note, annotator pair) units whose two sets were both "
                                                    "submitted in the period.")
    entity_f1_strict = serializers.FloatField(help_text="Micro over those units.")
    entity_f1_relaxed = serializers.FloatField()
    verdict_notes = serializers.IntegerField()
    verdict_kappa = _score(help_text="Mean of the pairs' Cohen's kappa on those notes where defined.")


class AgreementOutput(serializers.Serializer):
    notes = serializers.IntegerField(help_text="Notes with at least one submitted or signed-off annotator set.")
    annotators = serializers.ListField(child=serializers.CharField())
    verdicts = VerdictAgreementOutput()
    entity_f1_strict = serializers.FloatField(help_text="Micro over every pair.")
    entity_f1_relaxed = serializers.FloatField()
    pairs = PairOutput(many=True)
    entity_types = TypeOutput(many=True)
    type_confusion = ConfusionOutput(many=True)
    over_time = PeriodOutput(many=True, help_text="By week, then by month, in date order.")


# --- views --------------------------------------------------------------------------------------------


class AgreementView(ProjectAPIView):
    @extend_schema(responses={200: AgreementOutput, **ERRORS})
    def get(self, request, slug):
        """Inter-annotator agreement over every annotator's submitted or signed-off set: Cohen's kappa per
        pair, Fleiss' kappa and Krippendorff's alpha on note verdicts; entity (strict and relaxed,
        discontinuous fragments), relation and event F1 per pair; entity F1 per type; the type confusion;
        entity F1 and verdict kappa over time (per week and month of submission). Computed on each request
        (the page runs it as a job above its cut-over; the `agreement` job kind stores the same report)."""
        agreement_check_visible(user=request.user, project=self.project, role=self.role)  # blind annotation
        r = project_agreement(project=self.project)
        return Response(AgreementOutput({
            "notes": r.notes,
            "annotators": list(r.raters),
            "verdicts": {"alpha": r.alpha, "alpha_notes": r.verdict_units, "fleiss_kappa": r.fleiss_kappa,
                         "fleiss_notes": r.fleiss_notes, "mean_cohen_kappa": r.mean_cohen_kappa},
            "entity_f1_strict": r.entity_f1_strict,
            "entity_f1_relaxed": r.entity_f1_relaxed,
            "pairs": [asdict(p) for p in r.pairs],
            "entity_types": [asdict(t) for t in r.entity_types],
            "type_confusion": [{"type_a": a, "type_b": b, "entities": n} for a, b, n in r.confusion],
            "over_time": [asdict(p) for p in r.over_time],
        }).data)
