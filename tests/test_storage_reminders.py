"""Evening reminders: the SQL prefilter and the sent-once claim."""

from datetime import date

import pytest

from storage.models import ReminderCandidate

from storage_helpers import T0, add_private_chat, add_user, answer, ask, at

NOW = at("2025-03-11 19:30")


YESTERDAY = at("2025-03-10 09:00")


def learner(store, user_id, answered_at=YESTERDAY, tz="UTC", verdict="correct"):
    """A user with a private chat and one answer at ``answered_at``."""
    add_user(store, user_id, name=f"U{user_id}")
    add_private_chat(store, user_id, tz=tz)
    ask(store, user_id, 10)
    answer(store, user_id, user_id, 10, now=answered_at, verdict=verdict)


def ids(rows):
    return [row.user_id for row in rows]


def test_a_learner_with_a_recent_streak_is_a_candidate_with_what_the_bot_needs(store):
    learner(store, 1, tz="Asia/Kolkata")
    store.set_user_day_start_hour(1, 4)
    assert store.reminder_candidates(NOW) == [ReminderCandidate(
        user_id=1, tz="Asia/Kolkata", day_start_hour=4, current=1, freezes=0,
        last_day=date(2025, 3, 10), last_at=at("2025-03-10 09:00"))]
    store.set_user_tz(1, "Europe/Berlin")  # the user's own zone wins over the chat's
    assert store.reminder_candidates(NOW)[0].tz == "Europe/Berlin"


@pytest.mark.parametrize("change", [
    "reminders off", "chat blocked", "unsubscribed", "old streak", "no streak", "no chat",
])
def test_who_is_not_a_candidate(store, change):
    learner(store, 2)  # the control, always a candidate
    if change == "old streak":
        learner(store, 1, answered_at=at("2025-03-08 19:00"))  # more than 3 days before NOW
    elif change == "no streak":
        learner(store, 1, verdict="incorrect")
    elif change == "no chat":
        add_user(store, 1)
        store.ensure_chat(-5, "group", "G", T0, "UTC", "09:00")
        ask(store, -5, 10)
        answer(store, 1, -5, 10, now=at("2025-03-10 09:00"))
    else:
        learner(store, 1)
        if change == "reminders off":
            store.set_user_reminders(1, False)
        elif change == "chat blocked":
            store.set_chat_status(1, "blocked", T0)
        else:
            store.update_chat_settings(1, T0, subscribed=False)
    assert ids(store.reminder_candidates(NOW)) == [2]


def test_set_user_reminders_turns_them_back_on_and_validates(store):
    learner(store, 1)
    assert store.get_user(1).reminders is True  # on by default
    assert store.set_user_reminders(1, False).reminders is False
    assert store.reminder_candidates(NOW) == []
    assert store.set_user_reminders(1, True).reminders is True
    assert ids(store.reminder_candidates(NOW)) == [1]
    with pytest.raises(ValueError):
        store.set_user_reminders(1, "off")
    from storage.errors import NotFound
    with pytest.raises(NotFound):
        store.set_user_reminders(404, True)


def test_mark_reminded_is_true_once_per_user_and_local_date(store):
    learner(store, 1)
    learner(store, 2)
    assert store.mark_reminded(1, date(2025, 3, 11), NOW) is True
    assert store.mark_reminded(1, "2025-03-11", at("2025-03-11 19:31")) is False
    assert store.mark_reminded(2, date(2025, 3, 11), NOW) is True
    assert store.mark_reminded(1, date(2025, 3, 12), at("2025-03-12 19:30")) is True


def test_a_reminded_user_drops_out_until_they_answer_again(store):
    learner(store, 1)
    learner(store, 2)
    store.mark_reminded(1, date(2025, 3, 11), NOW)  # reminded for the day after last_day
    assert ids(store.reminder_candidates(NOW)) == [2]
    ask(store, 1, 11, now=at("2025-03-11 20:00"))
    answer(store, 1, 1, 11, now=at("2025-03-11 20:00"))  # saved the streak that evening
    assert ids(store.reminder_candidates(at("2025-03-12 19:30"))) == [2, 1]


def test_candidates_come_oldest_answer_first_and_respect_the_limit(store):
    learner(store, 3, answered_at=at("2025-03-10 12:00"))
    learner(store, 1, answered_at=at("2025-03-10 18:00"))
    learner(store, 2, answered_at=at("2025-03-09 20:00"))
    assert ids(store.reminder_candidates(NOW)) == [2, 3, 1]
    assert ids(store.reminder_candidates(NOW, limit=2)) == [2, 3]


def test_mark_reminded_prunes_the_users_claims_older_than_a_week(store):
    learner(store, 1)
    learner(store, 2)
    store.mark_reminded(1, date(2025, 3, 1), at("2025-03-01 19:00"))
    store.mark_reminded(2, date(2025, 3, 1), at("2025-03-01 19:00"))
    store.mark_reminded(1, date(2025, 3, 5), at("2025-03-05 19:00"))
    store.mark_reminded(1, date(2025, 3, 11), NOW)
    rows = store.db.conn.execute(
        "SELECT user_id, local_date FROM reminders_sent ORDER BY user_id, local_date").fetchall()
    assert rows == [(1, "2025-03-05"), (1, "2025-03-11"), (2, "2025-03-01")]
