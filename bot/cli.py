"""`tutor-bot`: run the bot, tools for content authors (list, check, grade, ask) and for the
bot's owner (backup, doctor).

Every content command takes `--json` so scripts can use it; errors go to stderr with exit
code 2 (usage, or a missing database: no tool but `run` creates one) or 1 (content or database
problems), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from content import ContentError, find_questions, grade_reply, load_bank, read_bank
from content.bank import QUESTIONS_DIR, TOPICS_FILE

if TYPE_CHECKING:
    from storage.models import Dispute


def _out(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _bank(args):
    try:
        return load_bank(Path(args.questions), Path(args.topics))
    except ContentError as exc:
        print(f"error: the question bank has {len(exc.problems)} problem(s); run `tutor-bot content check`", file=sys.stderr)
        raise SystemExit(1) from None


def cmd_content_list(args) -> int:
    bank = _bank(args)
    if args.json:
        _out([q.to_dict() for q in bank.questions])
        return 0
    for q in bank.questions:
        print(f"{q.id:<36} {q.level:<12} {','.join(q.topics):<40} {q.question}")
    print(f"{len(bank)} questions", file=sys.stderr)
    return 0


def cmd_content_check(args) -> int:
    bank, problems = read_bank(Path(args.questions), Path(args.topics))
    if args.json:
        _out({"ok": not problems, "questions": len(bank), "problems": [asdict(p) for p in problems]})
    else:
        for p in problems:
            print(p)
        status = "OK" if not problems else f"{len(problems)} problem(s)"
        print(f"{len(bank)} questions, {len(bank.topics)} topics: {status}")
    return 1 if problems else 0


def _grade_one(bank, question_id: str, reply: str) -> dict:
    q = bank.get(question_id)
    if q is None:
        raise KeyError(question_id)
    return grade_reply(q, reply).to_dict()


def cmd_grade(args) -> int:
    bank = _bank(args)
    if args.batch:
        path = Path(args.batch)
        try:
            lines = sys.stdin if args.batch == "-" else path.open(encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot read {args.batch}: {exc.strerror}", file=sys.stderr)
            return 2
        status = 0
        with lines:
            for n, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    _out(_grade_one(bank, item["question_id"], item.get("reply", "")))
                except (json.JSONDecodeError, TypeError, KeyError) as exc:
                    _out({"line": n, "error": f"bad line: {exc.__class__.__name__}: {exc}"})
                    status = 2
        return status
    if not args.question_id or args.reply is None:
        print("error: give QUESTION_ID and \"reply text\" (or --batch FILE)", file=sys.stderr)
        return 2
    try:
        result = _grade_one(bank, args.question_id, args.reply)
    except KeyError:
        print(f"error: unknown question id {args.question_id!r} (see `tutor-bot content list`)", file=sys.stderr)
        return 2
    if args.json:
        _out(result)
    else:
        print(f"verdict: {result['verdict']}  score: {result['score']:.2f}  ({result['reason']})")
        for line in result["explanation"]:  # core ideas found and missed first, then details
            print(f"  {line}")
        for f in result["found"]:
            print(f"  + {f['term']}  ← “{f['text']}”")
    return 0


def cmd_ask(args) -> int:
    bank = _bank(args)
    hits = find_questions(bank, args.topic, limit=args.limit)
    if args.json:
        _out([{"question_id": h.question_id, "score": h.score, "question": h.question} for h in hits])
        return 0
    if not hits:
        from content import closest_topics

        near = ", ".join(bank.topic_titles[s] for s in closest_topics(bank, args.topic))
        print(f"no match for {args.topic!r}; closest topics: {near}")
        return 0
    for h in hits:
        print(f"{h.score:5.1f}  {h.question_id:<36} {h.question}")
    return 0


def _db_path(args) -> Path:
    """The database named by --db, TUTOR_DB or tutor.db (in the current directory, like the bot)."""
    import os

    return Path(args.db or os.environ.get("TUTOR_DB") or "tutor.db")


def _store(args):
    """The existing database named by --db, TUTOR_DB or tutor.db; a missing file is one line
    naming it and exit 2, a bad file one line and exit 1.

    Checked before Store.open, which creates a missing file: run from the wrong directory,
    `content disputes` used to create an empty tutor.db there and report "no open disputes".
    """
    from storage import StorageError, Store
    from storage.backup import MissingDatabase, require_database

    try:
        path = require_database(_db_path(args))
    except MissingDatabase as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        return Store.open(path)
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def cmd_export_reviews(args) -> int:
    """Every review, as the JSON list of ReviewLog dicts that py-fsrs's Optimizer reads."""
    from content.srs import optimizer_logs

    store = _store(args)
    try:
        records = store.review_logs()
    finally:
        store.close()
    logs = optimizer_logs([r.review_log() for r in records])
    text = json.dumps(logs, ensure_ascii=False, indent=None)
    if args.out and args.out != "-":
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {len(logs)} reviews to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text + "\n")
    return 0


def group_disputes(disputes: Iterable[Dispute]) -> dict[str, dict[str, Any]]:
    """Open disputes by question, then by missed key term: where an alias is probably missing."""
    grouped: dict[str, dict[str, Any]] = {}
    for d in disputes:
        entry = grouped.setdefault(d.question_id, {"count": 0, "missed": {}, "replies": []})
        entry["count"] += 1
        entry["replies"].append({"reply": d.reply or "", "verdict": d.verdict, "score": d.score})
        for term in d.missed:
            entry["missed"][term] = entry["missed"].get(term, 0) + 1
    return dict(sorted(grouped.items(), key=lambda kv: -kv[1]["count"]))


