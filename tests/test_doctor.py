"""`tutor-bot doctor` against the project's fake Bot API on 127.0.0.1: no network, no real
token. Each check's line, its fix, the exit code, and the token never shown."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.doctor import Check, Limits, Status, exit_code, run_checks
from storage.backup import code_schema_version
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
MINI_BANK = ROOT / "tests" / "data" / "mini_bank"


class FakeTelegramWithWebhook(FakeTelegram):
    """The project's fake server plus getWebhookInfo (it answers unknown methods with `true`)."""

    webhook_url = ""
    last_error: tuple[int, str] | None = None

    async def api_getWebhookInfo(self, params):
        from tests.fake_telegram import _ok

        info = {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": 3}
        if self.last_error:
            info["last_error_date"], info["last_error_message"] = self.last_error
        return _ok(info)


@pytest.fixture
async def tg():
    server = await FakeTelegramWithWebhook().start()
    yield server
    await server.stop()


@pytest.fixture
def healthy_db(tmp_path) -> Path:
    from storage import Store

    path = tmp_path / "tutor.db"
    Store.open(path).close()
    return path


def env_for(tg: FakeTelegram, **extra: str) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_BASE_URL": tg.base_url, **extra}


async def doctor(env, db, **kwargs) -> list[Check]:
    kwargs.setdefault("questions", MINI_BANK / "questions")
    kwargs.setdefault("topics", MINI_BANK / "topics.toml")
    return await run_checks(env, db_path=db, **kwargs)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def assert_no_token(checks: list[Check], token: str) -> None:
    for check in checks:
        assert token not in check.line()
        assert token.split(":")[1] not in check.line()


async def test_all_well(tg, healthy_db):
    checks = await doctor(env_for(tg), healthy_db)
    assert [c.status for c in checks] == [Status.OK] * len(checks), "\n".join(c.line() for c in checks)
    assert exit_code(checks) == 0
    names = [c.name for c in checks]
    assert names == ["settings", "Telegram reachable", "token", "webhook", "database", "schema",
                     "disk space", "WAL", "question bank"]
    found = by_name(checks)
    assert "@dl_tutor_test_bot" in found["token"].detail
    assert "polls" in found["webhook"].detail and "3 update(s) waiting" in found["webhook"].detail
    assert f"version {code_schema_version()}" in found["schema"].detail
    assert all(c.line().startswith("✓ ") for c in checks)
    assert_no_token(checks, tg.token)
    assert ("getMe", {}) in [(m, p) for m, p in tg.calls]


async def test_a_rejected_token_is_named_with_its_fix_and_never_shown(tg, healthy_db):
    wrong = "999999:WRONG-token-that-telegram-does-not-know"
    checks = await doctor(env_for(tg, TELEGRAM_BOT_TOKEN=wrong), healthy_db)
    found = by_name(checks)
    assert found["Telegram reachable"].status is Status.OK  # it answered 401
    assert found["token"].status is Status.FAILED
    assert "@BotFather" in found["token"].fix
    assert found["token"].line().startswith("✗ token: ") and " — fix: " in found["token"].line()
    assert exit_code(checks) == 1
    assert_no_token(checks, wrong)


async def test_telegram_unreachable(healthy_db):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"TELEGRAM_BOT_TOKEN": "123:secret-token-value", "TELEGRAM_BASE_URL": f"http://127.0.0.1:{port}/bot"}
    checks = await doctor(env, healthy_db, limits=Limits(telegram_timeout=2.0))
    found = by_name(checks)
    assert found["Telegram reachable"].status is Status.FAILED
    assert f"127.0.0.1:{port}" in found["Telegram reachable"].detail
    assert "TELEGRAM_BASE_URL" in found["Telegram reachable"].fix
    assert found["token"].status is Status.SKIPPED
    assert exit_code(checks) == 1
    assert_no_token(checks, "123:secret-token-value")


async def test_a_webhook_set_while_polling(tg, healthy_db):
    tg.webhook_url = "https://example.org/hook"
    found = by_name(await doctor(env_for(tg), healthy_db))
    assert found["webhook"].status is Status.FAILED
    assert "https://example.org/hook" in found["webhook"].detail
    assert "webhook mode" in found["webhook"].fix


async def test_webhook_mode_expects_its_url_and_reports_recent_delivery_errors(tg, healthy_db):
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    tg.webhook_url = "https://bot.example.org/hook"
    found = by_name(await doctor(env_for(tg), healthy_db, webhook_url="https://bot.example.org/hook", now=now))
    assert found["webhook"].status is Status.OK
    tg.last_error = (int((now - timedelta(minutes=2)).timestamp()), "Connection refused")
    found = by_name(await doctor(env_for(tg), healthy_db, webhook_url="https://bot.example.org/hook", now=now))
    assert found["webhook"].status is Status.FAILED and "Connection refused" in found["webhook"].detail
    found = by_name(await doctor(env_for(tg), healthy_db, webhook_url="https://other.example.org/", now=now))
    assert found["webhook"].status is Status.FAILED and "--webhook-url" in found["webhook"].fix


