import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from storage.db import SchemaTooNew, StorageError, open_db
from storage.errors import ReadOnlyDatabase
from storage.migrations import MIGRATIONS
from storage.store import Store

from storage_helpers import T0, add_user


def make_db(path: Path) -> Path:
    s = Store.open(path)
    for user_id in range(1, 300):
        add_user(s, user_id, name=f"user {user_id} " + "x" * 200)
    s.close()
    return path


def test_open_db_sets_wal_foreign_keys_busy_timeout_and_latest_schema(tmp_path):
    db = open_db(tmp_path / "bot.db")

    def pragma(name):
        return db.conn.execute(f"PRAGMA {name}").fetchone()[0]

    assert pragma("journal_mode") == "wal"
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == 5000
    assert pragma("user_version") == len(MIGRATIONS)
    assert {"users", "chats", "deliveries", "question_messages", "attempts", "streaks",
            "inbox", "hints_used"} <= set(db.table_names())
    db.close()


def test_open_db_connection_can_be_used_from_another_thread(tmp_path):
    import threading

    db = open_db(tmp_path / "bot.db")
    errors = []
    thread = threading.Thread(target=lambda: errors.append(
        db.conn.execute("SELECT count(*) FROM users").fetchone()))
    thread.start()
    thread.join()
    assert errors == [(0,)]
    db.close()


def test_reopening_keeps_data(tmp_path):
    make_db(tmp_path / "bot.db")
    s = Store.open(tmp_path / "bot.db")
    assert s.get_user(42).first_name.startswith("user 42")
    s.close()


def test_non_sqlite_file_raises_storage_error_naming_the_path_and_is_untouched(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 10)
    before = path.read_bytes()
    with pytest.raises(StorageError) as info:
        open_db(path)
    assert str(path) in str(info.value)
    assert "not a SQLite database" in str(info.value)
    assert path.read_bytes() == before


def test_short_file_is_rejected_as_not_sqlite(tmp_path):
    path = tmp_path / "tiny.db"
    path.write_bytes(b"SQLite format 3\x00")
    with pytest.raises(StorageError, match="not a SQLite database"):
        open_db(path)
    assert path.read_bytes() == b"SQLite format 3\x00"


def test_corrupt_schema_page_raises_storage_error_and_file_is_untouched(tmp_path):
    path = make_db(tmp_path / "bot.db")
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xde\xad\xbe\xef" * ((4096 - 100) // 4)  # rest of page 1 (schema)
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError) as info:
        open_db(path)
    assert str(path) in str(info.value)
    assert "corrupt" in str(info.value)
    assert path.read_bytes() == bytes(data)


def test_corrupt_data_page_is_caught_by_quick_check_and_file_is_untouched(tmp_path):
    path = make_db(tmp_path / "bot.db")
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    last_page = len(data) // page_size - 1
    start = last_page * page_size
    data[start:start + page_size] = b"\x0d" + b"\xff" * (page_size - 1)
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match="corrupt") as info:
        open_db(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == bytes(data)


def test_newer_schema_raises_schema_too_new_and_never_alters_the_file(tmp_path):
    path = make_db(tmp_path / "bot.db")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 7}")
    conn.execute("PRAGMA journal_mode = DELETE")  # so the file alone is the database
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew) as info:
        open_db(path)
    message = str(info.value)
    assert str(path) in message and "newer" in message and "upgrade" in message
    assert isinstance(info.value, StorageError)
    assert path.read_bytes() == before


def test_another_applications_sqlite_file_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="another application"):
        open_db(path)
    assert path.read_bytes() == before


