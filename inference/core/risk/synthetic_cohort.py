"""Synthetic longitudinal nursing-phrase records for method 2 (TD(lambda) ADR risk); framework-free.

The study's nursing notes are private, so the benchmarks and demos run on this generator. Everything it
makes carries ``synthetic=True``; results computed from it must be labelled synthetic.

Generative process (all draws from one ``numpy.random.Generator`` seeded by ``CohortConfig.seed``):

1. **Patients.** ``n_adr`` ADR patients and, for each, one matched non-ADR patient (``matched_to`` its id)
   whose length of stay and phrase rate are the ADR patient's times a factor drawn from
   ``U(1 - match_jitter, 1 + match_jitter)``, so neither length nor note volume gives the label away.
2. **Stay.** Length of stay ``L = min_stay_days + LogNormal(log(median_extra_days), stay_sigma)`` days,
   capped at ``max_stay_days``; discharge at ``24 L`` hours after admission. Times are hours since
   admission.
3. **Phrases.** A patient writes ``Poisson(rate * L)`` phrases (at least 3), ``rate ~ U(rate_min, rate_max)``
   per day, at sorted uniform times over the stay.
4. **Regimes.** Each phrase's true state is drawn from the mixture of the regimes active at its time:
   - *baseline* (routine care, medication rounds): ``baseline_probs``;
   - *ADR episode* (ADR patients only): exposure to a culprit drug at ``U(0, exposure_frac) * stay``, onset
     after ``Gamma(2, onset_scale_h)`` hours (at 95 % of the stay at the latest), lasting
     ``Gamma(2, episode_scale_h)`` hours; during it the state probabilities are
     ``(1 - severity) * baseline + severity * adr_probs`` with a per-patient
     ``severity ~ Beta(severity_a, severity_b)`` (mild ADRs leave little trace);
   - *illness flare* (any patient, with probability ``flare_prob``; disease symptoms, not drug-caused):
     the same timing law; during it the state probabilities are mixed half and half with ``flare_probs``
     (abnormal reactions and complaints, rarely tied to a drug); it is the confounder that makes the task
     hard.
   With probability ``stickiness`` a phrase repeats the previous true state (runs of related phrases).
5. **Text.** Each true state has English templates (:data:`TEMPLATES`) filled from vocabularies of drugs,
   reactions, symptoms, sites, vital signs and names. Every patient has a main drug (for ADR patients the
   culprit): it fills the drug slot of every phrase in an ADR episode and of 30 % of the other phrases,
   a random drug the rest. Surface variation: "patient"/"pt"/"Pt", "complains of"/"c/o", "due to"/"d/t",
   random capitalisation and final period, and a letter swap in a word with probability ``typo_prob``.
6. **Labels.** ``Phrase.state`` is the annotated state: the true state, replaced by a uniformly chosen
   other state with probability ``label_noise`` (annotation / classifier error); ``true_state`` keeps the
   truth.
7. **Reports.** An ADR patient's official report is filed ``Gamma(2, report_scale_h)`` hours after onset
   (at discharge at the latest), except with probability ``under_reporting``: then ``report_time`` is
   ``None`` although ``adr`` is true. Non-ADR patients never have a report.

The state numbering is the study's (:data:`inference.core.risk.phrase_classifier.STUDY_STATES`): 0 unknown,
1 drug-related, 2 abnormal reaction, 3 doctor related, 4 subjective response, 5 drug-related + abnormal
reaction, 6 subjective response + drug-related.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from inference.core.risk.phrase_classifier import STUDY_STATES

__all__ = ["CohortConfig", "Patient", "Phrase", "TEMPLATES", "generate_cohort", "cohort_summary"]


@dataclass(frozen=True, slots=True)
class Phrase:
    """One synthetic nursing phrase: hours since admission, text, annotated (noisy) state, true state."""

    time: float
    text: str
    state: int
    true_state: int
    synthetic: bool = True


@dataclass(frozen=True, slots=True)
class Patient:
    """One synthetic stay.

    ``adr`` is the ground truth; ``report_time`` (hours since admission) is when the official ADR report
    was filed, ``None`` if never (always for non-ADR patients, sometimes for ADR patients: under-reporting).
    """

    id: str
    adr: bool
    report_time: float | None
    phrases: tuple[Phrase, ...]
    discharge_time: float
    onset_time: float | None = None
    culprit_drug: str | None = None
    matched_to: str | None = None
    synthetic: bool = True

    @property
    def states(self) -> list[int]:
        return [p.state for p in self.phrases]

    @property
    def times(self) -> list[float]:
        return [p.time for p in self.phrases]

    @property
    def texts(self) -> list[str]:
        return [p.text for p in self.phrases]


@dataclass(frozen=True, slots=True)
class CohortConfig:
    """Parameters of the generative process (module docstring); the defaults are the benchmark's cohort."""

    n_adr: int = 300
    seed: int = 0
    min_stay_days: float = 2.0
    median_extra_days: float = 4.0
    stay_sigma: float = 0.5
    max_stay_days: float = 21.0
    rate_min: float = 5.0
    rate_max: float = 10.0
    match_jitter: float = 0.15
    exposure_frac: float = 0.6
    onset_scale_h: float = 12.0
    episode_scale_h: float = 30.0
    severity_a: float = 3.0
    severity_b: float = 2.0
    flare_prob: float = 0.4
    stickiness: float = 0.25
    label_noise: float = 0.05
    typo_prob: float = 0.02
    under_reporting: float = 0.2
    report_scale_h: float = 12.0
    baseline_probs: tuple[float, ...] = (0.50, 0.26, 0.05, 0.08, 0.07, 0.02, 0.02)
    adr_probs: tuple[float, ...] = (0.08, 0.12, 0.22, 0.14, 0.12, 0.18, 0.14)
    flare_probs: tuple[float, ...] = (0.25, 0.20, 0.20, 0.15, 0.15, 0.03, 0.02)


