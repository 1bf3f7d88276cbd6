"""Simulated annotation on ADE-Corpus-V2: how much gold does each query strategy need?

The gold standard plays the annotator. Per seed: a random seed set (the first fraction, 2 % of the fold's
training sentences) is "labelled", the learner is trained on it and scored on the fold's test set; then
each strategy (inference/core/extraction/active_learning.py) picks the next batch from the unlabelled rest with the
model of that round, the batch is labelled, the learner retrained from scratch, and so on up to 100 %.
Every strategy starts from the same seed set for a seed; the 100 % point is the full-data score.

Scores: NER strict macro F1 over Drug and Adverse-Effect, RE strict F1 end to end (relations over the
predicted entities, both arguments exact), as in benchmarks/ade_corpus.py. Costs: labelled sentences and
labelled tokens (uncertain sentences tend to be longer).

Learner: `--learner crf` (default) = the CRF NER + Random Forest RE baselines; the CRF's Viterbi
probability and forward-backward marginals give the sequence scores, the RF's best P(ADE relation) over
the CRF's entities gives the note-level ADE probability. `--learner transformer` = the transformer span
NER (inference/core/extraction/ner.py, fine-tuned from scratch each round; entity confidences as per-span
probabilities) + the same Random Forest RE; far too slow for this 2-core machine, not run by default.
Diversity embeddings: TF-IDF (1-2 grams) -> 64-d truncated SVD of the pool sentences.

Usage:
  python benchmarks/active_learning.py                  # fold 0, all strategies, seed 0 (~12 min)
  python benchmarks/active_learning.py --seeds 0,1      # the committed result (~21 min on 2 shared cores)
  python benchmarks/active_learning.py --quick          # smoke test on 400 sentences (~20 s)
  python benchmarks/active_learning.py --quick --synthetic --results-dir /tmp/al   # no data needed

Writes benchmarks/results/active_learning.json (metrics.label_fraction_to_95pct_best / _random and the
token costs; the curves in "curves") and benchmarks/results/active_learning.png.
"""

from __future__ import annotations

import argparse
import copy
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from annotations.formats.document import Document, Entity, Relation, Span  # noqa: E402
from benchmarks._common import log  # noqa: E402
from inference.core.extraction.active_learning import ItemScores, select  # noqa: E402
from inference.core.text import tokenize  # noqa: E402

NAME = "active_learning"
DEFAULT_FRACTIONS = (0.02, 0.05, 0.10, 0.15, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80, 1.0)
# (label, strategy, diversity)
ALL_STRATEGIES = {
    "random": ("random", False),
    "least_confidence": ("least_confidence", False),
    "margin": ("margin", False),
    "entropy": ("entropy", False),
    "mnlp": ("mnlp", False),
    "ade": ("ade", False),
    "mnlp_diverse": ("mnlp", True),
}
ANCHORS = {
    "shen_2017": "Shen et al. (ICLR 2018, arXiv 2017), deep active learning for NER: MNLP reaches near "
    "state-of-the-art F1 with about 25 % of the training data (OntoNotes 5.0).",
    "kholghi_2016": "Kholghi et al. (JAMIA 2016), active learning for clinical concept extraction: up to 77 % "
    "fewer sequences (and fewer tokens) annotated for the same performance as passive learning.",
}


# --------------------------------------------------------------------------- learners


class Learner(Protocol):
    def fit(self, docs: Sequence[Document]) -> None: ...

    def evaluate(self, test: Sequence[Document]) -> dict[str, float]: ...

    def item_scores(self, docs: Sequence[Document], *, ade: bool) -> list[ItemScores]: ...


def _entity_types(docs: Sequence[Document]) -> list[str]:
    return sorted({e.type for d in docs for e in d.entities})


def _relation_types(docs: Sequence[Document]) -> list[str]:
    return sorted({r.type for d in docs for r in d.relations})


