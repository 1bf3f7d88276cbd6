"""What people read for each metric key the evaluators write (framework-free): the one mapping from a key
such as `ner_macro_f1_strict` to a short name ("NER F1") and its exact definition ("NER F1 (strict, macro)"),
shown as a tooltip. The dashboard, the model page and a version's page all read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricName:
    label: str  # what a column or a row says
    definition: str  # the exact definition (a tooltip)
    fraction: bool = True  # a score in [0, 1]; False: a count or a factor, shown as is


METRIC_NAMES: dict[str, MetricName] = {
    "ner_macro_f1_strict": MetricName(
        "NER F1", "NER F1 (strict, macro): entities with exactly the gold span and type, F1 averaged over entity types"
    ),
    "ner_micro_f1_strict": MetricName(
        "NER F1, micro", "NER F1 (strict, micro): entities with exactly the gold span and type, F1 over all entities"
    ),
    "ner_macro_f1_relaxed": MetricName(
        "NER F1, relaxed", "NER F1 (relaxed, macro): entities overlapping a gold one of the same type, averaged over types"
    ),
    "ner_f1": MetricName("NER F1", "NER F1: entity F1 as recorded when the version was registered"),
    "re_f1_strict": MetricName(
        "RE F1", "RE F1 (strict, macro): relations of the right type between exactly right entities, averaged over "
        "relation types"
    ),
    "re_micro_f1_strict": MetricName(
        "RE F1, micro", "RE F1 (strict, micro): relations of the right type between exactly right entities, over all"
    ),
    "re_f1_relaxed": MetricName(
        "RE F1, relaxed", "RE F1 (relaxed, macro): relations of the right type between overlapping entities"
    ),
    "note_f1": MetricName("Note F1", "Note F1: F1 of the note's ADE / no-ADE decision"),
    "note_p": MetricName("Note precision", "Note precision: flagged notes that are ADE notes in the gold"),
    "note_r": MetricName("Note recall", "Note recall: ADE notes of the gold that are flagged"),
    "note_evidence_f1": MetricName(
        "Evidence F1", "Note ADE F1 with evidence (strict): an ADE note counts when its drug and reaction are exactly right"
    ),
    "note_ece_raw": MetricName("Calibration error, raw", "Expected calibration error of the note probability before "
                               "temperature scaling (lower is better)"),
    "note_ece": MetricName("Calibration error", "Expected calibration error of the note probability after temperature "
                           "scaling (lower is better)"),
    "note_brier_raw": MetricName("Brier score, raw", "Brier score of the note probability before temperature scaling"),
    "note_brier": MetricName("Brier score", "Brier score of the note probability after temperature scaling"),
    "temperature": MetricName("Temperature", "Temperature fitted on held-out gold (1: probabilities as the model gave "
                              "them)", fraction=False),
    "documents": MetricName("Held-out notes", "Held-out gold notes the version was scored on", fraction=False),
    "calibration_notes": MetricName("Calibration notes", "Held-out gold notes the temperature was fitted on",
                                    fraction=False),
}

#: The metrics a summary shows, in this order (the rest follow on a version's own page).
PRIMARY_METRICS = ("ner_macro_f1_strict", "re_f1_strict", "note_f1", "note_evidence_f1")


def metric_name(key: str) -> MetricName:
    """The readable name of a metric key; an unknown key reads as its words ("crf ner f1" -> "Crf ner f1")."""
    known = METRIC_NAMES.get(key)
    if known is not None:
        return known
    words = key.replace("_", " ").strip()
    return MetricName(words[:1].upper() + words[1:], key)


@dataclass(frozen=True)
class MetricRow:
    key: str
    label: str
    definition: str
    value: float | None
    fraction: bool


def metric_rows(metrics: Mapping[str, object] | None, *, keys: Iterable[str] | None = None) -> list[MetricRow]:
    """Rows to show for a metrics dict: `keys` in their order (missing ones with value None), else the primary
    metrics present, then every other numeric one in its key order."""
    metrics = metrics or {}

    def row(key: str) -> MetricRow:
        name = metric_name(key)
        value = metrics.get(key)
        number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        return MetricRow(key, name.label, name.definition, number, name.fraction)

    if keys is not None:
        return [row(k) for k in keys]
    numeric = [k for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)]
    first = [k for k in PRIMARY_METRICS if k in numeric]
    return [row(k) for k in first + sorted(k for k in numeric if k not in first)]