DRUGS = (
    "vancomycin",
    "ceftriaxone",
    "piperacillin-tazobactam",
    "amoxicillin",
    "ciprofloxacin",
    "morphine",
    "tramadol",
    "oxycodone",
    "warfarin",
    "heparin",
    "enoxaparin",
    "furosemide",
    "metformin",
    "insulin",
    "cisplatin",
    "paclitaxel",
    "iodinated contrast",
    "phenytoin",
    "carbamazepine",
    "allopurinol",
    "ibuprofen",
    "ketorolac",
    "metoclopramide",
    "haloperidol",
)
REACTIONS = (
    "rash",
    "urticaria",
    "hives",
    "pruritic rash",
    "erythema",
    "swelling",
    "facial edema",
    "nausea",
    "vomiting",
    "diarrhea",
    "hypotension",
    "tachycardia",
    "fever",
    "chills",
    "dyspnea",
    "wheezing",
    "dizziness",
    "tremor",
    "confusion",
    "bruising",
)
SYMPTOMS = (
    "itching",
    "nausea",
    "dizziness",
    "headache",
    "stomach upset",
    "shortness of breath",
    "chest tightness",
    "fatigue",
    "palpitations",
    "pain",
    "a dry mouth",
    "blurred vision",
    "ringing in the ears",
    "insomnia",
)
SITES = (
    "both arms",
    "the chest",
    "the back",
    "the face",
    "the neck",
    "the abdomen",
    "both legs",
    "the iv site",
)
FEELINGS = ("better", "tired", "uncomfortable", "anxious", "weak", "sleepy", "restless", "okay")
NAMES = ("Kim", "Lee", "Park", "Choi", "Jung", "Smith", "Garcia", "Nguyen", "Patel", "Cohen")
ROUTES = ("iv", "IV", "po", "p.o.", "sc", "im")
FINDINGS = ("low bp", "the fever", "the lab results", "decreased urine output", "the new symptoms", "k 3.1")