def cmd_content_disputes(args) -> int:
    store = _store(args)
    try:
        grouped = group_disputes(store.open_disputes())
    finally:
        store.close()
    if args.json:
        _out(grouped)
        return 0
    if not grouped:
        print("no open disputes")
        return 0
    for qid, entry in grouped.items():
        print(f"{qid}: {entry['count']} dispute(s)")
        for term, n in sorted(entry["missed"].items(), key=lambda kv: -kv[1]):
            print(f"  missed {term!r}: {n}")
        for r in entry["replies"][:5]:
            print(f"    [{r['verdict']}] {r['reply'][:120]!r}")
    return 0


def cmd_backup(args) -> int:
    """A consistent copy of the live database (storage/backup.py), integrity checked."""
    from storage.backup import DatabaseProblem, backup_database

    source = _db_path(args)
    progress = None
    if sys.stderr.isatty():
        def progress(done: int, total: int) -> None:
            sys.stderr.write(f"\rcopying {source}: {100 * done // max(total, 1)}%")
            sys.stderr.flush()
    try:
        result = backup_database(source, Path(args.path), progress=progress)
    except DatabaseProblem as exc:
        if progress is not None:
            sys.stderr.write("\n")
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if progress is not None:
        sys.stderr.write("\n")
    print(f"backed up {source.absolute()} to {result.path}: {result.pages} pages, "
          f"{result.bytes / 1048576:.1f} MiB, schema version {result.schema_version}, integrity ok, "
          f"{result.seconds:.2f} s")
    return 0


def cmd_doctor(args) -> int:
    """Settings, Telegram, database and question bank, one line per check (bot/doctor.py)."""
    import asyncio
    import logging
    import os

    from bot import doctor

    # httpx logs request URLs, which contain the token, at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    checks = asyncio.run(doctor.run_checks(
        dict(os.environ), db_path=_db_path(args), questions=Path(args.questions), topics=Path(args.topics),
        webhook_url=args.webhook_url))
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    for check in checks:
        print(doctor.redact(check.line(), [token]))
    return doctor.exit_code(checks)


def cmd_run(args) -> int:
    import logging

    from telegram.error import InvalidToken

    from bot.app import run

    # Nothing may escape as a bare traceback: Python would print it to stderr past the log's
    # token redaction, and PTB's InvalidToken message quotes the token in full.
    try:
        return run(webhook_url=args.webhook_url, listen=args.listen, port=args.port)
    except InvalidToken:
        print("error: Telegram rejected TELEGRAM_BOT_TOKEN (revoked or mistyped?); get the current one from @BotFather",
              file=sys.stderr)
        return 2
    except Exception:
        logging.getLogger("bot").critical("the bot stopped on an unexpected error", exc_info=True)
        return 1


def db_command(sub: Any, name: str, help_text: str, func: Any) -> argparse.ArgumentParser:
    """A subcommand that works on the database file (--db)."""
    command: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
    command.add_argument("--db", help="database path (default: $TUTOR_DB or tutor.db)")
    command.set_defaults(func=func)
    return command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tutor-bot", description="DL Tutor Bot: deep-learning interview coach on Telegram")
    parser.add_argument("--questions", default=str(QUESTIONS_DIR), help=argparse.SUPPRESS)
    parser.add_argument("--topics", default=str(TOPICS_FILE), help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the bot (long polling, or a webhook with --webhook-url)")
    run.add_argument("--webhook-url", help="public HTTPS URL Telegram should post updates to")
    run.add_argument("--listen", default="127.0.0.1", help="address the webhook server binds (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=8443, help="port the webhook server binds (default 8443)")
    run.set_defaults(func=cmd_run)

    content = sub.add_parser("content", help="inspect and validate the question bank")
    csub = content.add_subparsers(dest="content_command", required=True)
    lst = csub.add_parser("list", help="id, level, topics and question of every entry")
    lst.add_argument("--json", action="store_true", help="every field of every entry")
    lst.set_defaults(func=cmd_content_list)
    chk = csub.add_parser("check", help="validate the bank; exit 1 on problems")
    chk.add_argument("--json", action="store_true")
    chk.set_defaults(func=cmd_content_check)

    disputes = db_command(csub, "disputes", "open grading disputes by question and missed key term", cmd_content_disputes)
    disputes.add_argument("--json", action="store_true")

    export = db_command(sub, "export-reviews", "the review log as JSON for the FSRS optimizer", cmd_export_reviews)
    export.add_argument("--out", help="output file (default: standard output)")

    backup = db_command(sub, "backup", "copy the database while the bot runs, integrity checked", cmd_backup)
    backup.add_argument("path", help="the backup file, or a directory for a time-stamped file in it")

    doctor = db_command(sub, "doctor", "check the token, Telegram, the database and the question bank", cmd_doctor)
    doctor.add_argument("--webhook-url", help="the URL the bot runs with in webhook mode (default: polling)")

    grade = sub.add_parser("grade", help="grade a reply: tutor-bot grade QUESTION_ID \"reply\"")
    grade.add_argument("question_id", nargs="?")
    grade.add_argument("reply", nargs="?")
    grade.add_argument("--batch", metavar="FILE", help='JSON lines of {"question_id", "reply"}; one result per line')
    grade.add_argument("--json", action="store_true")
    grade.set_defaults(func=cmd_grade)

    ask = sub.add_parser("ask", help="find questions about a topic: tutor-bot ask \"dropout\"")
    ask.add_argument("topic")
    ask.add_argument("--limit", type=int, default=5)
    ask.add_argument("--json", action="store_true")
    ask.set_defaults(func=cmd_ask)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
