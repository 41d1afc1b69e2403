"""The `tutor-bot` command line: `run` as a real process, the way an owner or CI runs it; the
other commands in-process through `main()` (the same parsing, output and exit codes, without
a new interpreter and bank load for each test)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli
from content import load_bank

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def _cached_bank(questions: Path, topics: Path):
    return load_bank(questions, topics)


@pytest.fixture
def tutor(monkeypatch, capsys):
    """`tutor-bot ARGS` in-process: a CompletedProcess with the exit code, stdout and stderr."""
    monkeypatch.setattr(cli, "load_bank", _cached_bank)
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "TUTOR_")):
            monkeypatch.delenv(name)

    def run(*args: str) -> subprocess.CompletedProcess:
        try:
            code = cli.main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return run


def tutor_process(*args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TUTOR_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], check=False, cwd=ROOT, env=full_env, input=input,
        capture_output=True, text=True, timeout=120,
    )


def test_content_list_json_has_every_field(tutor):
    out = tutor("content", "list", "--json")
    assert out.returncode == 0, out.stderr
    entries = json.loads(out.stdout)
    assert len(entries) >= 30
    assert {"id", "level", "topics", "question", "answer", "key_terms", "hint"} <= set(entries[0])


def test_content_check_passes_on_the_shipped_bank(tutor):
    out = tutor("content", "check")
    assert out.returncode == 0, out.stdout
    assert "OK" in out.stdout


def test_content_check_fails_with_located_problems(tmp_path, tutor):
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "bad.toml").write_text('[[question]]\nid = "x"\nlevel = "guru"\n', encoding="utf-8")
    out = tutor("--questions", str(tmp_path / "q"), "content", "check", "--json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert not report["ok"]
    assert any(p["file"] == "bad.toml" and p["entry"] == "x" for p in report["problems"])


def test_grade_json(tutor):
    out = tutor("grade", "dropout-role", "Dropout randomly drops neurons in training to reduce overfitting", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert {"question_id", "verdict", "score", "matched", "missed"} <= set(result)
    assert result["question_id"] == "dropout-role"


def test_grade_unknown_id_is_a_clear_error(tutor):
    out = tutor("grade", "no-such-question", "text")
    assert out.returncode == 2
    assert "unknown question id 'no-such-question'" in out.stderr
    assert "Traceback" not in out.stderr


def test_grade_batch_keeps_order(tmp_path, tutor):
    lines = [{"question_id": "dropout-role", "reply": "x"}, {"question_id": "pooling-role", "reply": "max pooling"}]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    out = tutor("grade", "--batch", str(path))
    assert out.returncode == 0, out.stderr
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["question_id"] for r in results] == ["dropout-role", "pooling-role"]


def test_ask_json(tutor):
    out = tutor("ask", "dropout", "--json")
    assert out.returncode == 0
    hits = json.loads(out.stdout)
    assert hits and {"question_id", "score", "question"} <= set(hits[0])
    assert "dropout" in hits[0]["question_id"]


def test_run_without_token_is_one_line_and_exit_2():
    out = tutor_process("run")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in out.stderr and "Traceback" not in out.stderr


def test_run_with_corrupt_database_names_the_path(tmp_path):
    db = tmp_path / "tutor.db"
    db.write_bytes(b"this is not a database" * 100)
    before = db.read_bytes()
    out = tutor_process("run", env={"TELEGRAM_BOT_TOKEN": "1:x", "TUTOR_DB": str(db)})
    assert out.returncode == 1
    assert str(db) in out.stderr and "Traceback" not in out.stderr
    assert db.read_bytes() == before


def test_every_cli_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in ("tutor-bot run", "tutor-bot content list", "tutor-bot content check", "tutor-bot grade", "tutor-bot ask"):
        assert command in readme, command


# ---- the owner's tools never create a database by accident (issue 21)

def _in_process(*args: str) -> int:
    from bot.cli import main

    try:
        return main(list(args))
    except SystemExit as exc:  # the database helpers end a command this way
        return int(exc.code or 0)


MINI_BANK = ROOT / "tests" / "data" / "mini_bank"
READ_ONLY_COMMANDS = [
    ("content", "disputes"),
    ("export-reviews",),
    # doctor checks the small test bank: the shipped one takes a second to check
    ("--questions", str(MINI_BANK / "questions"), "--topics", str(MINI_BANK / "topics.toml"), "doctor"),
]


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS, ids=lambda c: c[-1])
def test_read_only_tools_refuse_a_missing_database_with_its_path(command, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("TUTOR_DB", raising=False)
    monkeypatch.chdir(tmp_path)  # the default, tutor.db in the current directory
    assert _in_process(*command) == 2
    out = capsys.readouterr()
    assert str(tmp_path / "tutor.db") in out.out + out.err
    monkeypatch.setenv("TUTOR_DB", str(tmp_path / "elsewhere" / "bot.db"))
    assert _in_process(*command) == 2
    assert str(tmp_path / "elsewhere" / "bot.db") in "".join(capsys.readouterr())
    assert _in_process(*command, "--db", str(tmp_path / "given.db")) == 2
    assert str(tmp_path / "given.db") in "".join(capsys.readouterr())
    assert list(tmp_path.iterdir()) == []


def test_an_empty_file_is_not_a_database_either(tmp_path, capsys):
    (tmp_path / "tutor.db").touch()
    assert _in_process("content", "disputes", "--db", str(tmp_path / "tutor.db")) == 2
    assert "empty" in capsys.readouterr().err
    assert (tmp_path / "tutor.db").stat().st_size == 0


def _database_with_history(path: Path) -> None:
    """The bot's schema (Store.open), then rows written as the bot would have; raw SQL with
    foreign keys off, so the test needs no users, chats or graded attempts."""
    import sqlite3

    from storage import Store

    Store.open(path).close()
    conn = sqlite3.connect(path)
    disputes = [("dropout-role", "it stops co-adaptation", ["regularization"]),
                ("dropout-role", "kills neurons", ["regularization", "overfitting"]),
                ("pooling-role", "makes it smaller", ["translation invariance"])]
    for n, (qid, reply, missed) in enumerate(disputes):
        conn.execute(
            """INSERT INTO disputes (user_id, chat_id, question_id, question_message_id, reply, verdict,
                                     score, matched, missed, status, created_at)
               VALUES (?, ?, ?, ?, ?, 'partial', 0.5, '[]', ?, 'open', ?)""",
            (n + 1, n + 1, qid, 100 + n, reply, json.dumps(missed), f"2026-03-0{n + 1}T08:00:00Z"))
    conn.execute("""INSERT INTO review_log (user_id, question_id, card_id, rating, reviewed_at, duration)
                    VALUES (1, 'dropout-role', 12345, 3, '2026-03-02T08:00:00Z', NULL)""")
    conn.commit()
    conn.close()


def test_disputes_are_grouped_by_question_and_missed_term(tmp_path, capsys):
    db = tmp_path / "tutor.db"
    _database_with_history(db)
    assert _in_process("content", "disputes", "--db", str(db), "--json") == 0
    grouped = json.loads(capsys.readouterr().out)
    assert list(grouped) == ["dropout-role", "pooling-role"]
    assert grouped["dropout-role"]["count"] == 2
    assert grouped["dropout-role"]["missed"] == {"regularization": 2, "overfitting": 1}
    assert grouped["dropout-role"]["replies"][0] == {"reply": "it stops co-adaptation", "verdict": "partial",
                                                     "score": 0.5}


def test_export_reviews_writes_the_optimizer_input(tmp_path, capsys):
    db = tmp_path / "tutor.db"
    _database_with_history(db)
    assert _in_process("export-reviews", "--db", str(db)) == 0
    logs = json.loads(capsys.readouterr().out)
    assert len(logs) == 1
    assert logs[0]["card_id"] == 12345 and logs[0]["rating"] == 3
    assert logs[0]["review_datetime"].startswith("2026-03-02T08:00:00")


def test_owner_commands_are_documented():
    docs = owner_docs()
    for command in ("tutor-bot backup", "tutor-bot doctor", "tutor-bot content disputes", "tutor-bot export-reviews"):
        assert command in docs, command


def owner_docs() -> str:
    """The README, and docs/RUN_YOUR_OWN.md while it is a file of its own (it moves into the README)."""
    parts = [ROOT / "README.md", ROOT / "docs" / "RUN_YOUR_OWN.md"]
    return "\n".join(p.read_text(encoding="utf-8") for p in parts if p.exists())
