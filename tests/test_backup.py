"""`tutor-bot backup`: a consistent copy while the bot writes, a restore that reads it back, and
one clear line (and exit code) for every bad input."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.cli import main
from storage.backup import (
    BadTarget,
    CorruptDatabase,
    DatabaseProblem,
    MissingDatabase,
    backup_database,
    backup_step_problem,
    code_schema_version,
)


def make_live_db(path: Path, rows: int = 2000) -> None:
    """A WAL database shaped like the bot's: application id, schema version, a table with
    enough pages that the backup takes several steps."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA application_id = 1145852994")
    conn.execute(f"PRAGMA user_version = {code_schema_version()}")
    conn.execute("CREATE TABLE answers (id INTEGER PRIMARY KEY, writer TEXT NOT NULL, body TEXT NOT NULL)")
    conn.execute("CREATE INDEX answers_writer ON answers(writer, id)")
    with conn:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO answers (writer, body) VALUES ('seed', ?)", [("x" * 300,)] * rows)
    conn.close()


def corrupt(path: Path) -> None:
    """Keep the header (so it still looks like SQLite) and scribble over the pages behind it."""
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page, 3 * page):
        data[start + 100:start + 1100] = b"\xa5" * 1000
    path.write_bytes(bytes(data))


def test_backup_while_another_thread_writes_then_restore_reads_it_back(tmp_path):
    live = tmp_path / "tutor.db"
    make_live_db(live)
    stop = threading.Event()
    written: list[int] = []
    wrote = threading.Condition()

    def writer() -> None:
        conn = sqlite3.connect(live, isolation_level=None, timeout=5)
        n = 0
        while not stop.is_set():
            n += 1
            conn.execute("INSERT INTO answers (writer, body) VALUES ('bot', ?)", (f"answer {n}",))
            with wrote:
                written.append(n)
                wrote.notify_all()
        conn.close()

    steps = []

    def progress(done: int, total: int) -> None:
        steps.append((done, total))
        if len(steps) in (2, 5, 9):
            # Mid-copy, let the bot commit a few more answers before the next step.
            with wrote:
                target = len(written) + 5
                assert wrote.wait_for(lambda: len(written) >= target, timeout=5), "the writer stalled"

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        # Small steps, so the writer commits between them: the copy must still be one snapshot.
        result = backup_database(live, tmp_path / "b.db", pages_per_step=8, progress=progress)
    finally:
        stop.set()
        thread.join()
    done = [d for d, _ in steps]
    assert len(done) > 9 and done[-1] == steps[-1][1]
    # Never restarted by the bot's commits (SQLite restarts a backup whose source changed
    # between steps; the pinned read snapshot is what lets it finish under constant writes).
    assert done == sorted(set(done))
    assert result.schema_version == code_schema_version()

    # Restore: copy the backup over a fresh path, as the docs say, and read the data back.
    restored = tmp_path / "restored" / "tutor.db"
    restored.parent.mkdir()
    shutil.copyfile(result.path, restored)
    assert not Path(str(result.path) + "-wal").exists(), "the backup must be one self-contained file"
    conn = sqlite3.connect(restored)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("SELECT count(*) FROM answers WHERE writer = 'seed'").fetchone()[0] == 2000
    bot_rows = [row[0] for row in conn.execute("SELECT body FROM answers WHERE writer = 'bot' ORDER BY id")]
    # A consistent snapshot: the bot's rows it holds are a prefix of what the writer committed.
    assert bot_rows == [f"answer {n}" for n in range(1, len(bot_rows) + 1)]
    assert len(bot_rows) + 15 <= len(written), "answers committed during the copy are not in it"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == 1145852994
    assert conn.execute("PRAGMA user_version").fetchone()[0] == code_schema_version()
    conn.close()


def test_the_restored_file_opens_in_the_bot_storage(tmp_path):
    from storage import Store

    live = tmp_path / "tutor.db"
    Store.open(live).close()
    result = backup_database(live, tmp_path / "copy.db")
    restored = tmp_path / "again.db"
    shutil.copyfile(result.path, restored)
    Store.open(restored).close()  # checks header, schema version, quick_check; migrates nothing


def test_backup_into_a_directory_gets_a_time_stamped_name(tmp_path):
    live = tmp_path / "tutor.db"
    make_live_db(live, rows=10)
    (tmp_path / "backups").mkdir()
    result = backup_database(live, tmp_path / "backups")
    assert result.path.parent == tmp_path / "backups"
    assert result.path.name.startswith("tutor-") and result.path.suffix == ".db"
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [result.path.name]  # no temporary left


def test_an_older_backup_is_replaced_but_never_a_file_that_is_not_a_database(tmp_path):
    live = tmp_path / "tutor.db"
    make_live_db(live, rows=10)
    first = backup_database(live, tmp_path / "b.db")
    second = backup_database(live, tmp_path / "b.db")
    assert first.path == second.path
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    with pytest.raises(BadTarget, match="not a SQLite database"):
        backup_database(live, notes)
    assert notes.read_text() == "my notes"


