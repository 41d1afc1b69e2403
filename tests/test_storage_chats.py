from datetime import date

import pytest

from storage.errors import NotFound

from storage_helpers import T0, add_private_chat, add_user, answer, ask, at


def test_touch_user_creates_then_refreshes_names_but_keeps_settings(store):
    store.touch_user(1, "Ada", "ada", "en", at("2025-03-10 09:00"))
    store.set_user_tz(1, "+05:30")
    store.set_user_level(1, "advanced")
    user = store.touch_user(1, "Ada L.", None, None, at("2025-03-11 09:00"))
    assert user.first_name == "Ada L."
    assert user.username is None
    assert user.language == "en"
    assert user.tz == "UTC+05:30"
    assert user.level == "advanced"
    assert user.created_at == at("2025-03-10 09:00")
    assert user.last_seen_at == at("2025-03-11 09:00")


def test_get_user_of_a_stranger_is_none(store):
    assert store.get_user(404) is None


def test_user_settings_are_validated_before_writing(store):
    add_user(store, 1)
    with pytest.raises(ValueError):
        store.set_user_tz(1, "Mars/Olympus")
    with pytest.raises(ValueError):
        store.set_user_level(1, "expert")
    with pytest.raises(ValueError):
        store.set_user_day_start_hour(1, 24)
    assert store.get_user(1).tz is None
    assert store.set_user_tz(1, None).tz is None
    assert store.set_user_day_start_hour(1, 4).day_start_hour == 4


def test_setting_a_missing_users_tz_raises_not_found(store):
    with pytest.raises(NotFound):
        store.set_user_tz(404, "UTC")


def test_ensure_chat_creates_a_subscribed_active_scheduled_chat(store):
    chat = store.ensure_chat(-100, "group", "DL study", at("2025-03-10 06:00"),
                             "Europe/Berlin", "9:00")
    assert chat.subscribed is True
    assert chat.status == "active"
    assert chat.push_time == "09:00"
    assert chat.next_push_at == at("2025-03-10 08:00")


def test_ensure_chat_on_an_existing_chat_updates_the_title_only(store):
    store.ensure_chat(-100, "group", "Old", T0, "UTC", "09:00")
    store.update_chat_settings(-100, T0, push_time="18:00")
    chat = store.ensure_chat(-100, "group", "New", T0, "Europe/Berlin", "07:00")
    assert (chat.title, chat.tz, chat.push_time) == ("New", "UTC", "18:00")


def test_blocked_chat_becomes_active_again_when_the_user_writes(store):
    add_private_chat(store, 1)
    blocked = store.set_chat_status(1, "blocked", T0)
    assert blocked.status == "blocked" and blocked.next_push_at is None
    chat = store.reactivate_chat(1, at("2025-03-11 07:00"))
    assert chat.status == "active"
    assert chat.next_push_at == at("2025-03-11 09:00")


def test_update_chat_settings_recomputes_next_push_at(store):
    add_private_chat(store, 1, now=at("2025-03-10 06:00"))
    chat = store.update_chat_settings(1, at("2025-03-10 06:00"), tz="Asia/Kolkata",
                                      push_time="20:15", level="intermediate")
    assert (chat.tz, chat.level) == ("Asia/Kolkata", "intermediate")
    assert chat.next_push_at == at("2025-03-10 14:45")
    assert store.update_chat_settings(1, T0, subscribed=False).next_push_at is None
    assert store.update_chat_settings(1, T0, subscribed=True).next_push_at is not None


def test_update_chat_settings_rejects_bad_values_and_changes_nothing(store):
    before = add_private_chat(store, 1)
    for kw in ({"tz": "Nowhere/City"}, {"push_time": "25:00"}, {"level": "guru"}):
        with pytest.raises(ValueError):
            store.update_chat_settings(1, T0, **kw)
    assert store.get_chat(1) == before


def test_moving_the_push_later_after_todays_push_does_not_push_twice(store):
    add_private_chat(store, 1, now=at("2025-03-10 08:00"))
    store.claim_delivery(1, date(2025, 3, 10), "q-1", at("2025-03-10 09:00"))
    chat = store.update_chat_settings(1, at("2025-03-10 10:00"), push_time="12:00")
    assert chat.next_push_at == at("2025-03-11 12:00")


def test_set_chat_status_refuses_migrated(store):
    add_private_chat(store, 1)
    with pytest.raises(ValueError):
        store.set_chat_status(1, "migrated", T0)


def test_due_chats_returns_only_subscribed_active_chats_past_their_push_in_order(store):
    now = at("2025-03-10 12:00")
    store.ensure_chat(1, "private", None, now, "UTC", "11:00")
    store.ensure_chat(2, "private", None, now, "UTC", "10:00")
    store.ensure_chat(3, "private", None, now, "UTC", "13:00")  # not yet
    store.ensure_chat(4, "private", None, now, "UTC", "09:00")
    store.update_chat_settings(4, now, subscribed=False)
    store.ensure_chat(5, "private", None, now, "UTC", "09:00")
    store.set_chat_status(5, "blocked", now)
    due = store.due_chats(now)
    assert [row.chat.chat_id for row in due] == [2, 1]
    assert due[0].local_date == date(2025, 3, 10)
    assert [row.chat.chat_id for row in store.due_chats(now, limit=1)] == [2]


