"""Versioned schema migrations: numbered steps, ``PRAGMA user_version``.

Why ``PRAGMA user_version`` rather than a table (or sqlite-utils'
``Migrations`` helper, which records applied migrations by name in a
``_sqlite_migrations`` table):

* it lives in the file header, so "is this file newer than my code?" is one
  read that needs no table and writes nothing, which is what lets a newer
  file be refused without being touched;
* it is transactional: each step and its version bump commit together, so a
  crash can never leave a step applied but unrecorded (or the reverse);
* steps are ordered by number, so "version 5 > the 2 I know" is meaningful;
  a set of names cannot say whether an unknown name is newer or a typo.

Each step runs in its own ``BEGIN IMMEDIATE`` transaction that re-reads the
version first, so two processes starting at once cannot apply a step twice.
Steps never change: a schema change is a new step appended to MIGRATIONS.
(PRAGMA values cannot be bound as parameters; the only values formatted into
SQL here are integers from this module.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlite_utils

from ._sql import db_path, write_transaction
from .errors import SchemaTooNew, StorageError

# PRAGMA application_id marks the file as ours ("DLTB"), so the bot refuses
# to migrate some other program's SQLite database it was pointed at by mistake.
APPLICATION_ID = 0x444C5442

LEVELS = ("intermediate", "advanced", "all")
CHAT_TYPES = ("private", "group", "supergroup")
CHAT_STATUSES = ("active", "blocked", "left", "migrated")
SOURCES = ("daily", "quiz", "review", "ask", "interview")
VERDICTS = ("correct", "partial", "incorrect")
DISPUTE_STATUSES = ("open", "resolved")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


_BASE_SCHEMA = [
    f"""CREATE TABLE users (
        user_id      INTEGER PRIMARY KEY,
        first_name   TEXT,
        username     TEXT,
        language     TEXT,
        tz           TEXT,
        level        TEXT NOT NULL DEFAULT 'all' CHECK (level IN {_in(LEVELS)}),
        created_at   TEXT NOT NULL,
        last_seen_at TEXT NOT NULL
    )""",
    f"""CREATE TABLE chats (
        chat_id      INTEGER PRIMARY KEY,
        type         TEXT NOT NULL CHECK (type IN {_in(CHAT_TYPES)}),
        title        TEXT,
        tz           TEXT NOT NULL,
        push_time    TEXT NOT NULL CHECK (push_time GLOB '[0-2][0-9]:[0-5][0-9]'),
        level        TEXT NOT NULL DEFAULT 'all' CHECK (level IN {_in(LEVELS)}),
        subscribed   INTEGER NOT NULL DEFAULT 1 CHECK (subscribed IN (0, 1)),
        status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN {_in(CHAT_STATUSES)}),
        migrated_to  INTEGER,
        next_push_at TEXT,
        created_at   TEXT NOT NULL
    )""",
    # "Due chats" is a range scan over this partial index; the query must
    # repeat its WHERE clause verbatim for SQLite to use it.
    """CREATE INDEX chats_due ON chats(next_push_at)
        WHERE subscribed = 1 AND status = 'active'""",
    """CREATE TABLE deliveries (
        chat_id     INTEGER NOT NULL
                    REFERENCES chats(chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
        local_date  TEXT NOT NULL,
        question_id TEXT NOT NULL,
        message_id  INTEGER,
        state       TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'failed')),
        claimed_at  TEXT NOT NULL,
        sent_at     TEXT,
        PRIMARY KEY (chat_id, local_date)
    ) WITHOUT ROWID""",
    "CREATE INDEX deliveries_pending ON deliveries(claimed_at) WHERE state = 'pending'",
    f"""CREATE TABLE question_messages (
        chat_id     INTEGER NOT NULL
                    REFERENCES chats(chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
        message_id  INTEGER NOT NULL,
        question_id TEXT NOT NULL,
        source      TEXT NOT NULL CHECK (source IN {_in(SOURCES)}),
        user_id     INTEGER REFERENCES users(user_id) ON DELETE SET NULL,
        sent_at     TEXT NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX question_messages_recent ON question_messages(chat_id, sent_at)",
    # Only questions a user asked for carry a user_id; daily pushes do not.
    """CREATE INDEX question_messages_user ON question_messages(user_id)
        WHERE user_id IS NOT NULL""",
    f"""CREATE TABLE attempts (
        id                  INTEGER PRIMARY KEY,
        user_id             INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        chat_id             INTEGER NOT NULL,
        question_id         TEXT NOT NULL,
        question_message_id INTEGER NOT NULL,
        topic               TEXT,
        score               REAL NOT NULL,
        verdict             TEXT NOT NULL CHECK (verdict IN {_in(VERDICTS)}),
        matched             TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(matched)),
        used_hint           INTEGER NOT NULL DEFAULT 0 CHECK (used_hint IN (0, 1)),
        revealed            INTEGER NOT NULL DEFAULT 0 CHECK (revealed IN (0, 1)),
        points              INTEGER NOT NULL,
        answered_at         TEXT NOT NULL,
        local_date          TEXT NOT NULL,
        tz                  TEXT NOT NULL,
        day_start_hour      INTEGER NOT NULL DEFAULT 0,
        UNIQUE (user_id, chat_id, question_message_id),
        FOREIGN KEY (chat_id, question_message_id)
            REFERENCES question_messages(chat_id, message_id)
            ON DELETE CASCADE ON UPDATE CASCADE
    )""",
    # Covering index for leaderboards: chat + time range, then group by user.
    """CREATE INDEX attempts_leaderboard
        ON attempts(chat_id, answered_at, user_id, points, verdict)""",
    """CREATE TABLE streaks (
        user_id    INTEGER PRIMARY KEY REFERENCES users(user_id) ON DELETE CASCADE,
        current    INTEGER NOT NULL,
        longest    INTEGER NOT NULL,
        last_day   TEXT,
        last_at    TEXT,
        updated_at TEXT NOT NULL,
        CHECK (longest >= current)
    )""",
    """CREATE TABLE processed_updates (
        update_id INTEGER PRIMARY KEY,
        seen_at   TEXT NOT NULL
    )""",
    "CREATE INDEX processed_updates_seen ON processed_updates(seen_at)",
    """CREATE TABLE hints_used (
        user_id             INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        chat_id             INTEGER NOT NULL,
        question_message_id INTEGER NOT NULL,
        used_at             TEXT NOT NULL,
        PRIMARY KEY (user_id, chat_id, question_message_id),
        FOREIGN KEY (chat_id, question_message_id)
            REFERENCES question_messages(chat_id, message_id)
            ON DELETE CASCADE ON UPDATE CASCADE
    ) WITHOUT ROWID""",
    "CREATE INDEX hints_by_message ON hints_used(chat_id, question_message_id)",
    f"PRAGMA application_id = {APPLICATION_ID}",
]


def step_1_base_schema(db: sqlite_utils.Database) -> None:
    """Version 1: every table of the first release."""
    for sql in _BASE_SCHEMA:
        db.execute(sql)


def step_2_day_start_and_message_index(db: sqlite_utils.Database) -> None:
    """Version 2: per-user day start hour (a day may start at 04:00), and the
    index that makes the attempts → question_messages foreign key cheap to
    enforce when question messages are deleted or moved (chat migration)."""
    db.execute("""ALTER TABLE users ADD COLUMN day_start_hour INTEGER NOT NULL DEFAULT 0
                  CHECK (day_start_hour BETWEEN 0 AND 23)""")
    db.execute("CREATE INDEX attempts_by_message ON attempts(chat_id, question_message_id)")


_LEARNING_SCHEMA = [
    # Spaced repetition: one FSRS card per (learner, question), the fields of
    # fsrs' Card.to_dict() as columns (not a JSON blob) so "due cards of a
    # user" is an index range. Instants are our UTC ISO text, like everywhere.
    """CREATE TABLE cards (
        user_id     INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        question_id TEXT NOT NULL,
        card_id     INTEGER NOT NULL,
        state       INTEGER NOT NULL CHECK (state IN (1, 2, 3)),
        step        INTEGER,
        stability   REAL,
        difficulty  REAL,
        due         TEXT NOT NULL,
        last_review TEXT,
        reps        INTEGER NOT NULL DEFAULT 1 CHECK (reps >= 1),
        PRIMARY KEY (user_id, question_id)
    ) WITHOUT ROWID""",
    # WITHOUT ROWID: the index also holds the primary key, so it is really
    # (user_id, due, question_id), exactly the order due_cards returns.
    "CREATE INDEX cards_due ON cards(user_id, due)",
    """CREATE TABLE review_log (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        question_id TEXT NOT NULL,
        card_id     INTEGER NOT NULL,
        rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
        reviewed_at TEXT NOT NULL,
        duration    INTEGER,
        attempt_id  INTEGER REFERENCES attempts(id) ON DELETE SET NULL
    )""",
    "CREATE INDEX review_log_user ON review_log(user_id, question_id)",
    """CREATE INDEX review_log_attempt ON review_log(attempt_id)
        WHERE attempt_id IS NOT NULL""",
    # Freezes held (0..2; see streaks.py). Existing streaks start with none.
    """ALTER TABLE streaks ADD COLUMN freezes INTEGER NOT NULL DEFAULT 0
        CHECK (freezes BETWEEN 0 AND 2)""",
    # Reminder candidates are those whose last qualifying answer is recent.
    "CREATE INDEX streaks_recent ON streaks(last_at)",
    """ALTER TABLE users ADD COLUMN reminders INTEGER NOT NULL DEFAULT 1
        CHECK (reminders IN (0, 1))""",
    """CREATE TABLE reminders_sent (
        user_id    INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        local_date TEXT NOT NULL,
        sent_at    TEXT NOT NULL,
        PRIMARY KEY (user_id, local_date)
    ) WITHOUT ROWID""",
    """CREATE TABLE interviews (
        id             INTEGER PRIMARY KEY,
        chat_id        INTEGER NOT NULL
                       REFERENCES chats(chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
        user_id        INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        topic_or_level TEXT NOT NULL,
        question_ids   TEXT NOT NULL CHECK (json_valid(question_ids)),
        position       INTEGER NOT NULL DEFAULT 0 CHECK (position >= 0),
        started_at     TEXT NOT NULL,
        finished_at    TEXT
    )""",
    # At most one unfinished interview per (chat, user), enforced here so
    # that two racing /interview commands cannot both start one.
    """CREATE UNIQUE INDEX interviews_active ON interviews(chat_id, user_id)
        WHERE finished_at IS NULL""",
    "CREATE INDEX interviews_chat ON interviews(chat_id)",
    "CREATE INDEX interviews_user ON interviews(user_id)",
    # SET NULL: erasing the user who started a group interview must not
    # erase the question messages other members answered.
    """ALTER TABLE question_messages ADD COLUMN interview_id INTEGER
        REFERENCES interviews(id) ON DELETE SET NULL""",
    """CREATE INDEX question_messages_interview ON question_messages(interview_id)
        WHERE interview_id IS NOT NULL""",
    # A dispute is about one graded attempt, hence the foreign key to it
    # (whose UNIQUE also makes it one dispute per user per question message).
    f"""CREATE TABLE disputes (
        id                  INTEGER PRIMARY KEY,
        user_id             INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        chat_id             INTEGER NOT NULL,
        question_id         TEXT NOT NULL,
        question_message_id INTEGER NOT NULL,
        reply               TEXT NOT NULL,
        verdict             TEXT NOT NULL CHECK (verdict IN {_in(VERDICTS)}),
        score               REAL NOT NULL,
        matched             TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(matched)),
        missed              TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(missed)),
        status              TEXT NOT NULL DEFAULT 'open'
                            CHECK (status IN {_in(DISPUTE_STATUSES)}),
        created_at          TEXT NOT NULL,
        UNIQUE (user_id, chat_id, question_message_id),
        FOREIGN KEY (user_id, chat_id, question_message_id)
            REFERENCES attempts(user_id, chat_id, question_message_id)
            ON DELETE CASCADE ON UPDATE CASCADE
    )""",
    "CREATE INDEX disputes_open ON disputes(created_at) WHERE status = 'open'",
]


def step_3_learning_engine(db: sqlite_utils.Database) -> None:
    """Version 3: the learning engine. FSRS cards and their review log,
    streak freezes, evening reminders (per-user switch and a sent-once
    table), mock interviews (and the link from their question messages),
    and grading disputes. Existing rows keep their values: streaks start
    with 0 freezes, every user has reminders on."""
    for sql in _LEARNING_SCHEMA:
        db.execute(sql)


_INBOX_SCHEMA = [
    # Updates written down before they are confirmed to Telegram (issue 18). payload is the
    # update's JSON while pending and NULL once done: a done row only remembers the id, for
    # dedupe, until prune_inbox removes it (the payload may hold a learner's reply text).
    """CREATE TABLE inbox (
        update_id   INTEGER PRIMARY KEY,
        payload     TEXT,
        received_at TEXT NOT NULL,
        done_at     TEXT,
        CHECK ((done_at IS NULL) = (payload IS NOT NULL))
    )""",
    # Pending rows are few, done rows many until pruned: each has its own partial index.
    "CREATE INDEX inbox_pending ON inbox(update_id) WHERE done_at IS NULL",
    "CREATE INDEX inbox_done ON inbox(done_at) WHERE done_at IS NOT NULL",
    # The ids seen so far become done rows: dedupe carries on across the upgrade.
    """INSERT INTO inbox (update_id, payload, received_at, done_at)
        SELECT update_id, NULL, seen_at, seen_at FROM processed_updates""",
    "DROP TABLE processed_updates",
]


def step_4_inbox(db: sqlite_utils.Database) -> None:
    """Version 4: the durable inbox of updates, which also takes over the dedupe by update id
    that ``processed_updates`` did (its rows move over as done)."""
    for sql in _INBOX_SCHEMA:
        db.execute(sql)


ANNOUNCE_STATES = ("pending", "sent", "blocked", "failed", "unknown")
_ANNOUNCEMENT_SCHEMA = (
    """CREATE TABLE announcements (
        id                  INTEGER PRIMARY KEY,
        text                TEXT NOT NULL,
        created_by          INTEGER NOT NULL,
        created_at          TEXT NOT NULL,
        confirmed_at        TEXT,
        finished_at         TEXT,
        progress_chat_id    INTEGER,
        progress_message_id INTEGER
    )""",
    f"""CREATE TABLE announcement_sends (
        announcement_id INTEGER NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
        chat_id         INTEGER NOT NULL,
        state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN {_in(ANNOUNCE_STATES)}),
        message_id      INTEGER,
        at              TEXT,
        PRIMARY KEY (announcement_id, chat_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX announcement_sends_pending ON announcement_sends(announcement_id) WHERE state = 'pending'",
)


def step_5_announcements(db: sqlite_utils.Database) -> None:
    """Version 5: owners' announcements and the fate of each recipient (storage/admin.py)."""
    for sql in _ANNOUNCEMENT_SCHEMA:
        db.execute(sql)


_PROGRESS_SCHEMA = [
    # The weekly digest (issue 20): on by default, on the learner's chosen weekday (0 = Monday
    # .. 6 = Sunday, default Sunday). digest_week is the claim: the Monday (local date) of the
    # last week a digest was claimed for, moved forward once per week by a compare-and-set
    # (claim_digest), so two ticks or a restart never send a week's digest twice. Columns on
    # users rather than a table: erasing or exporting a learner covers them as they are.
    """ALTER TABLE users ADD COLUMN digest INTEGER NOT NULL DEFAULT 1
        CHECK (digest IN (0, 1))""",
    """ALTER TABLE users ADD COLUMN digest_weekday INTEGER NOT NULL DEFAULT 6
        CHECK (digest_weekday BETWEEN 0 AND 6)""",
    "ALTER TABLE users ADD COLUMN digest_week TEXT",
    # /history (a learner's newest attempts) and the /stats calendar read this range.
    "CREATE INDEX attempts_by_user ON attempts(user_id, answered_at)",
]


def step_6_progress(db: sqlite_utils.Database) -> None:
    """Version 6: the weekly digest's per-user switch, weekday and claim, and the index that
    /history and /stats read a learner's attempts by. Existing users get the digest on, on
    Sundays, not yet sent."""
    for sql in _PROGRESS_SCHEMA:
        db.execute(sql)


_REPLY_SCHEMA = [
    # Whether the learner was shown the verdict (issue 18: answers recorded during an outage
    # never got one, and re-answering only said "already answered"). NULL: not delivered (yet).
    "ALTER TABLE attempts ADD COLUMN reply_sent_at TEXT",
    # Attempts answered before this step were replied to as far as anyone can tell.
    "UPDATE attempts SET reply_sent_at = answered_at",
    # Only the few undelivered verdicts are in it: a learner's, or the oldest ones overall.
    """CREATE INDEX attempts_unreplied ON attempts(user_id, answered_at)
        WHERE reply_sent_at IS NULL""",
]


def step_7_reply_state(db: sqlite_utils.Database) -> None:
    """Version 7: ``attempts.reply_sent_at``, when the verdict reached the learner (NULL until
    it did), so a verdict an outage swallowed is delivered later. Existing attempts count as
    replied to."""
    for sql in _REPLY_SCHEMA:
        db.execute(sql)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    step_1_base_schema,
    step_2_day_start_and_message_index,
    step_3_learning_engine,
    step_4_inbox,
    step_5_announcements,
    step_6_progress,
    step_7_reply_state,
]


def schema_version(db: sqlite_utils.Database) -> int:
    """The number of migration steps applied to this file."""
    return int(db.conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database, target: int | None = None) -> int:
    """Apply the missing steps up to ``target`` (default: all), each in one
    transaction together with its version bump; return the final version.

    Raises SchemaTooNew (writing nothing) if the file is already newer than
    MIGRATIONS, and StorageError if a step fails (that step is rolled back,
    earlier steps stay applied and recorded).
    """
    known = len(MIGRATIONS)
    target = known if target is None else target
    if not 0 <= target <= known:
        raise ValueError(f"target version must be 0..{known}, got {target}")
    while True:
        with write_transaction(db):
            version = schema_version(db)
            if version > known:
                raise SchemaTooNew(
                    f"database schema version {version} is newer than this code "
                    f"supports ({known}); upgrade the bot", db_path(db))
            if version >= target:
                return version
            step = MIGRATIONS[version]
            try:
                step(db)
            except sqlite3.Error as exc:
                raise StorageError(
                    f"migration step {version + 1} ({step.__name__}) failed: {exc}",
                    db_path(db)) from exc
            db.execute(f"PRAGMA user_version = {int(version + 1)}")
