"""The stored streak: record_attempt keeps it equal to the rules of content/streaks.py replayed
over the stored attempts."""

import tempfile
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from content.streaks import recompute
from storage.store import Store

from storage_helpers import add_private_chat, add_user, answer, ask
from test_streaks import attempt_steps, build, day_steps, starts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=starts, steps=attempt_steps | day_steps)
def test_stored_streak_after_record_attempt_equals_recompute_over_stored_attempts(start, steps):
    with tempfile.TemporaryDirectory() as tmp:
        s = Store.open(Path(tmp) / "bot.db", verify=False)
        try:
            add_user(s, 7, now=start)
            add_private_chat(s, 7, now=start)
            for number, (moment, tz, dsh, qualifying) in enumerate(build(start, steps), 1):
                ask(s, 7, number, now=moment)
                answer(s, 7, 7, number, now=moment, tz=tz, day_start_hour=dsh,
                       verdict="partial" if qualifying else "incorrect")
            stored = s.streak_state(7)
            history = [
                (row["answered_at"], row["tz"], row["day_start_hour"],
                 row["verdict"] != "incorrect")
                for row in s.export_user(7)["attempts"]
            ]
        finally:
            s.close()
    expected = recompute([(datetime.fromisoformat(a), tz, dsh, q) for a, tz, dsh, q in history])
    assert stored == expected
    assert stored.longest >= stored.current
