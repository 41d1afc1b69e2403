"""Property tests: the grader and the search never raise and stay in range, whatever the input."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from content import find_questions, grade_reply
from tests.learners import shipped_bank

# Deferred: the bank is loaded by the worker that runs these tests, not at collection by every one.
QUESTIONS = st.deferred(lambda: st.sampled_from(shipped_bank().questions))
TEXT = st.text(max_size=5000) | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(question=QUESTIONS, reply=TEXT)
def test_grade_never_raises_and_score_in_range(question, reply):
    grade = grade_reply(question, reply)
    assert 0.0 <= grade.score <= 1.0
    assert grade.verdict in ("correct", "partial", "incorrect")
    assert len(grade.matched) + len(grade.missed) == len(question.key_terms)


@given(question=QUESTIONS, prefix=st.text(max_size=200), suffix=st.text(max_size=200))
def test_model_answer_with_noise_around_it_still_grades_correct(question, prefix, suffix):
    # Noise is separated by a full stop so it cannot negate the answer's first words.
    grade = grade_reply(question, f"{prefix}.\n{question.answer}\n.{suffix}")
    assert grade.verdict == "correct"


@given(query=st.text(max_size=300), limit=st.integers(min_value=1, max_value=10))
def test_search_never_raises(query, limit):
    hits = find_questions(shipped_bank(), query, limit)
    assert len(hits) <= limit
    assert all(0 < h.score <= 100 for h in hits)


@given(reply=st.text(alphabet=st.characters(max_codepoint=127), max_size=400))
def test_the_ascii_fast_path_of_scan_finds_the_same_words_as_the_unicode_one(reply):
    from content.text import _TOKEN_RE, normalize, scan

    text = normalize(reply)
    words = [piece for piece in _TOKEN_RE.findall(text) if piece[0].isalnum()]
    assert scan(text)[0] == words


def _reference_scan(text: str):
    """The word-by-word definition of `scan` (slow, obvious): punctuation ends a clause, a
    sentence end also ends a sentence, and a clause word starts a new clause."""
    from content.text import _TOKEN_RE, CLAUSE_WORDS

    words, clauses, sentences = [], [], []
    clause = sentence = 0
    for piece in _TOKEN_RE.findall(text):
        if not piece[0].isalnum():
            clause += 1
            sentence += piece in ".;:!?\n"
            continue
        clause += piece in CLAUSE_WORDS
        words.append(piece)
        clauses.append(clause)
        sentences.append(sentence)
    return words, clauses, sentences


def _same_partition(a: list[int], b: list[int]) -> bool:
    return all((a[i] == a[i + 1]) == (b[i] == b[i + 1]) for i in range(len(a) - 1))


@given(reply=st.text(alphabet=st.sampled_from(list("ab and but so, .;:\n()x_é1")) | st.characters(), max_size=200))
def test_scan_splits_words_clauses_and_sentences_like_the_word_by_word_definition(reply):
    from content.text import normalize, scan

    text = normalize(reply)
    words, clauses, sentences = scan(text)
    ref_words, ref_clauses, ref_sentences = _reference_scan(text)
    assert words == ref_words
    assert _same_partition(clauses, ref_clauses) and _same_partition(sentences, ref_sentences)


@given(reply=st.text(alphabet=st.sampled_from(list("ab is what ?.,\n")), max_size=200))
def test_questions_are_numbered_like_the_sentences_of_scan(reply):
    """`question_sentences` counts sentences as `scan` does: each question it finds is a sentence
    of the reply, and a sentence opening with a question word and ending in "?" is one of them."""
    from content.text import normalize, question_sentences, scan

    text = normalize(reply)
    asked = question_sentences(text)
    last = max(scan(text)[2], default=0)
    assert all(0 <= s <= last + 1 for s in asked)
    if text.startswith("what ") and "?" in text and not any(c in text.split("?")[0] for c in ".\n"):
        assert 0 in asked
