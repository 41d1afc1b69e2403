"""The durable inbox (issue 18): updates written before they are confirmed to Telegram, handled
in order, marked done, deduplicated by update id, and pruned."""

import json
from datetime import timedelta

import pytest

from storage.models import InboxItem
from storage.store import Store

from storage_helpers import T0, add_private_chat, add_user, answer, ask


def update(update_id: int, text: str = "hi") -> tuple[int, str]:
    return update_id, json.dumps({"update_id": update_id, "message": {"text": text}})


def test_a_batch_is_written_as_pending_and_read_back_oldest_first(store):
    assert store.inbox_add([update(12), update(10), update(11)], T0) == 3
    pending = store.inbox_pending()
    assert [item.update_id for item in pending] == [10, 11, 12]
    assert pending[0] == InboxItem(10, update(10)[1], T0)
    assert store.inbox_size() == 3
    assert [item.update_id for item in store.inbox_pending(limit=2)] == [10, 11]


def test_ids_already_pending_or_done_are_not_added_again(store):
    """Telegram delivers at least once: the inbox is also the dedupe by update id."""
    store.inbox_add([update(1), update(2)], T0)
    store.inbox_done(1, T0)
    assert store.inbox_add([update(1), update(2), update(3)], T0 + timedelta(seconds=1)) == 1
    assert [item.update_id for item in store.inbox_pending()] == [2, 3]
    assert store.seen_update(2, T0) is False and store.seen_update(3, T0) is False


def test_a_batch_is_one_transaction(store):
    with pytest.raises(ValueError):
        store.inbox_add([update(1), (2, "{}"), ("not an id", "{}")], T0)
    assert store.inbox_size() == 0


def test_done_marks_once_and_forgets_the_payload(store):
    """A done row keeps only the id: the payload may hold a learner's reply text."""
    store.inbox_add([update(5, text="my private answer")], T0)
    assert store.inbox_done(5, T0) is True
    assert store.inbox_done(5, T0) is False
    assert store.inbox_done(404, T0) is False
    assert store.inbox_pending() == [] and store.inbox_size() == 0
    assert store.db.execute("SELECT payload FROM inbox").fetchall() == [(None,)]


def test_pending_updates_survive_a_restart(db_path):
    first = Store.open(db_path)
    first.inbox_add([update(1), update(2)], T0)
    first.inbox_done(1, T0)
    first.close()  # or a crash: each batch was committed
    again = Store.open(db_path)
    assert [item.update_id for item in again.inbox_pending()] == [2]
    again.close()


def test_prune_removes_done_rows_handled_before_the_cutoff_and_never_pending_ones(store):
    store.inbox_add([update(1), update(2), update(3)], T0)
    store.inbox_done(1, T0)
    store.inbox_done(2, T0 + timedelta(days=2))
    assert store.prune_inbox(older_than=T0 + timedelta(days=1)) == 1
    assert [row[0] for row in store.db.execute("SELECT update_id FROM inbox")] == [2, 3]
    assert store.prune_inbox(older_than=T0 + timedelta(days=30)) == 1
    assert [item.update_id for item in store.inbox_pending()] == [3]


def test_seen_update_is_true_once_then_false_for_a_redelivery(store):
    assert store.seen_update(1, T0) is True
    assert store.seen_update(1, T0 + timedelta(seconds=5)) is False
    assert store.seen_update(2, T0) is True
    assert store.inbox_size() == 0  # recorded as done at once


def test_record_attempt_marks_its_update_done_in_the_same_transaction(store):
    add_user(store, 1)
    add_private_chat(store, 1)
    ask(store, 1, 10)
    store.inbox_add([update(70), update(71)], T0)
    assert answer(store, 1, 1, 10, inbox_update_id=70) is not None
    # a re-delivered answer is a duplicate, and its update is done all the same
    assert answer(store, 1, 1, 10, inbox_update_id=71) is None
    assert store.inbox_size() == 0


def test_a_failed_record_attempt_leaves_its_update_pending(store):
    add_user(store, 1)
    add_private_chat(store, 1)
    store.inbox_add([update(70)], T0)
    with pytest.raises(Exception, match="FOREIGN KEY"):
        answer(store, 1, 1, 999, inbox_update_id=70)  # no such question message
    assert [item.update_id for item in store.inbox_pending()] == [70]