class _RfRe:
    """The Random Forest RE shared by both learners: fit on gold, predict over predicted entities."""

    def __init__(self, seed: int, trees: int):
        from inference.core.extraction.baselines import RandomForestRe, RandomForestReConfig

        self.rf = RandomForestRe(RandomForestReConfig(seed=seed, n_estimators=trees))
        self.fitted = False

    def fit(self, docs: Sequence[Document]) -> None:
        try:
            self.rf.fit(docs)
            self.fitted = True
        except ValueError:  # no relation in the labelled set yet
            self.fitted = False

    def predict(self, docs: Sequence[Document]) -> list[Document]:
        if not self.fitted:
            return [Document(id=d.id, text=d.text, entities=d.entities) for d in docs]
        return self.rf.predict(docs)

    def pair_probabilities(self, ner_pred: Sequence[Document]) -> list[list[float]]:
        """P(relation) of every candidate pair of each document's predicted entities ([] before RE is fit)."""
        if not self.fitted:
            return [[] for _ in ner_pred]
        probe = copy.copy(self.rf)
        probe.config = replace(self.rf.config, threshold=0.0)  # every candidate with its best P(relation)
        return [[r.confidence or 0.0 for r in d.relations] for d in probe.predict(ner_pred)]

    def ade_probability(self, ner_pred: Sequence[Document]) -> list[float]:
        """Best P(relation) over each document's candidate pairs (0 without a candidate)."""
        if not self.fitted:
            return [0.5] * len(ner_pred)
        return [max(ps, default=0.0) for ps in self.pair_probabilities(ner_pred)]


def _score(ner_pred, re_pred, test) -> dict[str, float]:
    from inference.core.extraction.evaluation import ner_scores, re_scores

    ner = ner_scores(test, ner_pred, types=_entity_types(test))
    rel = re_scores(test, re_pred, types=_relation_types(test))
    return {"ner_f1": ner["strict_macro_f1"], "re_f1": rel["strict_micro_f1"]}


class CrfRfLearner:
    """CRF NER + Random Forest RE (inference/core/extraction/baselines)."""

    name = "crf"

    def __init__(
        self, seed: int, *, crf_iterations: int = 100, rf_trees: int = 100, embeddings=None, units: str = "ner"
    ):
        from inference.core.extraction.baselines import CrfNer, CrfNerConfig

        self.ner = CrfNer(CrfNerConfig(max_iterations=crf_iterations))
        self.re = _RfRe(seed, rf_trees)
        self.embeddings = embeddings or {}
        self.units = units

    def fit(self, docs: Sequence[Document]) -> None:
        self.ner.fit(docs)
        self.re.fit(docs)

    def evaluate(self, test: Sequence[Document]) -> dict[str, float]:
        ner_pred = self.ner.predict(test)
        return _score(ner_pred, self.re.predict(ner_pred), test)

    def item_scores(self, docs: Sequence[Document], *, ade: bool) -> list[ItemScores]:
        tagger = self.ner.crf.tagger_
        labels = list(tagger.labels())
        _, feats = self.ner._xy(docs)
        joint = self.units == "joint"
        pairs = self.re.pair_probabilities(self.ner.predict(docs)) if (ade or joint) else [[]] * len(docs)
        ade_p = [max(ps, default=0.0) if self.re.fitted else 0.5 for ps in pairs] if ade else [None] * len(docs)
        out = []
        for d, x, p_ade, ps in zip(docs, feats, ade_p, pairs, strict=True):
            tagger.set(x)
            best = tagger.tag()
            logp = math.log(max(tagger.probability(best), 1e-300)) if best else 0.0
            probs = [[tagger.marginal(lab, t) for lab in labels] for t in range(len(x))]
            if joint:
                # Each candidate pair is one more unit, a binary [P(related), P(not)]: the relation
                # decisions the model is unsure of count like uncertain tokens, and the exact CRF
                # sequence log-probability gets the pairs' best-decision log-probabilities added.
                probs += [[p] for p in ps]
                logp += sum(math.log(max(p, 1.0 - p, 1e-300)) for p in ps)
            out.append(
                ItemScores(
                    item_id=d.id,
                    token_probs=probs,
                    ade_probability=p_ade,
                    embedding=self.embeddings.get(d.id),
                    length=len(x),
                    sequence_logprob=logp,
                )
            )
        return out