async def test_no_token_skips_telegram(healthy_db):
    checks = await doctor({}, healthy_db)
    found = by_name(checks)
    assert found["settings"].status is Status.FAILED and "TELEGRAM_BOT_TOKEN" in found["settings"].detail
    assert found["Telegram"].status is Status.SKIPPED
    assert found["database"].status is Status.OK
    assert exit_code(checks) == 1


async def test_a_missing_database_is_exit_2_and_not_created(tg, tmp_path):
    db = tmp_path / "nowhere" / "tutor.db"
    checks = await doctor(env_for(tg), db)
    found = by_name(checks)
    assert found["database"].status is Status.FAILED and str(db) in found["database"].detail
    assert "TUTOR_DB" in found["database"].fix
    assert found["disk space"].status is Status.FAILED  # its directory does not exist either
    assert exit_code(checks) == 2
    assert not db.parent.exists()

    db = tmp_path / "tutor.db"
    checks = await doctor(env_for(tg), db)
    assert exit_code(checks) == 2
    assert by_name(checks)["disk space"].status is Status.OK
    assert list(tmp_path.iterdir()) == []


async def test_a_corrupt_database(tg, healthy_db):
    from tests.test_backup import corrupt, make_live_db

    healthy_db.unlink()
    make_live_db(healthy_db)
    corrupt(healthy_db)
    checks = await doctor(env_for(tg), healthy_db)
    found = by_name(checks)
    assert found["database"].status is Status.FAILED and "corrupt" in found["database"].detail
    assert "restore the newest good backup" in found["database"].fix
    assert "\n" not in found["database"].line()
    assert exit_code(checks) == 1


async def test_a_file_that_is_not_sqlite(tg, tmp_path):
    db = tmp_path / "tutor.db"
    db.write_bytes(b"hello" * 100)
    found = by_name(await doctor(env_for(tg), db))
    assert found["database"].status is Status.FAILED and "not a SQLite database" in found["database"].detail
    assert db.read_bytes() == b"hello" * 100


async def test_schema_newer_than_the_code_and_someone_elses_file(tg, healthy_db, tmp_path):
    conn = sqlite3.connect(healthy_db)
    conn.execute(f"PRAGMA user_version = {code_schema_version() + 1}")
    conn.close()
    found = by_name(await doctor(env_for(tg), healthy_db))
    assert found["schema"].status is Status.FAILED and "newer" in found["schema"].detail

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("PRAGMA application_id = 42")
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    found = by_name(await doctor(env_for(tg), other))
    assert found["schema"].status is Status.FAILED and "another program" in found["schema"].detail


async def test_an_older_schema_is_fine_the_bot_migrates_it(tg, healthy_db):
    conn = sqlite3.connect(healthy_db)
    conn.execute(f"PRAGMA user_version = {code_schema_version() - 1}")
    conn.close()
    found = by_name(await doctor(env_for(tg), healthy_db))
    assert found["schema"].status is Status.OK and "migrates" in found["schema"].detail


async def test_low_disk_space_and_a_large_wal(tg, healthy_db):
    reader_conn = sqlite3.connect(healthy_db)  # a WAL file exists while the bot runs
    reader_conn.execute("PRAGMA journal_mode = WAL")
    reader_conn.execute("CREATE TABLE filler (x)")
    reader_conn.execute("INSERT INTO filler VALUES (zeroblob(100000))")
    reader_conn.commit()
    limits = Limits(min_free_bytes=2**62, max_wal_bytes=1000)
    found = by_name(await doctor(env_for(tg), healthy_db, limits=limits))
    reader_conn.close()
    assert found["disk space"].status is Status.FAILED and "free in" in found["disk space"].detail
    assert found["WAL"].status is Status.FAILED and "long read" in found["WAL"].fix


async def test_a_broken_question_bank(tg, healthy_db, tmp_path):
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "bad.toml").write_text('[[question]]\nid = "x"\nlevel = "guru"\n', encoding="utf-8")
    found = by_name(await doctor(env_for(tg), healthy_db, questions=tmp_path / "q"))
    assert found["question bank"].status is Status.FAILED
    assert "tutor-bot content check" in found["question bank"].fix


async def test_the_command_prints_one_line_per_check_and_never_the_token(tg, healthy_db, monkeypatch, capsys):
    """`tutor-bot doctor` as an owner runs it: output and exit code. In a worker thread, since
    the command runs its own event loop and the fake server lives in this one."""
    from bot.cli import main

    for name, value in env_for(tg, TUTOR_DB=str(healthy_db)).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "424242:a-token-telegram-rejects")
    code = await asyncio.to_thread(main, ["--questions", str(MINI_BANK / "questions"), "--topics",
                                          str(MINI_BANK / "topics.toml"), "doctor"])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    lines = out.splitlines()
    assert len(lines) == 8 and all(line[:2] in ("✓ ", "✗ ", "– ") for line in lines), out
    assert any(line.startswith("✗ token:") and "— fix:" in line for line in lines)
    assert "a-token-telegram-rejects" not in out + err and err == ""
