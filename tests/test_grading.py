"""How the grader judges replies — each test pins one rule from docs/CONTENT.md."""

from __future__ import annotations

import pytest

from content import Question, grade_reply, is_keyword_list
from content.bank import make_term


@pytest.fixture
def dropout(bank):
    return bank.get("dropout-mini")


@pytest.fixture
def rnn(bank):
    return bank.get("rnn-mini")


def test_model_answer_grades_correct(bank):
    for q in bank.questions:
        grade = grade_reply(q, q.answer)
        assert grade.verdict == "correct" and grade.score == 1.0, q.id


def test_paraphrase_with_typos_is_correct(dropout):
    grade = grade_reply(dropout, "drpout randomly zeroes nurons during traning so they cant co-adapt; less overfiting")
    assert grade.verdict == "correct"
    assert {"regularization", "randomly zeroes units", "co-adaptation"} <= set(grade.matched_terms)


def test_british_spelling_and_word_forms_match(dropout):
    grade = grade_reply(dropout, "It regularises the net.")
    assert "regularization" in grade.matched_terms


def test_match_reports_where_it_was_found(dropout):
    reply = "Basically it prevents the model from overfitting."
    grade = grade_reply(dropout, reply)
    match = next(m for m in grade.matched if m.term == "regularization")
    assert match.text == "prevents the model from overfitting"
    assert reply.lower()[match.start : match.end] == match.text


def test_matches_are_in_reply_order_and_compare_by_where_they_were_found(dropout):
    """Offsets are worked out only when read (the bot shows term names only); they must be the
    same whenever they are read, and equal grades of one reply must compare equal."""
    reply = "Dropout zeroes random units during training. It is a form of regularization."
    first, again = grade_reply(dropout, reply), grade_reply(dropout, reply)
    starts = [m.start for m in first.matched]
    assert starts == sorted(starts) and len(starts) >= 2
    assert first.matched == again.matched and len(set(first.matched) | set(again.matched)) == len(first.matched)
    shifted = grade_reply(dropout, "So: " + reply)
    assert [m.term for m in shifted.matched] == [m.term for m in first.matched]
    assert shifted.matched != first.matched  # same terms, found elsewhere
    assert f"start={first.matched[0].start}" in repr(first.matched[0])
    assert first.to_dict()["found"][0]["text"] == first.matched[0].text


def test_multi_word_terms_allow_free_order(rnn):
    grade = grade_reply(rnn, "the gradients vanish over long sequences")
    assert "vanishing gradients" in grade.matched_terms


def test_negated_term_does_not_count(dropout):
    grade = grade_reply(dropout, "Dropout is not a regularizer and it doesn't reduce overfitting.")
    assert "regularization" not in grade.matched_terms
    assert "regularization" in grade.negated
    assert grade.verdict == "incorrect"


def test_not_only_is_not_a_negation(dropout):
    grade = grade_reply(dropout, "It is not only a regularizer but also an ensemble.")
    assert "regularization" in grade.matched_terms


def test_negation_stops_at_clause_boundary(dropout):
    grade = grade_reply(dropout, "Not a speed trick. It reduces overfitting.")
    assert "regularization" in grade.matched_terms


def one_term_question(term: str, *aliases: str) -> Question:
    filler = [make_term(f"filler {i}") for i in range(3)]
    return Question("t", "intermediate", ("rnn",), "q?", "a", (make_term(term, aliases), *filler))


@pytest.mark.parametrize("term, reply", [("RNN", "CNN"), ("GAN", "GRU"), ("RNA", "DNA"), ("BN", "LN")])
def test_acronyms_are_never_fuzzed(term, reply):
    grade = grade_reply(one_term_question(term), f"We would use a {reply} here.")
    assert grade.matched == ()
    assert grade_reply(one_term_question(term), f"We would use a {term} here.").matched_terms == [term]