class TransformerLearner:
    """Transformer span NER (inference/core/extraction/ner.py) + the Random Forest RE. Slow: not run by default."""

    name = "transformer"

    def __init__(self, seed: int, *, encoder=None, epochs: int = 3, rf_trees: int = 100, embeddings=None):
        self.seed, self.encoder, self.epochs = seed, encoder, epochs
        self.ner = None
        self.re = _RfRe(seed, rf_trees)
        self.embeddings = embeddings or {}

    def fit(self, docs: Sequence[Document]) -> None:
        from inference.core.extraction.ner import NER, NERConfig
        from inference.core.training import TrainConfig, train_component

        self.ner = NER(NERConfig()).initialize(docs, encoder=self.encoder)
        train_component(self.ner, docs, TrainConfig(epochs=self.epochs, seed=self.seed))
        self.re.fit(docs)

    def evaluate(self, test: Sequence[Document]) -> dict[str, float]:
        ner_pred = self.ner.predict(test)
        return _score(ner_pred, self.re.predict(ner_pred), test)

    def item_scores(self, docs: Sequence[Document], *, ade: bool) -> list[ItemScores]:
        found, _ = self.ner.predict_units(docs)
        ade_p = self.re.ade_probability(self.ner.predict(docs)) if ade else [None] * len(docs)
        return [
            ItemScores(
                item_id=d.id,
                token_probs=[[conf] for _, conf in spans.values()],  # per predicted span: [p, 1 - p]
                ade_probability=p_ade,
                embedding=self.embeddings.get(d.id),
                length=len(tokenize(d.text)),
            )
            for d, spans, p_ade in zip(docs, found, ade_p, strict=True)
        ]


# --------------------------------------------------------------------------- simulation


@dataclass
class Round:
    fraction: float  # labelled sentences / pool sentences
    sentences: int
    tokens: int
    ner_f1: float
    re_f1: float
    seconds: float


def simulate(
    pool: Sequence[Document],
    test: Sequence[Document],
    make_learner: Callable[[], Learner],
    strategy: str,
    *,
    diversity: bool = False,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    cold_start: int = 0,
    cache: dict | None = None,
    log_fn: Callable[[str], None] | None = None,
) -> list[Round]:
    """One learning curve: label the seed set, then alternate train -> score -> select -> label.

    Args: pool: the training documents (gold = the annotator); test: scored each round; make_learner:
    a fresh learner per round (retrained from scratch); strategy/diversity: as `active_learning.select`;
    fractions: increasing shares of the pool labelled at each round (the first one is the random seed
    set, the same for every strategy at a seed); cache: {labelled ids: (scores, learner)} shared between
    strategies so the seed-set and full-data rounds are trained once per seed. Returns one Round each.
    """
    cache = {} if cache is None else cache
    n = len(pool)
    targets = [min(n, max(1, round(f * n))) for f in fractions]
    if any(b < a for a, b in zip(targets, targets[1:], strict=False)):
        raise ValueError("fractions must increase")
    by_id = {d.id: d for d in pool}
    if len(by_id) != n:
        raise ValueError("pool document ids must be unique")
    n_tokens = {d.id: len(tokenize(d.text)) for d in pool}
    rng = random.Random(seed)
    labelled = rng.sample([d.id for d in pool], targets[0])
    rounds: list[Round] = []
    for r, target in enumerate(targets):
        t0 = time.perf_counter()
        key = frozenset(labelled)
        if key in cache:
            scores, learner = cache[key]
        else:
            learner = make_learner()
            learner.fit([by_id[i] for i in labelled])
            scores = learner.evaluate(test)
            if r == 0 or target == n:
                cache[key] = (scores, learner)
        rounds.append(
            Round(
                fraction=len(labelled) / n,
                sentences=len(labelled),
                tokens=sum(n_tokens[i] for i in labelled),
                ner_f1=scores["ner_f1"],
                re_f1=scores["re_f1"],
                seconds=round(time.perf_counter() - t0, 2),
            )
        )
        if r + 1 == len(targets):
            break
        done = set(labelled)
        rest = [d for d in pool if d.id not in done]
        k = targets[r + 1] - len(labelled)
        t1 = time.perf_counter()
        if k >= len(rest):
            picked = [d.id for d in rest]
        else:
            if strategy == "random" and not diversity:
                items = [ItemScores(item_id=d.id) for d in rest]
            else:
                items = learner.item_scores(rest, ade=strategy == "ade")
            picked = select(
                strategy,
                items,
                k,
                seed=seed * 1000 + r,
                labelled_count=len(labelled),
                cold_start=cold_start,
                diversity=diversity,
            )
        labelled += picked
        rounds[-1].seconds = round(rounds[-1].seconds + time.perf_counter() - t1, 2)
        if log_fn:
            last = rounds[-1]
            log_fn(
                f"  {strategy}{'+div' if diversity else ''} seed {seed}: {last.sentences} sent "
                f"({last.fraction:.0%}), {last.tokens} tok: NER {last.ner_f1:.4f} RE {last.re_f1:.4f} "
                f"[{last.seconds:.1f} s]"
            )
    if log_fn:
        last = rounds[-1]
        log_fn(f"  full data: {last.sentences} sent: NER {last.ner_f1:.4f} RE {last.re_f1:.4f}")
    return rounds