def test_refuses_to_overwrite_the_live_database(tmp_path, monkeypatch):
    live = tmp_path / "tutor.db"
    make_live_db(live, rows=10)
    before = live.read_bytes()
    monkeypatch.chdir(tmp_path)
    for target in (live, Path("tutor.db"), Path("./tutor.db"), Path(f"{live}-wal")):
        with pytest.raises(BadTarget, match="live database") as exc:
            backup_database("tutor.db", target)
        assert exc.value.exit_code == 2
    (tmp_path / "link.db").symlink_to(live)
    with pytest.raises(BadTarget, match="live database"):
        backup_database(live, tmp_path / "link.db")
    assert live.read_bytes() == before


def test_missing_source_is_exit_2_and_creates_nothing(tmp_path):
    with pytest.raises(MissingDatabase, match=str(tmp_path / "nope.db")) as exc:
        backup_database(tmp_path / "nope.db", tmp_path / "b.db")
    assert exc.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_unwritable_target_directory(tmp_path):
    live = tmp_path / "tutor.db"
    make_live_db(live, rows=10)
    with pytest.raises(BadTarget, match="does not exist") as exc:
        backup_database(live, tmp_path / "no" / "such" / "b.db")
    assert exc.value.exit_code == 2
    with pytest.raises(BadTarget, match="not a directory"):
        backup_database(live, live / "b.db")


def test_a_directory_nobody_may_write_into(tmp_path):
    """/proc refuses new files even to root (CI runs as root, where a chmod 500 directory is
    still writable); a chmod 500 directory covers it for everyone else."""
    import os

    live = tmp_path / "tutor.db"
    make_live_db(live, rows=10)
    targets = []
    if Path("/proc/self").is_dir():
        targets.append(Path("/proc/self/tutor-backup.db"))
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        targets.append(locked / "b.db")
    if not targets:
        pytest.skip("no unwritable directory on this system")
    for target in targets:
        with pytest.raises(BadTarget, match="cannot write the backup") as exc:
            backup_database(live, target)
        assert exc.value.exit_code == 2 and str(target.parent) in str(exc.value)


def test_corrupt_source_is_reported_and_leaves_no_backup(tmp_path):
    live = tmp_path / "tutor.db"
    make_live_db(live)
    corrupt(live)
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(CorruptDatabase, match="corrupt") as exc:
        backup_database(live, target / "b.db")
    assert exc.value.exit_code == 1
    assert list(target.iterdir()) == []


def test_a_file_that_is_not_sqlite_is_corrupt(tmp_path):
    live = tmp_path / "tutor.db"
    live.write_bytes(b"not a database" * 100)
    with pytest.raises(CorruptDatabase, match="not a SQLite database"):
        backup_database(live, tmp_path / "b.db")


@pytest.mark.parametrize(
    ("error", "name", "kind", "code"),
    [
        (sqlite3.DatabaseError, "SQLITE_CORRUPT", CorruptDatabase, 1),
        (sqlite3.DatabaseError, "SQLITE_NOTADB", CorruptDatabase, 1),
        (sqlite3.OperationalError, "SQLITE_FULL", BadTarget, 2),
        (sqlite3.OperationalError, "SQLITE_BUSY", DatabaseProblem, 1),
        (sqlite3.OperationalError, "SQLITE_IOERR_READ", DatabaseProblem, 1),
    ],
)
def test_a_failed_backup_step_is_named_by_its_cause(error, name, kind, code):
    """A full disk under the target is not a corrupt database (SQLite raises both from the
    same backup step)."""
    exc = error("boom")
    exc.sqlite_errorname = name
    problem = backup_step_problem(exc, Path("/data/tutor.db"), Path("/backups"))
    assert type(problem) is kind and problem.exit_code == code
    assert ("/backups" if kind is BadTarget else "/data/tutor.db") in str(problem)


# ---- through the command line (in-process: the parsing, messages and exit codes)

def test_cli_backup_prints_one_line(tmp_path, capsys):
    live = tmp_path / "tutor.db"
    make_live_db(live, rows=10)
    assert main(["backup", "--db", str(live), str(tmp_path / "b.db")]) == 0
    out = capsys.readouterr()
    assert out.out.count("\n") == 1 and "integrity ok" in out.out and str(tmp_path / "b.db") in out.out


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        ("missing", 2, "no database at"),
        ("live", 2, "refusing to overwrite the live database"),
        ("no-dir", 2, "does not exist"),
        ("corrupt", 1, "is corrupt"),
    ],
)
def test_cli_backup_errors_are_one_line_with_exit_codes(tmp_path, capsys, monkeypatch, case, code, message):
    live = tmp_path / "tutor.db"
    if case != "missing":
        make_live_db(live)
    if case == "corrupt":
        corrupt(live)
    target = {"live": live, "no-dir": tmp_path / "none" / "b.db"}.get(case, tmp_path / "b.db")
    monkeypatch.setenv("TUTOR_DB", str(live))
    assert main(["backup", str(target)]) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert "Traceback" not in err