TEMPLATES: dict[int, tuple[str, ...]] = {
    0: (
        "{pt} slept well overnight",
        "vital signs stable",
        "BP {sbp}/{dbp}, HR {hr}, T {temp}",
        "ambulating in hallway with assistance",
        "bed bath given",
        "family visited",
        "ate {frac} of meal",
        "position changed q2h",
        "iv site clean and dry",
        "{pt} resting in bed",
        "no acute distress noted",
        "wound dressing changed",
        "up to chair for {n} min",
        "discharge planning discussed with family",
        "foley care done",
        "fall precautions maintained",
        "{pt} watching tv",
        "intake {n}00 ml, output {n}50 ml",
    ),
    1: (
        "{drug} {dose} {route} given",
        "{drug} started as ordered",
        "{drug} infusion running at {n}0 ml/hr",
        "received {drug} {dose} {route} at {clock}",
        "{drug} held per order",
        "{drug} level drawn",
        "next dose of {drug} due at {clock}",
        "{pt} took {drug} with water",
        "{drug} changed to {drug2}",
        "{drug} {dose} administered",
        "prn {drug} given",
        "{drug} restarted",
    ),
    2: (
        "{reaction} noted on {site}",
        "new {reaction} observed",
        "T {fever}, {reaction}",
        "BP dropped to {low_sbp}/{low_dbp}",
        "vomited {n} times",
        "{reaction} worsening",
        "generalized {reaction}",
        "SpO2 {spo2}% on room air",
        "{reaction} and {reaction2} noted",
        "{site} red and swollen",
        "{pt} found {reaction2} and pale",
    ),
    3: (
        "Dr. {name} notified",
        "notified physician of {finding}",
        "MD aware, orders received",
        "on-call resident informed",
        "Dr. {name} at bedside",
        "new orders from Dr. {name}",
        "physician rounded, plan unchanged",
        "consult requested per Dr. {name}",
        "dr {name} called back",
    ),
    4: (
        "{pt} {co} {symptom}",
        "{pt} states feeling {feeling}",
        "{pt} reports {symptom}",
        "pain score {n}/10",
        "{pt} says the {symptom} is better",
        "{pt} {co} {symptom} and {symptom2}",
        "{pt} anxious about discharge",
        "{pt} feels {feeling} today",
    ),
    5: (
        "{reaction} after {drug} administration",
        "{drug} infusion stopped {dt} {reaction}",
        "{reaction} developed {n}0 min after {drug}",
        "suspected {drug} reaction: {reaction}",
        "{drug} held {dt} {reaction}",
        "{reaction} noted during {drug} infusion",
        "antihistamine given for {reaction} after {drug}",
        "{reaction} on {site} since {drug} started",
    ),
    6: (
        "{pt} {co} {symptom} after taking {drug}",
        "{pt} states {drug} makes her feel {feeling}",
        "{pt} reports {symptom} since {drug} started",
        "{pt} refuses {drug}, says it causes {symptom}",
        "{pt} asks to stop {drug} {dt} {symptom}",
        "{co} {symptom} after {drug} dose",
    ),
}

_VARIANTS = {
    "pt": ("pt", "patient", "Pt", "pt", "the patient"),
    "co": ("c/o", "complains of", "c/o", "complaining of"),
    "dt": ("d/t", "due to", "because of"),
}


def _fill(template: str, rng: np.random.Generator, drug: str) -> str:
    def pick(seq: tuple[str, ...]) -> str:
        return seq[int(rng.integers(len(seq)))]

    values = {
        "pt": pick(_VARIANTS["pt"]),
        "co": pick(_VARIANTS["co"]),
        "dt": pick(_VARIANTS["dt"]),
        "drug": drug,
        "drug2": pick(DRUGS),
        "dose": f"{int(rng.choice((1, 2, 4, 5, 10, 25, 50, 100, 250, 500)))} {pick(('mg', 'mg', 'mcg', 'units'))}",
        "route": pick(ROUTES),
        "reaction": pick(REACTIONS),
        "reaction2": pick(REACTIONS),
        "symptom": pick(SYMPTOMS),
        "symptom2": pick(SYMPTOMS),
        "site": pick(SITES),
        "feeling": pick(FEELINGS),
        "name": pick(NAMES),
        "finding": pick(FINDINGS),
        "frac": pick(("all", "half", "1/2", "3/4", "most", "little")),
        "n": str(int(rng.integers(1, 10))),
        "clock": f"{int(rng.integers(0, 24)):02d}:{int(rng.choice((0, 15, 30, 45))):02d}",
        "sbp": str(int(rng.integers(105, 140))),
        "dbp": str(int(rng.integers(60, 90))),
        "low_sbp": str(int(rng.integers(70, 90))),
        "low_dbp": str(int(rng.integers(35, 55))),
        "hr": str(int(rng.integers(60, 100))),
        "temp": f"{rng.uniform(36.2, 37.4):.1f}",
        "fever": f"{rng.uniform(38.0, 39.6):.1f}",
        "spo2": str(int(rng.integers(84, 92))),
    }
    text = template.format(**values)
    if rng.random() < 0.5:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.3:
        text += "."
    return text


def _typo(text: str, rng: np.random.Generator) -> str:
    words = [m for m in re.finditer(r"[a-z]{4,}", text)]
    if not words:
        return text
    m = words[int(rng.integers(len(words)))]
    i = m.start() + int(rng.integers(0, m.end() - m.start() - 1))
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _window(rng: np.random.Generator, stay_h: float, cfg: CohortConfig) -> tuple[float, float, float]:
    """(exposure, onset, end) hours of an episode inside the stay."""
    exposure = rng.uniform(0.0, cfg.exposure_frac) * stay_h
    onset = min(exposure + rng.gamma(2.0, cfg.onset_scale_h), stay_h * 0.95)
    end = onset + rng.gamma(2.0, cfg.episode_scale_h)
    return exposure, onset, end