def fraction_to_target(curve: Sequence[dict], full: dict, key: str | tuple[str, ...], share: float = 0.95):
    """First point of a (mean) curve where every metric in `key` reaches `share` of its full-data value.

    Returns that point (dict with fraction, sentences, tokens, ...), or None when never reached or when
    a full-data value is 0 (nothing learnt: the figure would mean nothing).
    """
    keys = (key,) if isinstance(key, str) else key
    if any(full[k] <= 0 for k in keys):
        return None
    for point in curve:
        if all(point[k] >= share * full[k] - 1e-12 for k in keys):
            return point
    return None


def mean_curves(runs: dict[str, list[list[Round]]]) -> dict[str, list[dict]]:
    """Per strategy: the rounds averaged over seeds (same fractions for every seed)."""
    out = {}
    for label, seeds in runs.items():
        pts = []
        for i in range(len(seeds[0])):
            rows = [s[i] for s in seeds]
            pts.append(
                {
                    "fraction": round(float(np.mean([r.fraction for r in rows])), 4),
                    "sentences": float(np.mean([r.sentences for r in rows])),
                    "tokens": float(np.mean([r.tokens for r in rows])),
                    "ner_f1": round(float(np.mean([r.ner_f1 for r in rows])), 4),
                    "re_f1": round(float(np.mean([r.re_f1 for r in rows])), 4),
                    "ner_f1_sd": round(float(np.std([r.ner_f1 for r in rows])), 4),
                    "re_f1_sd": round(float(np.std([r.re_f1 for r in rows])), 4),
                }
            )
        out[label] = pts
    return out


