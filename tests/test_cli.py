"""The `tutor-bot` command line, run as a real process the way an author or CI would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tutor(*args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TUTOR_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=full_env, input=input,
        capture_output=True, text=True, timeout=120,
    )


def test_content_list_json_has_every_field():
    out = tutor("content", "list", "--json")
    assert out.returncode == 0, out.stderr
    entries = json.loads(out.stdout)
    assert len(entries) >= 30
    assert {"id", "level", "topics", "question", "answer", "key_terms", "hint"} <= set(entries[0])


def test_content_check_passes_on_the_shipped_bank():
    out = tutor("content", "check")
    assert out.returncode == 0, out.stdout
    assert "OK" in out.stdout


def test_content_check_fails_with_located_problems(tmp_path):
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "bad.toml").write_text('[[question]]\nid = "x"\nlevel = "guru"\n', encoding="utf-8")
    out = tutor("--questions", str(tmp_path / "q"), "content", "check", "--json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert not report["ok"]
    assert any(p["file"] == "bad.toml" and p["entry"] == "x" for p in report["problems"])


def test_grade_json():
    out = tutor("grade", "dropout-role", "Dropout randomly drops neurons in training to reduce overfitting", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert {"question_id", "verdict", "score", "matched", "missed"} <= set(result)
    assert result["question_id"] == "dropout-role"


def test_grade_unknown_id_is_a_clear_error():
    out = tutor("grade", "no-such-question", "text")
    assert out.returncode == 2
    assert "unknown question id 'no-such-question'" in out.stderr
    assert "Traceback" not in out.stderr


def test_grade_batch_keeps_order(tmp_path):
    lines = [{"question_id": "dropout-role", "reply": "x"}, {"question_id": "pooling-role", "reply": "max pooling"}]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    out = tutor("grade", "--batch", str(path))
    assert out.returncode == 0, out.stderr
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["question_id"] for r in results] == ["dropout-role", "pooling-role"]


def test_ask_json():
    out = tutor("ask", "dropout", "--json")
    assert out.returncode == 0
    hits = json.loads(out.stdout)
    assert hits and {"question_id", "score", "question"} <= set(hits[0])
    assert "dropout" in hits[0]["question_id"]


def test_run_without_token_is_one_line_and_exit_2():
    out = tutor("run")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in out.stderr and "Traceback" not in out.stderr


def test_run_with_corrupt_database_names_the_path(tmp_path):
    db = tmp_path / "tutor.db"
    db.write_bytes(b"this is not a database" * 100)
    before = db.read_bytes()
    out = tutor("run", env={"TELEGRAM_BOT_TOKEN": "1:x", "TUTOR_DB": str(db)})
    assert out.returncode == 1
    assert str(db) in out.stderr and "Traceback" not in out.stderr
    assert db.read_bytes() == before


def test_every_cli_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in ("tutor-bot run", "tutor-bot content list", "tutor-bot content check", "tutor-bot grade", "tutor-bot ask"):
        assert command in readme, command
