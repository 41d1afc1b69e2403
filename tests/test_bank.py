"""The loader validates what authors write and points at the file and entry of every problem."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

from content import ContentError, load_bank, read_bank
from content.bank import QUESTIONS_DIR, TOPICS_FILE

GOOD = """
[[question]]
id = "{id}"
level = "{level}"
topics = ["dropout"]
question = "{question}"
answer = "Dropout regularises by randomly zeroing units and stops co-adaptation; it is switched off at inference."

[[question.key_terms]]
term = "regularization"
aliases = ["regularises"]
core = true

[[question.key_terms]]
term = "randomly zeroing units"
core = true

[[question.key_terms]]
term = "co-adaptation"

[[question.key_terms]]
term = "switched off at inference"
"""


def write(tmp_path: Path, *entries: str) -> Path:
    d = tmp_path / "questions"
    d.mkdir(exist_ok=True)
    (d / "a.toml").write_text("\n".join(textwrap.dedent(e) for e in entries), encoding="utf-8")
    return d


def problems_for(tmp_path, *entries) -> list[str]:
    _, problems = read_bank(write(tmp_path, *entries), TOPICS_FILE)
    return [str(p) for p in problems]


def good(id="drop-a", level="intermediate", question="Explain dropout."):
    return GOOD.format(id=id, level=level, question=question)


def test_a_valid_entry_has_no_problems(tmp_path):
    assert problems_for(tmp_path, good()) == []


def test_duplicate_ids_are_reported_with_file(tmp_path):
    out = problems_for(tmp_path, good(), good(question="Why is dropout used at all in practice?"))
    assert any("a.toml: drop-a: duplicate id" in p for p in out)


def test_missing_fields_and_unknown_level(tmp_path):
    entry = '[[question]]\nid = "broken"\nlevel = "expert"\ntopics = ["dropout"]\nquestion = "Q?"\n'
    out = problems_for(tmp_path, entry)
    assert any("broken: missing field `answer`" in p for p in out)
    assert any("broken: missing field `key_terms`" in p for p in out)
    assert any("broken: unknown level 'expert'" in p for p in out)


def test_empty_key_term_and_too_few_terms(tmp_path):
    entry = good().replace('term = "co-adaptation"', 'term = ""')
    out = problems_for(tmp_path, entry)
    assert any("empty key term" in p for p in out)


def test_alias_shared_by_two_terms(tmp_path):
    entry = good().replace('term = "co-adaptation"', 'term = "co-adaptation"\naliases = ["regularises"]')
    out = problems_for(tmp_path, entry)
    assert any("alias 'regularises' belongs to two terms" in p for p in out)


def test_key_term_missing_from_model_answer(tmp_path):
    entry = good().replace('term = "co-adaptation"', 'term = "ensemble averaging"')
    out = problems_for(tmp_path, entry)
    assert any("'ensemble averaging': neither it nor an alias is in the model answer" in p for p in out)


def test_near_duplicate_questions_of_one_level(tmp_path):
    out = problems_for(
        tmp_path,
        good("drop-a", question="Explain dropout and its role in neural networks."),
        good("drop-b", question="Explain the role of dropout in neural networks."),
    )
    assert any("drop-b: question is a near duplicate of 'drop-a'" in p for p in out)


def test_same_topic_at_two_levels_is_allowed(tmp_path):
    out = problems_for(
        tmp_path,
        good("drop-a", question="Explain dropout and its role in neural networks."),
        good("drop-b", "advanced", question="Explain the role of dropout in neural networks."),
    )
    assert out == []


def test_unknown_topic_long_answer_and_bad_toml(tmp_path):
    entry = good().replace('topics = ["dropout"]', 'topics = ["astrology"]').replace(
        'answer = "Dropout', 'answer = "' + "x " * 700 + "Dropout"
    )
    out = problems_for(tmp_path, entry)
    assert any("topic 'astrology' is not in content/topics.toml" in p for p in out)
    assert any("characters (keep it ≤ 1200)" in p for p in out)
    (tmp_path / "questions" / "b.toml").write_text("[[question]\nid=", encoding="utf-8")
    _, problems = read_bank(tmp_path / "questions", TOPICS_FILE)
    assert any(p.file == "b.toml" and "cannot parse" in p.message for p in problems)


def test_load_bank_refuses_a_bank_with_problems(tmp_path):
    with pytest.raises(ContentError) as exc:
        load_bank(write(tmp_path, good().replace('level = "intermediate"', 'level = "guru"')), TOPICS_FILE)
    assert exc.value.problems


def test_the_shipped_bank_is_valid_and_complete(bank):
    real, problems = read_bank(QUESTIONS_DIR, TOPICS_FILE)
    assert [str(p) for p in problems] == []
    seed = [q for q in real.questions if q.source.startswith("seed_")]
    assert len(seed) == 30
    assert {q.level for q in seed} == {"intermediate", "advanced"}
    for q in real.questions:
        assert 4 <= len(q.key_terms) <= 8, q.id
        assert len(q.answer) <= 1200, q.id
        assert len(("ask:" + q.id).encode()) <= 64, q.id  # fits Telegram's callback_data limit


def test_loading_and_validating_the_bank_is_fast():
    start = time.perf_counter()
    read_bank(QUESTIONS_DIR, TOPICS_FILE)
    assert time.perf_counter() - start < 5  # generous: the benchmark reports the real figure


def test_labelled_reply_files_reference_real_questions():
    real = load_bank()
    data = Path(__file__).parent / "data"
    for path in data.glob("replies_*.jsonl"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            row = json.loads(line)
            assert row["question_id"] in real.by_id, f"{path.name}:{n}"
            assert row["label"] in ("correct", "partial", "incorrect"), f"{path.name}:{n}"


# --- The rubric checks (issue 17) ---------------------------------------------------------------


def test_every_question_needs_two_to_four_core_ideas(tmp_path):
    none = good().replace("core = true\n", "")
    assert any("drop-a: 0 core ideas (mark 2–4" in p for p in problems_for(tmp_path, none))
    five = good().replace('term = "co-adaptation"', 'term = "co-adaptation"\ncore = true').replace(
        'term = "switched off at inference"', 'term = "switched off at inference"\ncore = true')
    assert problems_for(tmp_path, five) == []  # four is allowed
    one = good().replace('term = "randomly zeroing units"\ncore = true', 'term = "randomly zeroing units"')
    assert any("1 core ideas" in p for p in problems_for(tmp_path, one))


def test_required_is_the_old_name_of_core(tmp_path):
    entry = good().replace('term = "co-adaptation"', 'term = "co-adaptation"\nrequired = true')
    bank, problems = read_bank(write(tmp_path, entry), TOPICS_FILE)
    assert problems == []
    assert [t.term for t in bank.questions[0].core_terms] == ["regularization", "randomly zeroing units", "co-adaptation"]


def test_an_alias_that_reduces_to_one_common_word_is_rejected(tmp_path):
    entry = good().replace('aliases = ["regularises"]', 'aliases = ["regularises", "from scratch", "every threshold", "the RNN", "a batch norm"]')
    out = problems_for(tmp_path, entry)
    assert any("alias 'from scratch' of 'regularization' reduces to the common word 'scratch'" in p for p in out)
    assert any("'every threshold'" in p and "'threshold'" in p for p in out)
    assert not any("'the RNN'" in p or "'a batch norm'" in p for p in out)  # an acronym, a vocabulary term


def test_an_alias_that_states_its_own_misconception_is_rejected(tmp_path):
    entry = good().replace(
        'term = "randomly zeroing units"\n',
        'term = "randomly zeroing units"\naliases = ["drops neurons", "vanishing units"]\n'
        'misconceptions = ["drops the same neurons", "drops neurons permanently"]\n',
    )
    out = problems_for(tmp_path, entry)
    # with the gap an alias may have, "drops neurons" says "drops the same neurons"
    assert any("alias 'drops neurons' of 'randomly zeroing units' states its own misconception 'drops the same neurons'" in p
               for p in out)
    # part of a misconception is fine: where both match a reply, the misconception wins
    assert not any("'drops neurons permanently'" in p or "vanishing units" in p for p in out)


def test_a_model_answer_that_states_a_misconception_is_rejected(tmp_path):
    entry = good().replace('term = "co-adaptation"\n', 'term = "co-adaptation"\nmisconceptions = ["switched off at inference"]\n')
    assert any("the model answer states a misconception of 'co-adaptation'" in p for p in problems_for(tmp_path, entry))


def test_every_model_answer_of_the_shipped_bank_grades_correct():
    from content import grade_reply

    real = load_bank()
    for q in real.questions:
        grade = grade_reply(q, q.answer)
        assert grade.verdict == "correct" and not grade.contradicted, (q.id, grade.reason, grade.core_missed)
        assert 2 <= len(q.core_terms) <= 4, q.id


def test_subject_must_be_a_slug(tmp_path):
    entry = good().replace('level = "intermediate"', 'level = "intermediate"\nsubject = "Drop Out"')
    assert any("`subject` must be a slug" in p for p in problems_for(tmp_path, entry))


def test_a_core_alias_that_only_repeats_the_question_is_rejected(tmp_path):
    entry = good(question="Explain dropout and co-adaptation.").replace(
        'term = "co-adaptation"', 'term = "prevents co-adaptation"\ncore = true\naliases = ["co-adaptation", "stops neurons relying on each other"]')
    out = problems_for(tmp_path, entry)
    assert any("alias 'co-adaptation' of core idea 'prevents co-adaptation' only repeats the question's words" in p for p in out)
    assert not any("relying" in p for p in out)