def summarize(curves: dict[str, list[dict]], pool_tokens: int) -> tuple[dict[str, float], dict[str, Any]]:
    """The headline figures: label fractions (and token costs) to 95 % of the full-data F1."""
    full = curves["random"][-1]
    metrics: dict[str, float] = {
        "full_data_ner_f1_strict": full["ner_f1"],
        "full_data_re_f1_strict": full["re_f1"],
        "pool_sentences": full["sentences"],
        "pool_tokens": pool_tokens,
    }
    detail: dict[str, Any] = {}
    for suffix, key in (("", ("ner_f1", "re_f1")), ("_ner", "ner_f1"), ("_re", "re_f1")):
        per = {}
        for label, curve in curves.items():
            pt = fraction_to_target(curve, full, key)
            per[label] = pt
            metrics[f"label_fraction_to_95pct{suffix}_{label}"] = pt["fraction"] if pt else math.nan
            metrics[f"token_fraction_to_95pct{suffix}_{label}"] = (
                pt["tokens"] / pool_tokens if pt else math.nan
            )
        candidates = [
            (pt["fraction"], pt["tokens"], lab) for lab, pt in per.items() if pt and lab != "random"
        ]
        best = min(candidates) if candidates else None
        rnd = per["random"]
        metrics[f"label_fraction_to_95pct{suffix}_best"] = best[0] if best else math.nan
        metrics[f"token_fraction_to_95pct{suffix}_best"] = best[1] / pool_tokens if best else math.nan
        metrics[f"tokens_to_95pct{suffix}_best"] = best[1] if best else math.nan
        metrics[f"label_fraction_to_95pct{suffix}_random"] = rnd["fraction"] if rnd else math.nan
        metrics[f"token_fraction_to_95pct{suffix}_random"] = rnd["tokens"] / pool_tokens if rnd else math.nan
        metrics[f"tokens_to_95pct{suffix}_random"] = rnd["tokens"] if rnd else math.nan
        detail[f"best_strategy{suffix}"] = best[2] if best else None
    return metrics, detail


