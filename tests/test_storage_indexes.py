"""Every statement the Store runs is an index lookup or range scan: no full
scan of a table, and every foreign key has an index on its child columns
(so cascades on delete/migration are lookups too)."""

import re
from datetime import date

from storage_helpers import GONE, GROUP, STAYS, at, populate

# \b stops the backtracking that let "SCAN disputes USING INDEX ..." match as
# "SCAN dispute" + "s USING": a scan of a (partial) index is not a table scan.
PLAIN_SCAN = re.compile(r"^SCAN (\w+)\b(?! USING)")
# Whole-table exports read every row by definition; an index would only add
# a write to every answer to speed up an offline command.
WHOLE_TABLE_EXPORTS = {"review_log"}
# Tables that stay tiny by nature: an owner's announcements (a few a month).
SMALL_TABLES = {"announcements"}


def full_scans(conn, sql):
    plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    return [row[-1] for row in plan if PLAIN_SCAN.match(row[-1])]


def test_no_store_statement_scans_a_whole_table(store):
    statements = []
    store.db.conn.set_trace_callback(statements.append)
    populate(store)
    now = at("2025-03-12 12:00")
    store.due_chats(now)
    store.skip_today(STAYS, now)
    store.recent_questions(GROUP)
    store.open_question(STAYS, STAYS)
    store.pending_deliveries(now)
    store.user_stats(STAYS)
    store.user_stats(STAYS, chat_id=GROUP)
    store.leaderboard(GROUP, at("2025-03-10 00:00"))
    store.leaderboard(GROUP, None)
    store.streak(STAYS, now, "UTC")
    store.streak_info(STAYS, now, "UTC")
    store.get_card(STAYS, "q-daily")
    store.due_cards(STAYS, now)
    store.card_question_ids(STAYS)
    store.hint_used(STAYS, GROUP, 20)
    store.reminder_candidates(now)
    store.mark_reminded(STAYS, date(2025, 3, 12), now)
    store.set_user_reminders(STAYS, False)
    interview = store.active_interview(STAYS, STAYS)
    store.advance_interview(interview.id, now)
    store.interview_results(interview.id)
    store.start_interview(STAYS, STAYS, ["q-x"], "mixed", now, replace=True)
    store.get_interview(interview.id)
    store.open_disputes()
    store.resolve_dispute(store.open_disputes()[0].id)
    store.review_logs()
    store.export_user(STAYS)
    store.release_delivery(STAYS, date(2025, 3, 11))
    store.update_chat_settings(GROUP, now, push_time="10:00")
    store.migrate_chat(GROUP, GROUP - 1, now)
    store.recompute_streak(STAYS, now)
    store.inbox_add([(40, "{}"), (41, "{}")], now)
    store.inbox_pending()
    store.inbox_size()
    store.inbox_done(40, now)
    store.prune_inbox(now)
    store.seen_update(42, now)
    store.unreplied_attempts(STAYS)
    store.unreplied_before(now)
    store.mark_reply_sent(1, now)
    store.delete_user(GONE)
    store.delete_user(STAYS)
    store.db.conn.set_trace_callback(None)

    checked, offenders, exports = 0, {}, set()
    for sql in set(statements):
        keyword = sql.lstrip().split(None, 1)[0].upper()
        if keyword not in ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH"):
            continue
        if "sqlite_master" in sql or "EXPLAIN" in sql:
            continue
        checked += 1
        scans = full_scans(store.db.conn, sql)
        exports.update(scan for scan in scans if scan.split()[1] in WHOLE_TABLE_EXPORTS)
        scans = [scan for scan in scans if scan.split()[1] not in WHOLE_TABLE_EXPORTS | SMALL_TABLES]
        if scans:
            offenders[sql] = scans
    assert checked > 50
    assert offenders == {}
    assert exports == {"SCAN review_log"}  # review_logs(), the one deliberate full read
    # the detector itself does catch a full scan, and only that
    assert full_scans(store.db.conn, "SELECT * FROM attempts WHERE verdict = 'correct'")
    assert not full_scans(store.db.conn, "SELECT id FROM disputes WHERE status = 'open'")


def test_every_foreign_key_has_an_index_on_its_child_columns(store):
    conn = store.db.conn
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")]
    missing = []
    for table in tables:
        keys = {}
        for row in conn.execute(f"PRAGMA foreign_key_list({table})"):
            keys.setdefault(row[0], []).append(row[3])
        index_prefixes = []
        for index in conn.execute(f"PRAGMA index_list({table})"):
            cols = [c[2] for c in conn.execute(f"PRAGMA index_info({index[1]})")]
            index_prefixes.append(cols)
        pk = [r[1] for r in sorted(conn.execute(f"PRAGMA table_info({table})"),
                                   key=lambda r: r[5]) if r[5]]
        index_prefixes.append(pk)
        for columns in keys.values():
            if not any(cols[:len(columns)] == columns for cols in index_prefixes):
                missing.append((table, columns))
    assert missing == []
