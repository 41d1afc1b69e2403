"""deploy/: the systemd unit is valid (systemd-analyze, where installed) and has the settings the
bot relies on; the environment file example names only settings the bot reads."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "tutor-bot.service"
BACKUP_UNIT = ROOT / "deploy" / "tutor-bot-backup.service"
BACKUP_TIMER = ROOT / "deploy" / "tutor-bot-backup.timer"
UNITS = [UNIT, BACKUP_UNIT, BACKUP_TIMER]
ENV_EXAMPLE = ROOT / "deploy" / "tutor-bot.env.example"
# The bot exits within this many seconds of SIGTERM (issue 21; test_faults_shutdown.py).
BOT_SHUTDOWN_BOUND = 10


def unit(path: Path = UNIT) -> configparser.ConfigParser:
    # strict: a key given twice would be a mistake here (systemd would take both or the last).
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def seconds(value: str) -> float:
    """A systemd time span: "30", "30s", "1min 30s"."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value)
    assert parts, value
    return sum(float(n) * units[u] for n, u in parts)


def test_the_unit_has_the_settings_the_bot_relies_on():
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert seconds(service["TimeoutStopSec"]) > BOT_SHUTDOWN_BOUND
    assert service.get("KillSignal", "SIGTERM") == "SIGTERM"
    assert service["ExecStart"].endswith("tutor-bot run")
    assert PurePosixPath(service["ExecStart"].split()[0]).is_absolute()

    # The token comes from a file; no leading "-": a missing file must stop the start.
    env_file = service["EnvironmentFile"]
    assert PurePosixPath(env_file).is_absolute() and not env_file.startswith("-")
    assert "TELEGRAM_BOT_TOKEN" not in UNIT.read_text(encoding="utf-8").split("[Service]")[1].replace(
        "EnvironmentFile", "")

    # The database is an absolute path inside the working directory, which is writable.
    workdir = PurePosixPath(service["WorkingDirectory"])
    env = dict(item.split("=", 1) for item in service["Environment"].split())
    db = PurePosixPath(env["TUTOR_DB"])
    assert workdir.is_absolute() and db.is_absolute() and db.parent == workdir
    assert str(workdir) in service["ReadWritePaths"].split()

    # A dedicated user, and hardening that leaves the bot what it needs.
    assert service["User"] not in ("", "root")
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert {"AF_INET", "AF_INET6"} <= set(service["RestrictAddressFamilies"].split())
    assert "MemoryDenyWriteExecute" not in service  # breaks libffi callbacks (ctypes, cffi)
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_the_backup_unit_writes_where_it_may_and_runs_daily():
    main = unit()["Service"]
    service = unit(BACKUP_UNIT)["Service"]
    assert service["Type"] == "oneshot"
    assert service["User"] == main["User"] and service["WorkingDirectory"] == main["WorkingDirectory"]
    assert service["Environment"].split()[0] == main["Environment"].split()[0]  # the same TUTOR_DB
    target = service["ExecStart"].split()[-1]
    assert service["ExecStart"].split()[-2] == "backup"
    # The backup directory is writable (inside ReadWritePaths) and created (StateDirectory).
    assert any(PurePosixPath(target).is_relative_to(p) for p in service["ReadWritePaths"].split())
    assert f"/var/lib/{service['StateDirectory'].split()[-1]}/" == target
    assert service["ProtectSystem"] == "strict" and service["PrivateNetwork"] == "yes"
    timer = unit(BACKUP_TIMER)
    assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here; the INI checks above still ran")
    for path in UNITS:
        # verify insists that ExecStart exists: point it at this checkout's interpreter.
        text = re.sub(r"^ExecStart=\S+", f"ExecStart={sys.executable} -m bot.cli",
                      path.read_text(encoding="utf-8"), flags=re.M)
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    result = subprocess.run([analyze, "verify", *(str(tmp_path / p.name) for p in UNITS)],
                            capture_output=True, text=True, timeout=60, check=False)
    # verify exits 0 even for unknown keys and bad values: it only warns, naming the file.
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "tutor-bot" in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


def test_the_environment_example_names_only_settings_the_bot_reads():
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert re.search(r"^TELEGRAM_BOT_TOKEN=", text, flags=re.M)
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.M))
    assert {"TELEGRAM_BOT_TOKEN", "TUTOR_DB", "LOG_FORMAT", "TUTOR_METRICS_PORT"} <= names
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").glob("*.py"))
    docs = owner_docs()
    for name in names:
        assert f'"{name}"' in source, f"{name} is in the example but the bot never reads it"
        assert name in docs, f"{name} is not documented"


def owner_docs() -> str:
    """The README, and docs/RUN_YOUR_OWN.md while it is a file of its own (it moves into the README)."""
    parts = [ROOT / "README.md", ROOT / "docs" / "RUN_YOUR_OWN.md"]
    return "\n".join(p.read_text(encoding="utf-8") for p in parts if p.exists())