def plot(curves: dict[str, list[dict]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    full = curves["random"][-1]
    fig, axes = plt.subplots(2, 2, figsize=(12, 9), sharey="row")
    for row, (key, name) in enumerate((("ner_f1", "NER strict macro F1"), ("re_f1", "RE strict F1"))):
        for col, (xkey, xname) in enumerate(
            (("sentences", "labelled sentences"), ("tokens", "labelled tokens"))
        ):
            ax = axes[row][col]
            for label, curve in curves.items():
                style = {"color": "black", "linestyle": "--", "linewidth": 2} if label == "random" else {}
                ax.plot(
                    [p[xkey] for p in curve], [p[key] for p in curve], marker="o", ms=3, label=label, **style
                )
            ax.axhline(0.95 * full[key], color="grey", linestyle=":", linewidth=1, label="95 % of full data")
            ax.set_xscale("log")
            ax.set_xlabel(xname + " (log scale)")
            ax.set_ylabel(name)
            ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- data


def synthetic_corpus(n: int = 160, seed: int = 0) -> list[Document]:
    """A tiny ADE-like corpus (drug, adverse effect, relation per sentence) for smoke tests."""
    rng = random.Random(seed)
    drugs = ["aspirin", "warfarin", "metformin", "lisinopril", "ibuprofen", "amiodarone", "clozapine"]
    effects = [
        "rash",
        "bleeding",
        "lactic acidosis",
        "cough",
        "renal failure",
        "pulmonary fibrosis",
        "agranulocytosis",
    ]
    templates = [
        "{e} developed after treatment with {d} .",
        "We report a case of {e} induced by {d} in an elderly patient .",
        "{d} therapy was stopped because of severe {e} .",
        "A {a} year old woman on {d} presented with {e} and fever .",
    ]
    docs = []
    for i in range(n):
        d, e, tpl = rng.choice(drugs), rng.choice(effects), rng.choice(templates)
        text = tpl.format(d=d, e=e, a=rng.randint(20, 90))
        ds, es = text.index(d), text.index(e)
        ents = (
            Entity("T1", "Adverse-Effect", (Span(es, es + len(e)),), e),
            Entity("T2", "Drug", (Span(ds, ds + len(d)),), d),
        )
        docs.append(
            Document(
                id=f"s{i}",
                text=text,
                entities=ents,
                relations=(Relation("R1", "Adverse-Effect", "T1", "T2"),),
                label="ade",
            )
        )
    return docs


def tfidf_embeddings(docs: Sequence[Document], dim: int = 64, seed: int = 0) -> dict[str, np.ndarray]:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True).fit_transform([d.text for d in docs])
    dim = max(1, min(dim, x.shape[1] - 1, len(docs) - 1))
    z = TruncatedSVD(n_components=dim, random_state=seed).fit_transform(x)
    return {d.id: z[i] for i, d in enumerate(docs)}


# --------------------------------------------------------------------------- main


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--learner", default="crf", choices=["crf", "transformer"])
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--data", default=None, help="ade_spert_folds folder (default: datasets.ade_folds_dir())")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (seed set, RF, random choices)")
    ap.add_argument(
        "--strategies", default=",".join(ALL_STRATEGIES), help=f"subset of {','.join(ALL_STRATEGIES)}"
    )
    ap.add_argument("--fractions", default=",".join(str(f) for f in DEFAULT_FRACTIONS))
    ap.add_argument(
        "--units",
        default="ner",
        choices=["ner", "joint"],
        help="what the uncertainty strategies read: the NER's token marginals only, or those and every "
        "candidate pair's relation probability (crf learner)",
    )
    ap.add_argument("--crf-iterations", type=int, default=100)
    ap.add_argument("--rf-trees", type=int, default=100)
    ap.add_argument("--encoder", default=None, help="transformer learner: encoder directory")
    ap.add_argument("--epochs", type=int, default=3, help="transformer learner: NER epochs per round")
    ap.add_argument("--max-train", type=int, default=None, help="use only the first N training sentences")
    ap.add_argument("--max-test", type=int, default=None, help="use only the first N test sentences")
    ap.add_argument(
        "--quick", action="store_true", help="smoke test: 400 train / 150 test sentences, 3 strategies"
    )
    ap.add_argument(
        "--synthetic", action="store_true", help="a generated toy corpus instead of ADE-Corpus-V2"
    )
    ap.add_argument(
        "--results-dir", default=None, help="where NAME.json and NAME.png go (default benchmarks/results)"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds = "0"
        args.strategies = "random,mnlp,mnlp_diverse"
        args.fractions = "0.05,0.2,0.5,1.0"
        args.crf_iterations = min(args.crf_iterations, 30)
        args.rf_trees = min(args.rf_trees, 20)
        args.max_train = args.max_train or 400
        args.max_test = args.max_test or 150
    return args


def load_data(args) -> tuple[list[Document], list[Document], str]:
    if args.synthetic:
        docs = synthetic_corpus(200 if args.quick else 600)
        cut = len(docs) * 3 // 4
        train, test, split = docs[:cut], docs[cut:], "synthetic (generated, 3:1)"
    else:
        from inference.core.extraction.datasets import ade_fold, ade_folds_dir

        train, test = ade_fold(args.data or ade_folds_dir(), args.fold)
        split = f"ADE-Corpus-V2 fold {args.fold} of the standard 10-fold split (SpERT/PFN)"
    if args.max_train:
        train = train[: args.max_train]
    if args.max_test:
        test = test[: args.max_test]
    return train, test, split


def main(argv=None) -> dict:
    from benchmarks import _common

    args = parse_args(argv)
    t_start = time.perf_counter()
    seeds = [int(s) for s in args.seeds.split(",")]
    labels = args.strategies.split(",")
    if "random" not in labels:
        labels.insert(0, "random")
    unknown = [lab for lab in labels if lab not in ALL_STRATEGIES]
    if unknown:
        raise SystemExit(f"unknown strategies: {unknown}")
    fractions = [float(f) for f in args.fractions.split(",")]
    if fractions[-1] != 1.0:
        fractions.append(1.0)

    train, test, split = load_data(args)
    pool_tokens = sum(len(tokenize(d.text)) for d in train)
    embeddings = tfidf_embeddings(train)
    if args.learner == "crf":
        learner_desc = (
            f"CRF NER (sklearn-crfsuite, {args.crf_iterations} L-BFGS iterations) + Random Forest RE "
            f"({args.rf_trees} trees) from inference/core/extraction/baselines, retrained from scratch each round; "
            f"uncertainty over {'NER tokens and candidate pairs' if args.units == 'joint' else 'NER tokens'}"
        )
    else:
        learner_desc = (
            f"transformer span NER (inference/core/extraction/ner.py, encoder {args.encoder or 'default'}, {args.epochs} "
            f"epochs) + Random Forest RE ({args.rf_trees} trees), retrained from scratch each round"
        )
    log(f"learner: {learner_desc}")
    log(f"data: {split}: {len(train)} pool sentences ({pool_tokens} tokens), {len(test)} test sentences")
    log(f"strategies {labels}, seeds {seeds}, fractions {fractions}")

    runs: dict[str, list[list[Round]]] = {lab: [] for lab in labels}
    for seed in seeds:

        def make(seed=seed):
            if args.learner == "crf":
                return CrfRfLearner(
                    seed,
                    crf_iterations=args.crf_iterations,
                    rf_trees=args.rf_trees,
                    embeddings=embeddings,
                    units=args.units,
                )
            return TransformerLearner(
                seed, encoder=args.encoder, epochs=args.epochs, rf_trees=args.rf_trees, embeddings=embeddings
            )

        cache: dict = {}
        for lab in labels:
            strategy, diversity = ALL_STRATEGIES[lab]
            t0 = time.perf_counter()
            log(f"{lab} (seed {seed})")
            rounds = simulate(
                train,
                test,
                make,
                strategy,
                diversity=diversity,
                fractions=fractions,
                seed=seed,
                cache=cache,
                log_fn=log,
            )
            runs[lab].append(rounds)
            log(f"{lab} (seed {seed}) done in {time.perf_counter() - t0:.0f} s")

    curves = mean_curves(runs)
    metrics, detail = summarize(curves, pool_tokens)
    metrics["seeds"] = len(seeds)
    metrics["seconds"] = round(time.perf_counter() - t_start, 1)
    for key in ("label_fraction_to_95pct_best", "label_fraction_to_95pct_random"):
        log(f"{key} = {metrics[key]}")
    log(f"best strategy: {detail['best_strategy']}")

    results_dir = Path(args.results_dir) if args.results_dir else _common.RESULTS_DIR
    extra = {
        "benchmark": "simulated active learning (gold standard as annotator), learning curves per query strategy",
        "learner": args.learner,
        "units": args.units,
        "learner_description": learner_desc,
        "split": split,
        "seeds": seeds,
        "fractions": fractions,
        "strategies": {
            lab: {"strategy": ALL_STRATEGIES[lab][0], "diversity": ALL_STRATEGIES[lab][1]} for lab in labels
        },
        **detail,
        "definitions": {
            "label_fraction_to_95pct_X": "smallest evaluated share of the pool's sentences at which strategy X's "
            "seed-mean curve reaches 95 % of the full-data strict F1 of the same learner, for NER (macro F1) "
            "AND RE (end to end) together; '_ner' / '_re' variants: one task only. Only the evaluated "
            "fractions count (no interpolation). 'best' = the lowest among the non-random strategies.",
            "token_fraction_to_95pct_X": "labelled tokens at that point / all pool tokens (annotation cost).",
            "cold_start": "the first fraction is a random seed set, identical for every strategy at a seed",
            "embeddings": "TF-IDF 1-2 grams -> 64-d truncated SVD of the pool sentences (diversity only)",
        },
        "anchors": ANCHORS,
        "curves": curves,
        "per_seed": {lab: [[r.__dict__ for r in rounds] for rounds in rr] for lab, rr in runs.items()},
        "plot": f"{NAME}.png",
    }
    old_dir = _common.RESULTS_DIR
    _common.RESULTS_DIR = results_dir
    try:
        path = _common.write_result(NAME, metrics, extra=extra)
    finally:
        _common.RESULTS_DIR = old_dir
    title = (
        f"Active learning, {split}; learner: {args.learner} ({'CRF + RF' if args.learner == 'crf' else 'span NER + RF'})"
        f"; mean of {len(seeds)} seed(s)"
    )
    plot(curves, results_dir / f"{NAME}.png", title)
    log(f"wrote {path} and {results_dir / f'{NAME}.png'} in {metrics['seconds']:.0f} s")
    return {"metrics": metrics, "path": str(path), **detail}


if __name__ == "__main__":
    main()
