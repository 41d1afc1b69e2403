"""Verdicts that did not reach the learner (issue 18: an outage recorded 100 answers and
delivered 0 verdicts, even after a restart). An attempt is "unreplied" until the bot marks its
verdict sent."""

from datetime import timedelta

from storage_helpers import T0, add_private_chat, add_user, answer, ask, at


def learner_with_answers(store, user_id=1, messages=(10, 11, 12)):
    add_user(store, user_id)
    add_private_chat(store, user_id)
    results = []
    for n, message_id in enumerate(messages):
        ask(store, user_id, message_id, f"q-{message_id}")
        results.append(answer(store, user_id, user_id, message_id, question_id=f"q-{message_id}",
                              now=T0 + timedelta(minutes=n)))
    return results


def test_a_new_attempt_is_unreplied_until_its_verdict_is_marked_sent(store):
    first, second, third = learner_with_answers(store)
    assert [a.id for a in store.unreplied_attempts(1)] == [first.attempt_id, second.attempt_id,
                                                           third.attempt_id]
    assert store.mark_reply_sent(second.attempt_id, at("2025-03-10 12:01:01")) is True
    assert store.mark_reply_sent(second.attempt_id, at("2025-03-10 12:05")) is False  # once
    assert [a.id for a in store.unreplied_attempts(1)] == [first.attempt_id, third.attempt_id]
    assert store.get_attempt(1, 1, 11).reply_sent_at == at("2025-03-10 12:01:01")
    assert store.get_attempt(1, 1, 10).reply_sent_at is None


def test_unreplied_attempts_are_per_learner_and_limited(store):
    learner_with_answers(store, 1)
    learner_with_answers(store, 2)
    assert {a.user_id for a in store.unreplied_attempts(2)} == {2}
    assert len(store.unreplied_attempts(1, limit=2)) == 2
    assert store.unreplied_attempts(3) == []


def test_the_outage_sweep_finds_the_oldest_undelivered_verdicts_of_everyone(store):
    one = learner_with_answers(store, 1, messages=(10,))
    two = learner_with_answers(store, 2, messages=(10, 11))
    store.mark_reply_sent(two[0].attempt_id, T0)
    # an answer a reply may still be on its way to is not swept yet
    assert [a.id for a in store.unreplied_before(T0 + timedelta(seconds=30))] == [one[0].attempt_id]
    swept = store.unreplied_before(T0 + timedelta(hours=1), limit=10)
    assert [(a.user_id, a.question_id) for a in swept] == [(1, "q-10"), (2, "q-11")]


def test_a_repeated_answer_finds_the_first_ones_verdict_still_undelivered(store):
    """The answer context tells the bot to re-send the verdict instead of "already answered"."""
    (first,) = learner_with_answers(store, messages=(10,))
    context = store.answer_context(1, 1, 10)
    assert context.attempt.id == first.attempt_id and context.attempt.reply_sent_at is None
