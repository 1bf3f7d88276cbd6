"""Causality of a suspect drug and a reaction: the Naranjo questionnaire (its ten questions, points, score and
category), the WHO-UMC categories with their criteria, and suggested answers read from what the case's notes
say.

A suggestion is never an answer: it carries the reason and the evidence (offsets into a note) it was read
from, and the person assessing the case accepts, changes or ignores it. Only what the person saves is scored.

Naranjo CA, Busto U, Sellers EM, et al. A method for estimating the probability of adverse drug reactions.
Clin Pharmacol Ther 1981;30:239-245. WHO-UMC: "The use of the WHO-UMC system for standardised case causality
assessment" (Uppsala Monitoring Centre).

Framework-free: the services, the API, the benchmarks and the tests call it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .report import ChallengeResult, Evidence, WhoUmcCategory


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    DONT_KNOW = "dont_know"

    @property
    def label(self) -> str:
        return {"yes": "Yes", "no": "No", "dont_know": "Do not know"}[self.value]


class NaranjoCategory(StrEnum):
    DEFINITE = "definite"  # score >= 9
    PROBABLE = "probable"  # 5-8
    POSSIBLE = "possible"  # 1-4
    DOUBTFUL = "doubtful"  # <= 0


@dataclass(frozen=True)
class NaranjoQuestion:
    number: int
    text: str
    yes: int
    no: int
    dont_know: int = 0

    def points(self, answer: Answer) -> int:
        return {Answer.YES: self.yes, Answer.NO: self.no, Answer.DONT_KNOW: self.dont_know}[answer]


NARANJO_QUESTIONS: tuple[NaranjoQuestion, ...] = (
    NaranjoQuestion(1, "Are there previous conclusive reports on this reaction?", 1, 0),
    NaranjoQuestion(2, "Did the adverse event appear after the suspected drug was administered?", 2, -1),
    NaranjoQuestion(3, "Did the adverse reaction improve when the drug was discontinued or a specific antagonist "
                       "was administered?", 1, 0),
    NaranjoQuestion(4, "Did the adverse reaction reappear when the drug was readministered?", 2, -1),
    NaranjoQuestion(5, "Are there alternative causes (other than the drug) that could on their own have caused "
                       "the reaction?", -1, 2),
    NaranjoQuestion(6, "Did the reaction reappear when a placebo was given?", -1, 1),
    NaranjoQuestion(7, "Was the drug detected in the blood (or other fluids) in concentrations known to be toxic?",
                    1, 0),
    NaranjoQuestion(8, "Was the reaction more severe when the dose was increased, or less severe when the dose "
                       "was decreased?", 1, 0),
    NaranjoQuestion(9, "Did the patient have a similar reaction to the same or similar drugs in any previous "
                       "exposure?", 1, 0),
    NaranjoQuestion(10, "Was the adverse event confirmed by any objective evidence?", 1, 0),
)
QUESTION_NUMBERS = tuple(q.number for q in NARANJO_QUESTIONS)
_BY_NUMBER = {q.number: q for q in NARANJO_QUESTIONS}


class CausalityError(ValueError):
    """Answers that are not answers to the Naranjo questions (an unknown question or answer)."""


def naranjo_answers_clean(answers: Mapping[object, object]) -> dict[int, Answer]:
    """The answers as {question number: Answer}, every question present (an unanswered one is "do not know",
    which scores 0 on every question: the questionnaire's own rule).

    Args: a mapping whose keys are question numbers (1-10, as int or digit string) and whose values are
    "yes", "no", "dont_know" (or "" / None for unanswered). Errors: CausalityError naming the bad key or value.
    """
    clean = {n: Answer.DONT_KNOW for n in QUESTION_NUMBERS}
    for key, value in answers.items():
        number = int(key) if isinstance(key, int) or (isinstance(key, str) and key.isdigit() and len(key) < 3) else None
        if number not in _BY_NUMBER:
            raise CausalityError(f"There is no Naranjo question {str(key)[:10]!r} (questions 1-10).")
        if value in (None, ""):
            continue
        try:
            clean[number] = Answer(str(value))
        except ValueError:
            raise CausalityError(f"Question {number}: answer yes, no or dont_know, not {str(value)[:20]!r}.") from None
    return clean


def naranjo_score(answers: Mapping[object, object]) -> int:
    """The Naranjo score (-4 to 13) of the answers (`naranjo_answers_clean`'s input; unanswered: 0 points)."""
    clean = naranjo_answers_clean(answers)
    return sum(_BY_NUMBER[n].points(a) for n, a in clean.items())


def naranjo_category(score: int) -> NaranjoCategory:
    """Definite >= 9, probable 5-8, possible 1-4, doubtful <= 0."""
    if score >= 9:
        return NaranjoCategory.DEFINITE
    if score >= 5:
        return NaranjoCategory.PROBABLE
    if score >= 1:
        return NaranjoCategory.POSSIBLE
    return NaranjoCategory.DOUBTFUL


def naranjo_answered(answers: Mapping[object, object]) -> int:
    """How many questions have a yes or no answer (not "do not know")."""
    return sum(1 for a in naranjo_answers_clean(answers).values() if a != Answer.DONT_KNOW)


# --- WHO-UMC ---------------------------------------------------------------------------------------------

WHO_UMC_CRITERIA: dict[WhoUmcCategory, tuple[str, ...]] = {
    WhoUmcCategory.CERTAIN: (
        "Event or laboratory test abnormality, with plausible time relationship to drug intake",
        "Cannot be explained by disease or other drugs",
        "Response to withdrawal plausible (pharmacologically, pathologically)",
        "Event definitive pharmacologically or phenomenologically (i.e. an objective and specific medical "
        "disorder or a recognised pharmacological phenomenon)",
        "Rechallenge satisfactory, if necessary",
    ),
    WhoUmcCategory.PROBABLE: (
        "Event or laboratory test abnormality, with reasonable time relationship to drug intake",
        "Unlikely to be attributed to disease or other drugs",
        "Response to withdrawal clinically reasonable",
        "Rechallenge not required",
    ),
    WhoUmcCategory.POSSIBLE: (
        "Event or laboratory test abnormality, with reasonable time relationship to drug intake",
        "Could also be explained by disease or other drugs",
        "Information on drug withdrawal may be lacking or unclear",
    ),
    WhoUmcCategory.UNLIKELY: (
        "Event or laboratory test abnormality, with a time to drug intake that makes a relationship improbable "
        "(but not impossible)",
        "Disease or other drugs provide plausible explanations",
    ),
    WhoUmcCategory.CONDITIONAL: (
        "Event or laboratory test abnormality",
        "More data for proper assessment needed, or",
        "Additional data under examination",
    ),
    WhoUmcCategory.UNASSESSABLE: (
        "Report suggesting an adverse reaction",
        "Cannot be judged because information is insufficient or contradictory",
        "Data cannot be supplemented or verified",
    ),
}
WHO_UMC_LABELS: dict[WhoUmcCategory, str] = {
    WhoUmcCategory.CERTAIN: "Certain",
    WhoUmcCategory.PROBABLE: "Probable / likely",
    WhoUmcCategory.POSSIBLE: "Possible",
    WhoUmcCategory.UNLIKELY: "Unlikely",
    WhoUmcCategory.CONDITIONAL: "Conditional / unclassified",
    WhoUmcCategory.UNASSESSABLE: "Unassessable / unclassifiable",
}


# --- suggestions from the notes -------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteText:
    """A note of the case: its external id and its (immutable) text."""

    external_id: str
    text: str


@dataclass(frozen=True)
class Mention:
    """A span of a note the case holds as evidence, with the attributes its annotation carried."""

    note_external_id: str
    start: int
    end: int
    attributes: tuple[tuple[str, str], ...] = ()  # (name, value); value "" for a binary attribute


@dataclass(frozen=True)
class PairFacts:
    """What the case knows about one suspect drug and one reaction.

    `drug_names`: the drug's name and the words the notes use for it; `relations`: where the notes' annotations
    relate this drug to this reaction as an adverse effect (spans over both arguments); `dechallenge` and
    `rechallenge`: what the case form says for the drug (UNKNOWN when nobody said)."""

    drug_names: tuple[str, ...]
    reaction_terms: tuple[str, ...]
    notes: tuple[NoteText, ...] = ()
    drug_mentions: tuple[Mention, ...] = ()
    reaction_mentions: tuple[Mention, ...] = ()
    relations: tuple[Mention, ...] = ()
    dechallenge: ChallengeResult = ChallengeResult.UNKNOWN
    rechallenge: ChallengeResult = ChallengeResult.UNKNOWN


@dataclass(frozen=True)
class Suggestion:
    """A suggested answer (a Naranjo answer, or a WHO-UMC category when `question` is None), why, and the
    spans it was read from. Always a suggestion: the assessor decides."""

    question: int | None
    answer: str
    reason: str
    evidence: tuple[Evidence, ...] = field(default=())


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WITHDRAWN = re.compile(
    r"\b(stopp(?:ed|ing)|stop|discontinu\w*|withdr[ae]w\w*|with(?:held|holding)|held|ceased|suspended|"
    r"switched|tapered off|dechallenge\w*)\b", re.I)
_ABATED = re.compile(
    r"\b(resolv\w*|improv\w*|subsid\w*|settled|abated|disappeared|recover\w*|normali[sz]\w*|better|"
    r"cleared|faded|reversed)\b", re.I)
_NOT_ABATED = re.compile(
    r"\b(persist\w*|did not (?:resolve|improve|settle|subside)|no improvement|not improv\w*|"
    r"worsen\w*|unchanged|despite)\b", re.I)
_READMINISTERED = re.compile(
    r"\b(re-?challeng\w*|re-?start\w*|re-?introduc\w*|resum\w*|re-?administ\w*|re-?commenced|re-?exposure|"
    r"re-?exposed)\b", re.I)
_RECURRED = re.compile(r"\b(recur\w*|reappear\w*|returned|came back|positive re-?challenge)\b", re.I)
_NOT_RECURRED = re.compile(
    r"\b(no recurrence|did not recur|without recurrence|not recur\w*|tolerated|negative re-?challenge)\b", re.I)
_AFTER_START = re.compile(
    r"\b(after|following|since|within \w+ (?:days?|hours?|weeks?) of)\s+(?:\w+\s+){0,2}"
    r"(start\w*|began|beginning|initiat\w*|commenc\w*|taking|receiv\w*|first dose|administ\w*|introduc\w*)\b",
    re.I)
_TOXIC_LEVEL = re.compile(
    r"\b(toxic|supratherapeutic|elevated|raised|high)\b[^.;]{0,40}\b(levels?|concentrations?)\b|"
    r"\b(levels?|concentrations?)\b[^.;]{0,40}\b(toxic|supratherapeutic|elevated|raised|high)\b", re.I)
WHO_UMC_ATTRIBUTE_VALUES = {
    "certain": WhoUmcCategory.CERTAIN, "definite": WhoUmcCategory.CERTAIN,
    "probable": WhoUmcCategory.PROBABLE, "likely": WhoUmcCategory.PROBABLE,
    "possible": WhoUmcCategory.POSSIBLE, "unlikely": WhoUmcCategory.UNLIKELY,
    "conditional": WhoUmcCategory.CONDITIONAL, "unclassified": WhoUmcCategory.CONDITIONAL,
    "unassessable": WhoUmcCategory.UNASSESSABLE, "unclassifiable": WhoUmcCategory.UNASSESSABLE,
}
CERTAINTY_ATTRIBUTES = {"certainty", "causality", "who-umc", "who_umc", "whoumc"}
DECHALLENGE_ATTRIBUTES = {"dechallenge"}
RECHALLENGE_ATTRIBUTES = {"rechallenge"}
_POSITIVE = {"positive", "yes", "true", "abated", "improved", "recurred"}
_NEGATIVE = {"negative", "no", "false", "not_abated", "did_not_recur"}


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`: split after . ! ? followed by space, and at line breaks;
    surrounding white space left out. Good enough to quote evidence; not a clinical sentence splitter."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def _evidence(note: NoteText, start: int, end: int) -> Evidence:
    return Evidence(note_external_id=note.external_id, start=start, end=end, text=note.text[start:end])


def _names_pattern(names: Iterable[str]) -> re.Pattern | None:
    words = sorted({n.strip() for n in names if n and len(n.strip()) >= 3}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.I)


def _sentences_about(facts: PairFacts, *, drug: bool, reaction: bool) -> list[tuple[NoteText, int, int]]:
    """Sentences of the case's notes that hold a mention of the drug (by its annotated spans or its names)
    when `drug`, and of the reaction when `reaction` (either when both are False)."""
    drug_words, reaction_words = _names_pattern(facts.drug_names), _names_pattern(facts.reaction_terms)
    found = []
    for note in facts.notes:
        spans_d = [(m.start, m.end) for m in facts.drug_mentions if m.note_external_id == note.external_id]
        spans_r = [(m.start, m.end) for m in facts.reaction_mentions if m.note_external_id == note.external_id]
        for s, e in sentence_spans(note.text):
            sentence = note.text[s:e]
            has_d = any(a < e and b > s for a, b in spans_d) or bool(drug_words and drug_words.search(sentence))
            has_r = any(a < e and b > s for a, b in spans_r) or bool(reaction_words and reaction_words.search(sentence))
            if (not drug or has_d) and (not reaction or has_r):
                found.append((note, s, e))
    return found


def _challenge_from_attributes(facts: PairFacts, names: set[str]) -> tuple[ChallengeResult, Mention] | None:
    for mention in (*facts.drug_mentions, *facts.reaction_mentions):
        for name, value in mention.attributes:
            if name.lower() in names:
                v = (value or "").strip().lower()
                if v in _POSITIVE:
                    return ChallengeResult.POSITIVE, mention
                if v in _NEGATIVE:
                    return ChallengeResult.NEGATIVE, mention
    return None


def _note(facts: PairFacts, external_id: str) -> NoteText | None:
    return next((n for n in facts.notes if n.external_id == external_id), None)


def _mention_evidence(facts: PairFacts, mention: Mention) -> tuple[Evidence, ...]:
    note = _note(facts, mention.note_external_id)
    return (_evidence(note, mention.start, mention.end),) if note else ()


def _challenge_suggestion(facts: PairFacts, question: int, form_value: ChallengeResult, attribute_names: set[str],
                          cue: re.Pattern, yes_cue: re.Pattern, no_cue: re.Pattern, what: str) -> Suggestion | None:
    """Question 3 (dechallenge) or 4 (rechallenge): from the case form, else an annotation attribute, else a
    sentence about the drug that says the drug was stopped / given again and what the reaction did."""
    if form_value in (ChallengeResult.POSITIVE, ChallengeResult.NEGATIVE):
        answer = Answer.YES if form_value == ChallengeResult.POSITIVE else Answer.NO
        return Suggestion(question, answer, f"The case records the {what} as {form_value.value}.")
    from_attribute = _challenge_from_attributes(facts, attribute_names)
    if from_attribute is not None:
        result, mention = from_attribute
        answer = Answer.YES if result == ChallengeResult.POSITIVE else Answer.NO
        return Suggestion(question, answer, f"An annotation records the {what} as {result.value}.",
                          _mention_evidence(facts, mention))
    for note, s, e in _sentences_about(facts, drug=True, reaction=False) + _sentences_about(facts, drug=False,
                                                                                              reaction=True):
        sentence = note.text[s:e]
        if not cue.search(sentence):
            continue
        if no_cue.search(sentence):
            return Suggestion(question, Answer.NO, f"The note's words suggest a negative {what}: check them.",
                              (_evidence(note, s, e),))
        if yes_cue.search(sentence):
            return Suggestion(question, Answer.YES, f"The note's words suggest a positive {what}: check them.",
                              (_evidence(note, s, e),))
    return None


def naranjo_suggestions(facts: PairFacts) -> dict[int, Suggestion]:
    """Suggested answers to the Naranjo questions the case's notes speak to, by question number.

    Q2 (after the drug): the notes' annotations relate the drug to the reaction as an adverse effect, or a
    sentence about the reaction says it came after starting a drug. Q3 (dechallenge) and Q4 (rechallenge): the
    case form, else an annotation attribute (Dechallenge / Rechallenge), else a sentence about the drug or the
    reaction with a withdrawal (re-administration) cue and what the reaction did. Q7: a sentence about the drug
    speaking of toxic or high levels. The other questions need knowledge the notes rarely hold and get none.
    """
    out: dict[int, Suggestion] = {}
    if facts.relations:
        evidence = tuple(e for m in facts.relations for e in _mention_evidence(facts, m))
        out[2] = Suggestion(2, Answer.YES, "The note's annotations relate this drug to this reaction as its adverse "
                                           "effect: recorded as following the drug. Check the dates.", evidence)
    else:
        for note, s, e in _sentences_about(facts, drug=False, reaction=True):
            if _AFTER_START.search(note.text[s:e]):
                out[2] = Suggestion(2, Answer.YES, "A sentence about the reaction places it after a drug was "
                                                   "started: check that it is this drug.", (_evidence(note, s, e),))
                break
    q3 = _challenge_suggestion(facts, 3, facts.dechallenge, DECHALLENGE_ATTRIBUTES, _WITHDRAWN, _ABATED,
                               _NOT_ABATED, "dechallenge")
    if q3 is not None:
        out[3] = q3
    q4 = _challenge_suggestion(facts, 4, facts.rechallenge, RECHALLENGE_ATTRIBUTES, _READMINISTERED, _RECURRED,
                               _NOT_RECURRED, "rechallenge")
    if q4 is not None:
        out[4] = q4
    for note, s, e in _sentences_about(facts, drug=True, reaction=False):
        if _TOXIC_LEVEL.search(note.text[s:e]):
            out[7] = Suggestion(7, Answer.YES, "A sentence about the drug speaks of toxic or high levels: check "
                                               "that they are the drug's.", (_evidence(note, s, e),))
            break
    return out


def who_umc_suggestion(facts: PairFacts) -> Suggestion | None:
    """A WHO-UMC category the annotations state: a Certainty (or Causality) attribute on the reaction whose
    value names a category ("probable", "possible", ...). None when they state none."""
    for mention in facts.reaction_mentions:
        for name, value in mention.attributes:
            category = WHO_UMC_ATTRIBUTE_VALUES.get((value or "").strip().lower())
            if name.lower() in CERTAINTY_ATTRIBUTES and category is not None:
                return Suggestion(None, category.value, f"The annotators marked this reaction's {name} as "
                                                        f"{value}.", _mention_evidence(facts, mention))
    return None


def suggested_answers(suggestions: Mapping[int, Suggestion]) -> dict[int, Answer]:
    """The suggestions as answers (what a form starts from before the assessor saves)."""
    return {n: Answer(s.answer) for n, s in suggestions.items()}


@dataclass(frozen=True)
class NaranjoResult:
    """A scored questionnaire: the answers (every question), the score and the category."""

    answers: dict[int, Answer]
    score: int
    category: NaranjoCategory

    @property
    def points(self) -> dict[int, int]:
        return {n: _BY_NUMBER[n].points(a) for n, a in self.answers.items()}


def naranjo_assess(answers: Mapping[object, object]) -> NaranjoResult:
    """Score `answers` (see `naranjo_answers_clean`): every answer, the score and the category."""
    clean = naranjo_answers_clean(answers)
    score = sum(_BY_NUMBER[n].points(a) for n, a in clean.items())
    return NaranjoResult(clean, score, naranjo_category(score))


def questions_with_answers(answers: Mapping[int, Answer],
                           suggestions: Mapping[int, Suggestion] | None = None) -> Sequence[dict]:
    """The questionnaire for display: each question with its answer, its points and its suggestion."""
    suggestions = suggestions or {}
    return [
        {"number": q.number, "text": q.text, "answer": answers.get(q.number, Answer.DONT_KNOW).value,
         "points": q.points(answers.get(q.number, Answer.DONT_KNOW)), "yes": q.yes, "no": q.no,
         "dont_know": q.dont_know, "suggestion": suggestions.get(q.number)}
        for q in NARANJO_QUESTIONS
    ]