def test_due_chats_after_downtime_sends_todays_question_at_todays_push_time(store):
    store.ensure_chat(1, "private", None, at("2025-03-10 06:00"), "UTC", "09:00")
    # the bot was down from the 10th 06:00 until the 12th 07:00
    assert store.due_chats(at("2025-03-12 07:00")) == []  # not early, not yesterday's
    assert store.get_chat(1).next_push_at == at("2025-03-12 09:00")
    due = store.due_chats(at("2025-03-12 09:30"))
    assert [(row.chat.chat_id, row.local_date) for row in due] == [(1, date(2025, 3, 12))]


def test_due_chats_after_downtime_past_push_time_is_due_at_once_for_today(store):
    store.ensure_chat(1, "private", None, at("2025-03-10 06:00"), "UTC", "09:00")
    due = store.due_chats(at("2025-03-12 15:00"))
    assert [(row.chat.chat_id, row.local_date) for row in due] == [(1, date(2025, 3, 12))]


def test_due_chats_uses_the_partial_index_range_scan(store):
    plan = store.db.conn.execute(
        """EXPLAIN QUERY PLAN SELECT * FROM chats
           WHERE subscribed = 1 AND status = 'active' AND next_push_at <= ?
           ORDER BY next_push_at LIMIT ?""", ("2025", 10)).fetchall()
    details = " | ".join(row[-1] for row in plan)
    assert "USING INDEX chats_due (next_push_at<?)" in details
    assert "SCAN chats" not in details
    assert "TEMP B-TREE" not in details


def test_skip_today_moves_the_push_to_tomorrow_without_a_delivery(store):
    add_private_chat(store, 1, now=at("2025-03-10 08:00"))
    chat = store.skip_today(1, at("2025-03-10 09:00"))
    assert chat.next_push_at == at("2025-03-11 09:00")
    assert store.due_chats(at("2025-03-10 23:00")) == []
    assert store.recent_questions(1) == []


def test_migrate_chat_moves_settings_history_and_scores_to_the_supergroup(store):
    add_user(store, 1)
    add_user(store, 2, name="Bob")
    store.ensure_chat(-1, "group", "Study", T0, "Europe/Berlin", "08:30")
    store.update_chat_settings(-1, T0, level="advanced")
    store.claim_delivery(-1, date(2025, 3, 10), "q-daily", T0)
    store.complete_delivery(-1, date(2025, 3, 10), 500, T0)
    ask(store, -1, 501, "q-quiz", user_id=2, now=at("2025-03-10 12:05"))
    answer(store, 1, -1, 500)
    answer(store, 2, -1, 501, verdict="partial")
    store.mark_hint_used(2, -1, 501, T0)
    store.ensure_chat(-1009, "supergroup", None, T0, "UTC", "09:00")  # bot saw it first

    new = store.migrate_chat(-1, -1009, at("2025-03-10 13:00"))
    assert (new.type, new.title, new.tz, new.push_time, new.level) == \
        ("supergroup", "Study", "Europe/Berlin", "08:30", "advanced")
    assert new.next_push_at == at("2025-03-11 07:30")  # the 10th was delivered
    old = store.get_chat(-1)
    assert (old.status, old.migrated_to, old.next_push_at) == ("migrated", -1009, None)
    assert [row.user_id for row in store.leaderboard(-1009, None)] == [1, 2]
    assert store.leaderboard(-1, None) == []
    assert store.recent_questions(-1009) == ["q-quiz", "q-daily"]
    assert store.user_stats(2, -1009).points_total == 1
    # the supergroup's own message 500 is a new question, answerable again
    ask(store, -1009, 500, "q-new")
    assert answer(store, 1, -1009, 500, question_id="q-new") is not None
    assert store.migrate_chat(-1, -1009, T0).chat_id == -1009  # idempotent


def test_naive_datetimes_are_refused_everywhere_time_is_injected(store):
    from datetime import datetime

    with pytest.raises(ValueError, match="naive"):
        store.touch_user(1, "Ada", None, None, datetime(2025, 3, 10, 12, 0))
    with pytest.raises(ValueError, match="naive"):
        store.due_chats(datetime(2025, 3, 10, 12, 0))


def test_storage_imports_only_the_pure_rules_of_content_never_telegram_bot_or_fsrs():
    import ast
    from pathlib import Path

    import storage

    # fsrs too: cards and review logs cross the boundary as plain dicts
    rules = {"content.calendar", "content.streaks", "content.scoring"}
    for path in Path(storage.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = ([f"content.{a.name}" for a in node.names] if node.module == "content"
                           else [node.module])
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in ("telegram", "bot", "fsrs"), (path.name, module)
                assert not module.startswith("content") or module in rules, (path.name, module)
