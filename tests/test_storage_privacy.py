import json

from storage_helpers import GONE, GROUP, STAYS, populate


def all_values(store):
    conn = store.db.conn
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        cursor = conn.execute(f'SELECT * FROM "{table}"')
        names = [column[0] for column in cursor.description]
        for row in cursor:
            for name, value in zip(names, row, strict=True):
                yield table, name, value


def mentions(store, user_id):
    return [(table, column, value) for table, column, value in all_values(store)
            if value == user_id or (isinstance(value, str) and str(user_id) in value)]


def user_tables(store):
    return {row[0] for row in store.db.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}


def test_delete_user_erases_the_id_from_every_column_of_every_table(store):
    populate(store)
    # the scan does find the id before deletion, in every table that has a
    # user column (the inbox has none: done rows keep only the update id), so every table
    # is covered
    assert {table for table, _, _ in mentions(store, GONE)} == user_tables(store) - {"inbox"}
    stays_before = store.export_user(STAYS)

    assert store.delete_user(GONE) is True

    assert mentions(store, GONE) == []
    assert store.get_user(GONE) is None and store.get_chat(GONE) is None
    assert store.export_user(STAYS) == stays_before
    # STAYS keeps their answer on the quiz GONE asked; the quiz is anonymised
    assert store.get_attempt(STAYS, GROUP, 20).verdict == "correct"
    assert store.get_question_message(GROUP, 20).user_id is None
    assert [row.user_id for row in store.leaderboard(GROUP, None)] == [STAYS]
    # ... and their answer to the group interview GONE started, now unlinked
    assert store.get_attempt(STAYS, GROUP, 22).verdict == "partial"
    assert store.get_question_message(GROUP, 22).interview_id is None
    assert [d.user_id for d in store.open_disputes()] == [STAYS, STAYS]
    assert store.db.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_delete_user_erases_the_new_learning_tables_explicitly(store):
    """The explicit deletes alone suffice for the user's own rows (not only
    the cascades): drop the cascades' effect by deleting with FKs off."""
    populate(store)
    store.db.conn.execute("PRAGMA foreign_keys = OFF")
    try:
        store.delete_user(GONE)
    finally:
        store.db.conn.execute("PRAGMA foreign_keys = ON")
    for table in ("cards", "review_log", "reminders_sent", "interviews", "disputes",
                  "streaks", "attempts", "hints_used"):
        left = store.db.conn.execute(
            f"SELECT count(*) FROM {table} WHERE user_id = ?", (GONE,)).fetchone()[0]
        assert left == 0, table
    assert store.db.conn.execute(
        "SELECT count(*) FROM question_messages WHERE chat_id = ? AND interview_id IS NOT NULL",
        (GROUP,)).fetchone()[0] == 0


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
        {(GONE, 7), (GONE, 8), (GONE, 9), (GROUP, 20), (GROUP, 21), (GROUP, 22)}
    assert {d["local_date"] for d in exported["deliveries"]} == {"2025-03-10", "2025-03-11"}
    assert {(q["chat_id"], q["message_id"]) for q in exported["question_messages"]} == \
        {(GONE, 7), (GONE, 8), (GONE, 9), (GROUP, 20), (GROUP, 22)}
    assert len(exported["hints_used"]) == 2
    assert [c["question_id"] for c in exported["cards"]] == ["q-daily", "q-iv-1"]
    assert [r["rating"] for r in exported["review_log"]] == [3, 3]
    assert [r["local_date"] for r in exported["reminders_sent"]] == ["2025-03-11"]
    assert [(i["chat_id"], i["question_ids"]) for i in exported["interviews"]] == \
        [(GONE, ["q-iv-1", "q-iv-2"]), (GROUP, ["q-group-iv"])]
    assert [(d["chat_id"], d["reply"], d["missed"]) for d in exported["disputes"]] == \
        [(GONE, "my answer, I am Robert", ["b"]), (GROUP, "I was right", ["kernel"])]
    assert [a["text"] for a in exported["announcements"]] == ["Exam week!"]
    assert [(a["chat_id"], a["state"]) for a in exported["announcement_sends"]] == [(GONE, "sent")]
    assert exported["user"]["reminders"] is False
    assert exported["streak"]["freezes"] == 0
    assert str(STAYS) not in json.dumps(exported)


def test_export_user_of_a_stranger_is_empty(store):
    assert store.export_user(404) == {
        "user": None, "streak": None, "private_chat": None, "deliveries": [],
        "question_messages": [], "attempts": [], "hints_used": [], "cards": [],
        "review_log": [], "reminders_sent": [], "interviews": [], "disputes": [],
        "announcements": [], "announcement_sends": []}