def test_missing_directory_raises_storage_error_naming_the_path(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "bot.db"
    with pytest.raises(StorageError) as info:
        open_db(path)
    assert str(path) in str(info.value)
    assert not path.parent.exists()


def test_path_that_is_a_directory_raises_storage_error(tmp_path):
    with pytest.raises(StorageError, match="not a regular file"):
        open_db(tmp_path)


def test_read_only_location_raises_storage_error():
    # /proc refuses new files even for root, unlike a chmod-ed directory
    with pytest.raises(StorageError) as info:
        open_db("/proc/dl-tutor-bot-test.db")
    assert "/proc/dl-tutor-bot-test.db" in str(info.value)


def read_only_dir(path: Path) -> Path:
    """chmod 555 a directory; skip if this process can write there anyway
    (root with CAP_DAC_OVERRIDE ignores permission bits)."""
    path.mkdir(exist_ok=True)
    path.chmod(0o555)
    try:
        (path / "probe").touch()
    except PermissionError:
        return path
    (path / "probe").unlink()
    path.chmod(0o755)
    pytest.skip("this process ignores directory permissions (root)")


def test_read_only_directory_raises_storage_error(tmp_path):
    ro = read_only_dir(tmp_path / "ro")
    try:
        with pytest.raises(StorageError) as info:
            open_db(ro / "bot.db")
        assert str(ro / "bot.db") in str(info.value)
    finally:
        ro.chmod(0o755)


def test_existing_database_in_read_only_directory_raises_storage_error(tmp_path):
    (tmp_path / "ro").mkdir()
    path = make_db(tmp_path / "ro" / "bot.db")
    before = path.read_bytes()
    ro = read_only_dir(tmp_path / "ro")
    try:
        with pytest.raises(StorageError):
            open_db(path)
    finally:
        ro.chmod(0o755)
    assert path.read_bytes() == before


def test_a_database_this_process_cannot_write_is_called_read_only(tmp_path, monkeypatch):
    path = make_db(tmp_path / "bot.db")
    monkeypatch.setattr("storage.db.os.access", lambda p, mode: Path(p) != path)
    with pytest.raises(ReadOnlyDatabase, match="database file is read-only") as info:
        open_db(path)
    assert "corrupt" not in str(info.value) and str(path) in str(info.value)


def test_a_database_in_a_directory_this_process_cannot_write_is_called_read_only(tmp_path, monkeypatch):
    path = make_db(tmp_path / "bot.db")
    monkeypatch.setattr("storage.db.os.access", lambda p, mode: Path(p) != tmp_path)
    with pytest.raises(ReadOnlyDatabase, match="directory is read-only"):
        open_db(path)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root, to open the file as another user with setpriv")
def test_a_wal_database_another_user_cannot_write_is_called_read_only_not_corrupt():
    """Issue 18: a read-only database was reported as "corrupt". Here the file is writable but
    its directory is not, for the user who opens it: SQLite could not create the -shm file and
    failed the first read with SQLITE_READONLY_DIRECTORY."""
    directory = Path(tempfile.mkdtemp(prefix="dltb-ro-"))  # pytest's tmp_path is private to root
    directory.chmod(0o755)
    path = make_db(directory / "bot.db")
    path.chmod(0o666)
    code = ("import sys\nfrom storage.db import open_db, StorageError\n"
            "try:\n    open_db(sys.argv[1])\nexcept StorageError as exc:\n    print(exc)\n")
    out = subprocess.run(
        ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", sys.executable,
         "-c", code, str(path)],
        capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=60)
    shutil.rmtree(directory)
    assert "read-only" in out.stdout and "corrupt" not in out.stdout, out.stdout + out.stderr


def test_storage_errors_from_store_methods_name_the_path(tmp_path):
    s = Store.open(tmp_path / "bot.db")
    with pytest.raises(StorageError) as info:
        # a question message for a chat that does not exist violates a foreign key
        s.record_question_message(999, 1, "q", "quiz", None, T0)
    assert str(tmp_path / "bot.db") in str(info.value)
    assert "FOREIGN KEY" in str(info.value)
    s.close()


def test_verify_false_skips_quick_check_but_still_checks_the_header(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("hello " * 100)
    with pytest.raises(StorageError):
        open_db(path, verify=False)
