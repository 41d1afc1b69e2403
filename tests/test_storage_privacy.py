import json
from datetime import date

from storage_fixtures import T0, add_private_chat, add_user, answer, ask, at, store  # noqa: F401

GONE = 987654321  # the user who asks to be forgotten
STAYS = 55555
GROUP = -1001234


def populate(store):
    """Both users have rows in every table; GONE asked a quiz in the group
    that STAYS answered."""
    for user_id, name in [(GONE, "Robert"), (STAYS, "Alice")]:
        add_user(store, user_id, name=name)
        add_private_chat(store, user_id)
        store.set_user_tz(user_id, "Europe/Berlin")
        store.claim_delivery(user_id, date(2025, 3, 10), "q-daily", T0)
        store.complete_delivery(user_id, date(2025, 3, 10), 7, T0)
        store.claim_delivery(user_id, date(2025, 3, 11), "q-pending", at("2025-03-11 09:00"))
        ask(store, user_id, 8, "q-ask", source="ask", user_id=user_id)
        store.mark_hint_used(user_id, user_id, 7, T0)
        answer(store, user_id, user_id, 7)
        answer(store, user_id, user_id, 8, verdict="partial")
    store.ensure_chat(GROUP, "supergroup", "Study group", T0, "UTC", "09:00")
    ask(store, GROUP, 20, "q-group-quiz", user_id=GONE)
    ask(store, GROUP, 21, "q-group-daily", source="daily")
    for user_id in (GONE, STAYS):
        store.mark_hint_used(user_id, GROUP, 20, T0)
        answer(store, user_id, GROUP, 20)
        answer(store, user_id, GROUP, 21, verdict="incorrect")
    store.seen_update(31337, T0)


def all_values(store):
    conn = store.db.conn
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        cursor = conn.execute(f'SELECT * FROM "{table}"')
        names = [column[0] for column in cursor.description]
        for row in cursor:
            for name, value in zip(names, row):
                yield table, name, value


def mentions(store, user_id):
    return [(table, column, value) for table, column, value in all_values(store)
            if value == user_id or (isinstance(value, str) and str(user_id) in value)]


def test_delete_user_erases_the_id_from_every_column_of_every_table(store):
    populate(store)
    assert mentions(store, GONE)  # the scan does find the id before deletion
    stays_before = store.export_user(STAYS)

    assert store.delete_user(GONE) is True

    assert mentions(store, GONE) == []
    assert store.get_user(GONE) is None and store.get_chat(GONE) is None
    assert store.export_user(STAYS) == stays_before
    # STAYS keeps their answer on the quiz GONE asked; the quiz is anonymised
    assert store.get_attempt(STAYS, GROUP, 20)["verdict"] == "correct"
    assert store.get_question_message(GROUP, 20)["user_id"] is None
    assert [row["user_id"] for row in store.leaderboard(GROUP, None)] == [STAYS]
    assert store.db.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_delete_user_of_a_stranger_returns_false(store):
    assert store.delete_user(404) is False


def test_delete_user_is_one_transaction(store):
    populate(store)
    store.db.execute("""CREATE TEMP TRIGGER fail_delete BEFORE DELETE ON main.users
                        BEGIN SELECT RAISE(ABORT, 'injected failure'); END""")
    before = store.export_user(GONE)
    try:
        store.delete_user(GONE)
    except Exception as exc:
        assert "injected failure" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("delete_user should have failed")
    assert store.export_user(GONE) == before


def test_export_user_is_json_serialisable_and_complete(store):
    populate(store)
    exported = store.export_user(GONE)
    json.dumps(exported)
    assert exported["user"]["first_name"] == "Robert"
    assert exported["user"]["tz"] == "Europe/Berlin"
    assert exported["private_chat"]["chat_id"] == GONE
    assert exported["streak"]["current"] == 1
    assert {(a["chat_id"], a["question_message_id"]) for a in exported["attempts"]} == \
        {(GONE, 7), (GONE, 8), (GROUP, 20), (GROUP, 21)}
    assert {d["local_date"] for d in exported["deliveries"]} == {"2025-03-10", "2025-03-11"}
    assert {(q["chat_id"], q["message_id"]) for q in exported["question_messages"]} == \
        {(GONE, 7), (GONE, 8), (GROUP, 20)}
    assert len(exported["hints_used"]) == 2
    assert str(STAYS) not in json.dumps(exported)


def test_export_user_of_a_stranger_is_empty(store):
    assert store.export_user(404) == {
        "user": None, "streak": None, "private_chat": None, "deliveries": [],
        "question_messages": [], "attempts": [], "hints_used": []}
