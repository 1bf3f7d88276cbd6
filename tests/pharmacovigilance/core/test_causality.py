"""The Naranjo questionnaire (each question's points, the score, the categories), the WHO-UMC criteria, and the
answers suggested from what the notes say (each with its evidence). No database."""

from __future__ import annotations

import itertools

import pytest

from pharmacovigilance.core.causality import (
    NARANJO_QUESTIONS,
    WHO_UMC_CRITERIA,
    Answer,
    CausalityError,
    Mention,
    NaranjoCategory,
    NoteText,
    PairFacts,
    naranjo_assess,
    naranjo_category,
    naranjo_score,
    naranjo_suggestions,
    sentence_spans,
    who_umc_suggestion,
)
from pharmacovigilance.core.report import ChallengeResult, WhoUmcCategory

# Naranjo et al. 1981, Table 1: (yes, no, do not know) points of each question, written out independently of
# the code under test.
PUBLISHED_POINTS = {
    1: (1, 0, 0), 2: (2, -1, 0), 3: (1, 0, 0), 4: (2, -1, 0), 5: (-1, 2, 0),
    6: (-1, 1, 0), 7: (1, 0, 0), 8: (1, 0, 0), 9: (1, 0, 0), 10: (1, 0, 0),
}


@pytest.mark.parametrize(("question", "answer"), itertools.product(range(1, 11), ("yes", "no", "dont_know")))
def test_each_answer_to_each_question_scores_its_published_points(question, answer):
    expected = PUBLISHED_POINTS[question][("yes", "no", "dont_know").index(answer)]
    # Only this question answered: every other one counts as "do not know" (0 points on every question).
    assert naranjo_score({question: answer}) == expected
    assert naranjo_score({str(question): answer}) == expected  # form and JSON keys are strings


def test_the_questionnaire_has_the_ten_standard_questions_in_order():
    assert [q.number for q in NARANJO_QUESTIONS] == list(range(1, 11))
    assert "previous conclusive reports" in NARANJO_QUESTIONS[0].text
    assert "placebo" in NARANJO_QUESTIONS[5].text
    assert "objective evidence" in NARANJO_QUESTIONS[9].text


def test_scores_add_up_over_the_questions_and_span_minus_4_to_13():
    best = {1: "yes", 2: "yes", 3: "yes", 4: "yes", 5: "no", 6: "no", 7: "yes", 8: "yes", 9: "yes", 10: "yes"}
    worst = {2: "no", 4: "no", 5: "yes", 6: "yes"}
    assert naranjo_score(best) == 13
    assert naranjo_score(worst) == -4
    assert naranjo_score({}) == 0
    typical = {2: "yes", 3: "yes", 5: "no"}  # after the drug, better on withdrawal, no other cause: 2 + 1 + 2
    assert naranjo_score(typical) == 5
    assert naranjo_assess(typical).category == NaranjoCategory.PROBABLE


@pytest.mark.parametrize(("score", "category"), [
    (13, "definite"), (9, "definite"), (8, "probable"), (5, "probable"), (4, "possible"), (1, "possible"),
    (0, "doubtful"), (-1, "doubtful"), (-4, "doubtful"),
])
def test_categories_are_definite_from_9_probable_5_to_8_possible_1_to_4_doubtful_at_0_or_less(score, category):
    assert naranjo_category(score) == category


def test_assess_gives_every_answer_its_points_and_fills_unanswered_with_do_not_know():
    result = naranjo_assess({"2": "yes", "5": "yes", "9": ""})
    assert result.answers[2] == Answer.YES and result.answers[9] == Answer.DONT_KNOW and len(result.answers) == 10
    assert result.points[2] == 2 and result.points[5] == -1 and result.score == 1
    assert result.category == NaranjoCategory.POSSIBLE


@pytest.mark.parametrize("answers", [{11: "yes"}, {"0": "no"}, {"x": "yes"}, {2: "maybe"}, {3: "YES"}])
def test_answers_outside_the_questionnaire_are_refused(answers):
    with pytest.raises(CausalityError):
        naranjo_score(answers)


def test_every_who_umc_category_has_its_criteria():
    assert set(WHO_UMC_CRITERIA) == set(WhoUmcCategory)
    assert any("Rechallenge satisfactory" in c for c in WHO_UMC_CRITERIA[WhoUmcCategory.CERTAIN])
    assert any("Could also be explained" in c for c in WHO_UMC_CRITERIA[WhoUmcCategory.POSSIBLE])


# --- suggestions ---------------------------------------------------------------------------------------------