def _make_patient(
    rng: np.random.Generator,
    cfg: CohortConfig,
    pid: str,
    adr: bool,
    stay_days: float,
    rate: float,
    matched_to: str | None,
) -> Patient:
    stay_h = 24.0 * stay_days
    n = max(3, int(rng.poisson(rate * stay_days)))
    times = np.sort(rng.uniform(0.0, stay_h, size=n))
    base = np.asarray(cfg.baseline_probs, dtype=float)
    probs = np.tile(base / base.sum(), (n, 1))
    culprit = DRUGS[int(rng.integers(len(DRUGS)))]
    onset = report = None
    in_adr = np.zeros(n, dtype=bool)
    if adr:
        _, onset, end = _window(rng, stay_h, cfg)
        severity = rng.beta(cfg.severity_a, cfg.severity_b)
        in_adr = (times >= onset) & (times <= end)
        adr_p = np.asarray(cfg.adr_probs, dtype=float)
        probs[in_adr] = (1 - severity) * probs[in_adr] + severity * adr_p / adr_p.sum()
        if rng.random() >= cfg.under_reporting:
            report = float(min(onset + rng.gamma(2.0, cfg.report_scale_h), stay_h))
    if rng.random() < cfg.flare_prob:
        _, f_onset, f_end = _window(rng, stay_h, cfg)
        flare = (times >= f_onset) & (times <= f_end)
        fl = np.asarray(cfg.flare_probs, dtype=float)
        probs[flare] = 0.5 * probs[flare] + 0.5 * fl / fl.sum()
    k = len(STUDY_STATES)
    phrases = []
    prev = None
    for i in range(n):
        if prev is not None and rng.random() < cfg.stickiness:
            true_state = prev
        else:
            true_state = int(rng.choice(k, p=probs[i]))
        prev = true_state
        drug = culprit if (in_adr[i] or rng.random() < 0.3) else DRUGS[int(rng.integers(len(DRUGS)))]
        templates = TEMPLATES[true_state]
        text = _fill(templates[int(rng.integers(len(templates)))], rng, drug)
        if rng.random() < cfg.typo_prob:
            text = _typo(text, rng)
        state = true_state
        if rng.random() < cfg.label_noise:
            state = int(rng.choice([s for s in range(k) if s != true_state]))
        phrases.append(Phrase(time=round(float(times[i]), 3), text=text, state=state, true_state=true_state))
    return Patient(
        id=pid,
        adr=adr,
        report_time=None if report is None else round(report, 3),
        phrases=tuple(phrases),
        discharge_time=round(stay_h, 3),
        onset_time=None if onset is None else round(float(onset), 3),
        culprit_drug=culprit if adr else None,
        matched_to=matched_to,
    )


def generate_cohort(config: CohortConfig | None = None) -> list[Patient]:
    """Generate the synthetic cohort: ADR patients each followed by their matched non-ADR patient.

    Args:
        config: generative parameters (default :class:`CohortConfig`, seed 0). Same config, same cohort.

    Returns:
        ``2 * config.n_adr`` patients with ids ``syn-0000``, ``syn-0001``, ...; all ``synthetic=True``.
    """
    cfg = config or CohortConfig()
    rng = np.random.default_rng(cfg.seed)
    patients: list[Patient] = []
    for i in range(cfg.n_adr):
        stay = min(
            cfg.min_stay_days + rng.lognormal(np.log(cfg.median_extra_days), cfg.stay_sigma),
            cfg.max_stay_days,
        )
        rate = rng.uniform(cfg.rate_min, cfg.rate_max)
        adr_id = f"syn-{2 * i:04d}"
        patients.append(_make_patient(rng, cfg, adr_id, True, stay, rate, None))
        jitter = lambda: rng.uniform(1 - cfg.match_jitter, 1 + cfg.match_jitter)  # noqa: E731
        m_stay = min(max(stay * jitter(), cfg.min_stay_days), cfg.max_stay_days)
        patients.append(
            _make_patient(rng, cfg, f"syn-{2 * i + 1:04d}", False, m_stay, rate * jitter(), adr_id)
        )
    return patients


def cohort_summary(patients: list[Patient]) -> dict[str, float]:
    """Flat numeric summary of a cohort (for results files)."""
    n_phr = [len(p.phrases) for p in patients]
    adr = [p for p in patients if p.adr]
    noisy = sum(ph.state != ph.true_state for p in patients for ph in p.phrases)
    return {
        "patients": float(len(patients)),
        "adr_patients": float(len(adr)),
        "adr_reported": float(sum(p.report_time is not None for p in adr)),
        "phrases": float(sum(n_phr)),
        "phrases_per_patient_mean": round(float(np.mean(n_phr)), 2) if n_phr else 0.0,
        "stay_days_mean": round(float(np.mean([p.discharge_time / 24 for p in patients])), 2)
        if patients
        else 0.0,
        "label_noise_observed": round(noisy / max(sum(n_phr), 1), 4),
    }