def test_acronym_plural_counts(rnn):
    assert "LSTM" in grade_reply(rnn, "that's why people use GRUs").matched_terms


def test_word_inside_another_word_does_not_match(rnn):
    # partial_ratio would find "state" inside "statement"; the grader works on whole words.
    grade = grade_reply(rnn, "A hiddenstatement overall.")
    assert "hidden state" not in grade.matched_terms


def test_terms_spread_far_apart_do_not_form_a_phrase(rnn):
    grade = grade_reply(rnn, "The hidden layer of a feed-forward net has one output per neuron and no state.")
    assert "hidden state" not in grade.matched_terms


def test_answer_to_another_question_fails(dropout):
    grade = grade_reply(dropout, "Pooling reduces the spatial size of feature maps by taking the max of each window.")
    assert grade.verdict == "incorrect"


def test_keyword_list_is_capped_at_partial(dropout):
    reply = "regularization, random zeroing, co-adaptation, rescale, off at inference"
    assert is_keyword_list(reply)
    grade = grade_reply(dropout, reply)
    assert grade.score >= 0.7
    assert grade.verdict == "partial" and grade.keyword_list


def test_partial_answer(dropout):
    grade = grade_reply(dropout, "It randomly drops neurons while training, so less overfitting.")
    assert grade.verdict == "partial"


@pytest.mark.parametrize(
    "reply, reason",
    [("", "empty reply"), ("   \n\t ", "empty reply"), ("🙂🔥🙂", "no words to grade"), ("!!! ??? ...", "no words to grade")],
)
def test_empty_and_wordless_replies_are_incorrect_with_reason(dropout, reply, reason):
    grade = grade_reply(dropout, reply)
    assert grade.verdict == "incorrect" and grade.score == 0.0 and grade.reason == reason


@pytest.mark.parametrize(
    "reply",
    [
        "<b>Dropout</b> <script>alert(1)</script> randomly drops neurons",
        "**Dropout** _randomly_ drops `neurons` [link](http://x)",
        "الإسقاط يمنع فرط التخصيص randomly drops neurons",
        "Dropout 随机丢弃神经元 randomly drops neurons",
        "x" * 10_000,
        "randomly drops neurons " * 800,
    ],
)
def test_messy_replies_grade_without_error(dropout, reply):
    grade = grade_reply(dropout, reply)
    assert 0.0 <= grade.score <= 1.0
    assert grade.verdict in ("correct", "partial", "incorrect")


def test_negation_inside_a_free_order_phrase(rnn):
    assert "vanishing gradients" in grade_reply(rnn, "the gradients vanish").matched_terms
    assert "vanishing gradients" not in grade_reply(rnn, "the gradients never vanish").matched_terms


def test_contraction_typed_without_apostrophe_negates(dropout):
    grade = grade_reply(dropout, "it doesnt reduce overfitting")
    assert "regularization" in grade.negated


def test_negation_distance_counts_content_words_only(dropout):
    grade = grade_reply(dropout, "it has nothing to do with the idea of reducing overfitting")
    assert "regularization" not in grade.matched_terms


def test_phrase_may_not_be_assembled_across_sentences(rnn):
    grade = grade_reply(rnn, "The layer is hidden. State machines are different.")
    assert "hidden state" not in grade.matched_terms


def test_decimal_point_and_eg_do_not_end_a_sentence(rnn):
    assert "hidden state" in grade_reply(rnn, "hidden 0.5 state").matched_terms
    assert "hidden state" in grade_reply(rnn, "a hidden (e.g. recurrent) state").matched_terms


def test_short_words_are_not_fuzzed():
    question = one_term_question("pool layer")
    assert grade_reply(question, "poll layer").matched == ()
    assert grade_reply(question, "pool lyer").matched == ()  # a typed word of 4 letters is never fuzzed
    assert grade_reply(one_term_question("pool layer"), "pool layre").matched_terms == ["pool layer"]