TEXT = ("Medications: warfarin 5 mg daily.\nOn day 4 the patient developed gastrointestinal bleeding, considered "
        "probably caused by warfarin; it was stopped and symptoms resolved.\nPlan: review in clinic.\n")


def at(word: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(word, start + 1)
    return start, start + len(word)


def facts(text: str = TEXT, **changes) -> PairFacts:
    d, r = at("warfarin", 1), at("gastrointestinal bleeding")
    base = dict(
        drug_names=("warfarin",), reaction_terms=("gastrointestinal bleeding",),
        notes=(NoteText("n1", text),),
        drug_mentions=(Mention("n1", *at("warfarin")), Mention("n1", *d)),
        reaction_mentions=(Mention("n1", *r, attributes=(("Certainty", "probable"),)),),
        relations=(Mention("n1", r[0], d[1]),),
    )
    base.update(changes)
    return PairFacts(**base)


def test_an_annotated_adverse_effect_relation_suggests_yes_to_question_2_with_its_span():
    suggestions = naranjo_suggestions(facts())
    q2 = suggestions[2]
    assert q2.answer == "yes" and "suggest" not in q2.answer
    assert [e.text for e in q2.evidence] == [TEXT[at("gastrointestinal bleeding")[0]:at("warfarin", 1)[1]]]
    assert "Check" in q2.reason  # honest about being a suggestion


def test_withdrawal_then_resolution_in_the_notes_suggests_a_positive_dechallenge_with_the_sentence():
    q3 = naranjo_suggestions(facts())[3]
    assert q3.answer == "yes"
    assert q3.evidence[0].text.endswith("it was stopped and symptoms resolved.")
    assert q3.evidence[0].note_external_id == "n1"


def test_withdrawal_without_improvement_suggests_no_to_question_3():
    text = TEXT.replace("it was stopped and symptoms resolved", "warfarin was stopped but the bleeding persisted")
    assert naranjo_suggestions(facts(text=text, relations=()))[3].answer == "no"


def test_the_case_forms_dechallenge_outranks_the_text():
    q3 = naranjo_suggestions(facts(dechallenge=ChallengeResult.NEGATIVE))[3]
    assert q3.answer == "no" and q3.evidence == ()
    assert "case records" in q3.reason


def test_rechallenge_in_the_notes_suggests_question_4():
    text = TEXT + "Warfarin was restarted a month later and the bleeding recurred.\n"
    q4 = naranjo_suggestions(facts(text=text))[4]
    assert q4.answer == "yes" and "restarted" in q4.evidence[0].text
    text = TEXT + "Warfarin was restarted a month later without recurrence.\n"
    assert naranjo_suggestions(facts(text=text))[4].answer == "no"


def test_an_annotation_attribute_gives_the_rechallenge():
    reaction = Mention("n1", *at("gastrointestinal bleeding"), attributes=(("Rechallenge", "positive"),))
    q4 = naranjo_suggestions(facts(reaction_mentions=(reaction,)))[4]
    assert q4.answer == "yes" and q4.evidence[0].text == "gastrointestinal bleeding"


def test_toxic_levels_of_the_drug_suggest_question_7():
    text = TEXT + "Digoxin level was toxic at 3.1 ng/mL.\n"
    q7 = naranjo_suggestions(facts(text=text, drug_names=("warfarin", "digoxin")))[7]
    assert q7.answer == "yes" and "Digoxin level" in q7.evidence[0].text


def test_notes_that_say_nothing_suggest_nothing():
    text = "Medications: warfarin 5 mg daily.\nThe patient developed gastrointestinal bleeding.\n"
    plain = PairFacts(drug_names=("warfarin",), reaction_terms=("gastrointestinal bleeding",),
                      notes=(NoteText("n1", text),))
    assert naranjo_suggestions(plain) == {}
    assert who_umc_suggestion(plain) is None


def test_a_certainty_attribute_on_the_reaction_suggests_the_who_umc_category():
    suggestion = who_umc_suggestion(facts())
    assert suggestion.answer == WhoUmcCategory.PROBABLE.value and suggestion.question is None
    assert suggestion.evidence[0].text == "gastrointestinal bleeding"
    unrelated = Mention("n1", *at("gastrointestinal bleeding"), attributes=(("Severity", "probable"),))
    assert who_umc_suggestion(facts(reaction_mentions=(unrelated,))) is None


def test_sentences_split_at_full_stops_and_line_breaks_without_surrounding_space():
    text = "One. Two!  Three?\nFour\n\n"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["One.", "Two!", "Three?", "Four"]
