"""Patient-level ADR classification on the SYNTHETIC cohort: the study's table (method 2 of the domain notes).

Protocol (the study's): stratified 8:1:1 train / validation / test split of the patients. A phrase-state
classifier (the study's text-CNN by default) is trained on the training patients' annotated phrases and
labels the validation and test phrases. TD-LR (one row per trace, the study's alpha 0.1, gamma 0.1,
lambda 0.3): TD(lambda) state values on the training patients (annotated states, reward shaping of
``RewardShaping``), logistic regression on the mean state value fitted on validation, scored on test.
Baselines on the same split: naive Bayes with information-gain feature selection, linear and RBF SVM on
TF-IDF, a text-CNN and an LSTM over the phrases (trained on train, hyper-parameters on validation).
Repeated over ``--splits`` split seeds; the table shows mean (sd) over splits.

The data are synthetic (``inference.core.risk.synthetic_cohort``): the numbers say how the methods rank on a
documented generative process, not how they do on real nursing notes.

Usage: python benchmarks/td_patients.py [--splits 3] [--phrase-model cnn|tfidf|transformer|gold]
                                        [--encoder DIR] [--phrase-epochs N] [--out FILE]

``--phrase-model transformer`` fine-tunes the shared encoder (``--encoder``, default the configured one,
loaded offline) as the phrase classifier. ``--out`` writes the JSON (and the PNG beside it) there instead of
``benchmarks/results/`` (for subset runs).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import RESULTS_DIR, command_line, write_result  # noqa: E402
from inference.core.encoder import encoder_name, resolve_encoder  # noqa: E402
from inference.core.risk.patient_risk import (  # noqa: E402
    Stay,
    TDRiskModel,
    risk_curve,
    split_stays,
    stays_from_patients,
)
from inference.core.risk.phrase_classifier import (  # noqa: E402
    STUDY_STATES,
    TextCNNPhraseClassifier,
    TfidfPhraseClassifier,
    TransformerPhraseClassifier,
    TransformerPhraseConfig,
    classification_metrics,
)
from inference.core.risk.research_baselines import (  # noqa: E402
    NaiveBayesIG,
    PatientTextCNN,
    PhraseLSTM,
    TfidfSVM,
)
from inference.core.risk.synthetic_cohort import CohortConfig, cohort_summary, generate_cohort  # noqa: E402
from inference.core.risk.td_lambda import TDConfig  # noqa: E402

NAME = "td_patients"
FIGURE = RESULTS_DIR / "td_patient_risk_curve.png"
MODELS = (
    ("td_lr_dutch", "TD-LR (dutch)"),
    ("td_lr_accumulating", "TD-LR (accumulating)"),
    ("td_lr_replacing", "TD-LR (replacing)"),
    ("naive_bayes_ig", "Naive Bayes + IG"),
    ("linear_svm", "Linear SVM (TF-IDF)"),
    ("rbf_svm", "RBF SVM (TF-IDF)"),
    ("text_cnn", "Text-CNN"),
    ("lstm", "LSTM"),
)
STUDY_ACCURACY = {  # the study's reported accuracies (domain notes), for reference only
    "td_lr_dutch": 0.63,
    "td_lr_accumulating": 0.61,
    "td_lr_replacing": 0.51,
    "naive_bayes_ig": 0.64,
    "linear_svm": 0.63,
    "rbf_svm": 0.63,
    "text_cnn": 0.58,
    "lstm": 0.61,
}
METRICS = ("accuracy", "f1", "auroc")


def with_states(stays: list[Stay], states: list[list[int]]) -> list[Stay]:
    return [
        Stay(s.id, tuple(st), s.times, s.texts, s.report_time, s.adr, s.synthetic)
        for s, st in zip(stays, states, strict=True)
    ]


def label_phrases(
    model_name: str, train: list[Stay], others: list[list[Stay]], seed: int, transformer: dict | None = None
):
    """Train the phrase-state classifier on train's annotated phrases; relabel the other parts.

    `transformer`: options of TransformerPhraseConfig (encoder, epochs, threads) for the transformer."""
    if model_name == "gold":
        return others, {}
    texts = [t for s in train for t in s.texts]
    labels = [x for s in train for x in s.states]
    if model_name == "cnn":
        model = TextCNNPhraseClassifier(STUDY_STATES).fit(texts, labels)
    elif model_name == "transformer":
        config = TransformerPhraseConfig(seed=seed, **(transformer or {}))
        model = TransformerPhraseClassifier(STUDY_STATES, config).fit(texts, labels)
    else:
        model = TfidfPhraseClassifier(STUDY_STATES, seed=seed).fit(texts, labels)
    out = []
    for part in others:
        flat = model.predict([t for s in part for t in s.texts]).tolist()
        states, k = [], 0
        for s in part:
            states.append(flat[k : k + len(s.texts)])
            k += len(s.texts)
        out.append(with_states(part, states))
    return out, model


def run_split(
    stays: list[Stay],
    true_states: dict[str, list[int]],
    split_seed: int,
    phrase_model: str,
    transformer: dict | None = None,
):
    train, val, test = split_stays(stays, (8, 1, 1), seed=split_seed)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    (val_p, test_p), pmodel = label_phrases(phrase_model, train, [val, test], split_seed, transformer)
    timings["phrase_classifier"] = time.perf_counter() - t0
    phrase_scores = {}
    if pmodel:
        pred = [x for s in test_p for x in s.states]
        phrase_scores = {
            "vs_annotated": classification_metrics([x for s in test for x in s.states], pred),
            "vs_true": classification_metrics([x for s in test for x in true_states[s.id]], pred),
        }
    scores: dict[str, dict[str, float]] = {}
    td_models = {}
    for trace in ("dutch", "accumulating", "replacing"):
        t0 = time.perf_counter()
        model = TDRiskModel(TDConfig(trace=trace), seed=split_seed).fit(train, val_p)
        scores[f"td_lr_{trace}"] = model.score(test_p)
        timings[f"td_lr_{trace}"] = time.perf_counter() - t0
        td_models[trace] = model
    baselines = {
        "naive_bayes_ig": NaiveBayesIG(),
        "linear_svm": TfidfSVM("linear", seed=split_seed),
        "rbf_svm": TfidfSVM("rbf", seed=split_seed),
        "text_cnn": PatientTextCNN(),
        "lstm": PhraseLSTM(),
    }
    for key, model in baselines.items():
        t0 = time.perf_counter()
        scores[key] = model.fit(train, val).score(test)
        timings[key] = time.perf_counter() - t0
    return scores, timings, phrase_scores, td_models, test_p


def plot_risk_curve(model: TDRiskModel, stay: Stay, patient, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = np.array(stay.times) / 24.0
    prob = model.risk_curve(stay.states)
    mean_value = risk_curve(model.values, stay.states)
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True, height_ratios=(3, 1.3))
    ax.plot(
        days,
        prob,
        color="black",
        lw=1.5,
        drawstyle="steps-post",
        label="P(ADR) after each phrase (TD-LR, dutch)",
    )
    ax.plot(
        days,
        mean_value,
        color="grey",
        lw=1,
        ls="--",
        drawstyle="steps-post",
        label="running mean state value",
    )
    if patient.onset_time is not None:
        ax.axvline(patient.onset_time / 24, color="tab:orange", ls=":", label="ADR onset (generator)")
    if stay.report_time is not None:
        ax.axvline(stay.report_time / 24, color="tab:red", ls="-.", label="official ADR report")
    ax.set_ylabel("risk")
    ax.set_title(
        f"SYNTHETIC patient {stay.id} (ADR, culprit: {patient.culprit_drug}): risk as phrases arrive"
    )
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    cmap = plt.get_cmap("tab10")
    for k, name in enumerate(STUDY_STATES):
        sel = [i for i, s in enumerate(stay.states) if s == k]
        if sel:
            ax2.scatter(days[sel], [k] * len(sel), color=cmap(k), s=14, label=name)
    ax2.set_yticks(range(len(STUDY_STATES)))
    ax2.set_yticklabels([f"{k}" for k in range(len(STUDY_STATES))], fontsize=7)
    ax2.set_ylabel("state")
    ax2.set_xlabel("days since admission")
    ax2.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=6, frameon=False)
    fig.text(0.01, 0.01, "synthetic data: inference.core.risk.synthetic_cohort", fontsize=7, color="grey")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=3, help="split seeds to average over (default 3)")
    parser.add_argument(
        "--n-adr", type=int, default=CohortConfig().n_adr, help="ADR patients (+ as many matched)"
    )
    parser.add_argument("--seed", type=int, default=0, help="cohort seed")
    parser.add_argument("--phrase-model", choices=("cnn", "tfidf", "transformer", "gold"), default="cnn")
    parser.add_argument(
        "--encoder", default=None, help="transformer: local encoder directory (default: the configured one)"
    )
    parser.add_argument("--phrase-epochs", type=int, default=None, help="transformer: fine-tuning epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--out", type=Path, default=None, help="results file (default benchmarks/results/td_patients.json)"
    )
    args = parser.parse_args(argv)
    transformer = {"encoder": args.encoder, "threads": args.threads}
    if args.phrase_epochs is not None:
        transformer["epochs"] = args.phrase_epochs

    import torch

    torch.set_num_threads(args.threads)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    cohort_cfg = CohortConfig(n_adr=args.n_adr, seed=args.seed)
    patients = generate_cohort(cohort_cfg)
    by_id = {p.id: p for p in patients}
    stays = stays_from_patients(patients)
    true_states = {p.id: [ph.true_state for ph in p.phrases] for p in patients}
    summary = cohort_summary(patients)
    print(f"SYNTHETIC cohort: {summary}")

    per_split = []
    first = None
    timings_total: dict[str, float] = {}
    phrase_runs = []
    for split_seed in range(args.splits):
        scores, timings, phrase_scores, td_models, test_p = run_split(
            stays, true_states, split_seed, args.phrase_model, transformer
        )
        per_split.append({"split_seed": split_seed, "scores": scores, "seconds": timings})
        phrase_runs.append(phrase_scores)
        for k, v in timings.items():
            timings_total[k] = timings_total.get(k, 0.0) + v
        if first is None:
            first = (td_models["dutch"], test_p)
        print(
            f"split {split_seed}: " + ", ".join(f"{k} {v['accuracy']:.3f}" for k, v in scores.items()),
            flush=True,
        )

    metrics: dict[str, float] = {}
    print()
    print(
        f"SYNTHETIC cohort, {len(patients)} patients, {args.splits} split(s) 8:1:1, phrase model {args.phrase_model}"
    )
    print(f"{'model':<22} {'accuracy':>14} {'F1':>14} {'AUROC':>14}  study acc.")
    for key, label in MODELS:
        cells = []
        for m in METRICS:
            vals = np.array([run["scores"][key][m] for run in per_split], dtype=float)
            metrics[f"{key}_{m}"] = round(float(np.nanmean(vals)), 4)
            metrics[f"{key}_{m}_sd"] = round(float(np.nanstd(vals)), 4)
            cells.append(f"{np.nanmean(vals):.3f} ({np.nanstd(vals):.3f})")
        print(f"{label:<22} {cells[0]:>14} {cells[1]:>14} {cells[2]:>14}  {STUDY_ACCURACY[key]:.2f}")
    if phrase_runs and phrase_runs[0]:
        for ref in ("vs_annotated", "vs_true"):
            acc = float(np.mean([r[ref]["accuracy"] for r in phrase_runs]))
            metrics[f"phrase_classifier_accuracy_{ref}"] = round(acc, 4)
            metrics[f"phrase_classifier_macro_f1_{ref}"] = round(
                float(np.mean([r[ref]["macro_f1"] for r in phrase_runs])), 4
            )
        print(
            f"phrase classifier ({args.phrase_model}) test accuracy: "
            f"{metrics['phrase_classifier_accuracy_vs_annotated']:.3f} vs annotated, "
            f"{metrics['phrase_classifier_accuracy_vs_true']:.3f} vs true states"
        )
    for k, v in summary.items():
        metrics[f"cohort_{k}"] = v
    metrics["splits"] = float(args.splits)
    metrics["seconds_wall"] = round(time.perf_counter() - wall0, 1)
    metrics["seconds_cpu"] = round(time.process_time() - cpu0, 1)
    print(
        f"time: {metrics['seconds_wall']:.1f} s wall, {metrics['seconds_cpu']:.1f} s CPU; per model (all splits): "
        + ", ".join(f"{k} {v:.1f}s" for k, v in timings_total.items())
    )

    assert first is not None
    td_model, test_p = first
    # an ADR patient with a report (a small cohort's test part may have none: any ADR patient, any patient)
    chosen = next((s for s in test_p if s.adr and s.report_time is not None), None)
    chosen = chosen or next((s for s in test_p if s.adr), test_p[0])
    if not args.no_write:
        figure = args.out.with_suffix(".png") if args.out else FIGURE
        figure.parent.mkdir(parents=True, exist_ok=True)
        plot_risk_curve(td_model, chosen, by_id[chosen.id], figure)
        path = write_result(
            NAME,
            metrics,
            out=args.out,
            command=command_line(),
            extra={
                "synthetic": True,
                "data": "SYNTHETIC cohort generated by inference.core.risk.synthetic_cohort (not real patients, not "
                "the study's data)",
                "protocol": "stratified 8:1:1 split; phrase-state classifier trained on train; TD(lambda) on "
                "train (alpha 0.1, gamma 0.1, lambda 0.3), LR on validation, scored on test; baselines "
                "trained on train, hyper-parameters on validation; mean (sd) over split seeds",
                "phrase_model": args.phrase_model,
                "phrase_encoder": encoder_name(resolve_encoder(args.encoder))
                if args.phrase_model == "transformer"
                else None,
                "cohort_config": asdict(cohort_cfg),
                "study_accuracy": STUDY_ACCURACY,
                "state_values_split0_dutch": [round(float(v), 4) for v in td_model.values],
                "risk_curve_patient": chosen.id,
                "risk_curve_figure": str(figure.relative_to(ROOT) if figure.is_relative_to(ROOT) else figure),
                "per_split": per_split,
                "phrase_classifier_per_split": phrase_runs,
            },
        )
        print(f"wrote {path} and {figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
