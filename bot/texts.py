"""Every text the bot shows, in one place. All output is Telegram HTML; every string that comes
from a user or from the content files goes through `esc` first."""

from __future__ import annotations

import html
import re

MAX_MESSAGE = 4096
VERDICT_ICON = {"correct": "✅", "partial": "🟡", "incorrect": "❌"}
VERDICT_WORD = {"correct": "Correct", "partial": "Partly right", "incorrect": "Not quite"}


def esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """Shorten plain (unescaped) text to at most `limit` UTF-16 units, ending in "…".

    Telegram's limits (4,096 per message, 200 per alert, 64 per button) count UTF-16 units,
    not Python characters; a cut never splits a surrogate pair.
    """
    text = str(text)
    if len(text) <= limit and utf16_len(text) <= limit:
        return text
    units = text.encode("utf-16-le")[: 2 * (limit - 1)]
    return units.decode("utf-16-le", errors="ignore") + "…"


_TAG_RE = re.compile(r"<[^>]+>")


def fit_html(text: str, limit: int = MAX_MESSAGE) -> tuple[str, str | None]:
    """Return (text, parse_mode) that Telegram accepts: HTML if it fits, else clipped plain text.

    Telegram applies its limit to the text *after* parsing the markup, in UTF-16 units, so
    tags and escapes do not count. Messages are built from bounded pieces, so this is a last
    line of defence, not a formatter.
    """
    if utf16_len(text) <= limit:
        return text, "HTML"
    plain = html.unescape(_TAG_RE.sub("", text))
    if utf16_len(plain) <= limit:
        return text, "HTML"
    return clip(plain, limit), None


def user_name(first_name: str | None, username: str | None) -> str:
    name = (first_name or "").strip() or (f"@{username}" if username else "someone")
    return esc(clip(name, 32))


COMMANDS_PRIVATE = [
    ("quiz", "a question now"),
    ("ask", "look up a topic: /ask dropout"),
    ("streak", "your current and longest streak"),
    ("stats", "your accuracy and weak spots"),
    ("settime", "daily question time: /settime 08:30"),
    ("timezone", "your time zone: /timezone Europe/Berlin"),
    ("level", "intermediate, advanced or all"),
    ("review", "drill the questions due for review"),
    ("interview", "a 5-question mock interview: /interview attention"),
    ("daystart", "when your day starts: /daystart 4"),
    ("reminders", "evening streak reminder on/off"),
    ("stop", "pause the daily question"),
    ("start", "subscribe again / how it works"),
    ("forget", "erase all your data"),
    ("help", "all commands with examples"),
]
COMMANDS_GROUP = [
    ("answer", "answer the group's question: /answer <text>"),
    ("top", "the group leaderboard"),
    ("ask", "look up a topic: /ask dropout"),
    ("quiz", "a question now (admins)"),
    ("interview", "a mock interview (admins): /interview next"),
    ("settime", "daily question time (admins)"),
    ("timezone", "group time zone (admins)"),
    ("level", "question level (admins)"),
    ("stop", "pause daily questions (admins)"),
    ("help", "how the study group works"),
]


def welcome(first_name: str | None, push_time: str, tz: str) -> str:
    return (
        f"👋 Hi {esc(clip(first_name or 'there', 32))}! I'm your deep-learning interview coach.\n\n"
        f"• Every day at <b>{esc(push_time)}</b> ({esc(tz)}) I send you one interview question.\n"
        "• Answer in your own words — I grade it by the key ideas, typos and all, and show the model answer.\n"
        "• Keep a 🔥 streak by answering every day.\n\n"
        "Try /quiz now, or /ask dropout. /help lists everything."
    )


def welcome_back(push_time: str, tz: str) -> str:
    return f"Welcome back! Daily questions are on again at <b>{esc(push_time)}</b> ({esc(tz)}). /quiz for one now."


HELP_PRIVATE = (
    "<b>How it works</b>\n"
    "I send a question; you reply in free text. I look for the key ideas of the model answer "
    "(typos and word forms are fine) and tell you what you covered and what you missed.\n\n"
    "<b>Commands</b>\n"
    "/quiz — a question now (buttons: 💡 Hint, 📖 Show answer, ➡️ Next)\n"
    "/ask &lt;topic&gt; — best question on a topic, e.g. <code>/ask vanishing grads</code>; /ask alone lists topics\n"
    "/answer &lt;text&gt; — answer explicitly (or just send the text)\n"
    "/review — drill the questions due for review (spaced repetition)\n"
    "/interview [topic|level] — five questions in a row, then a summary, e.g. <code>/interview attention</code>\n"
    "/streak — current and longest streak, streak freezes\n"
    "/stats — answered, accuracy, weak topics, days practised\n"
    "/settime 08:30 — when the daily question arrives\n"
    "/timezone Europe/Berlin — or an offset like <code>/timezone +05:30</code>\n"
    "/level intermediate | advanced | all\n"
    "/daystart 4 — your day starts at 04:00 (late-night answers count for the day before)\n"
    "/reminders on | off — one evening reminder when your streak is at risk\n"
    "/stop — pause daily questions (your data stays); /start resumes\n"
    "/forget — erase everything I know about you"
)
HELP_GROUP = (
    "<b>Study group</b>\n"
    "Every day I post one question here. <b>Reply to the question message</b> to answer "
    "(or write <code>/answer your text</code>). Each member is graded on their own, one answer each.\n\n"
    "/top — leaderboard (this week and all time)\n"
    "/ask &lt;topic&gt; — look up a topic\n"
    "Admins: /quiz, /settime 18:00, /timezone Europe/Paris, /level advanced, /stop, /start"
)


def group_welcome(push_time: str, tz: str) -> str:
    return (
        "👋 Hello, study group! I'll post one deep-learning interview question here every day at "
        f"<b>{esc(push_time)}</b> ({esc(tz)}).\n"
        "Answer by <b>replying to the question</b> (or <code>/answer your text</code>); everyone is graded "
        "on their own and /top shows the leaderboard. Admins can change the time with /settime."
    )


def question_text(question, *, daily: bool = False, group: bool = False) -> str:
    head = "📅 <b>Question of the day</b>" if daily else "❓ <b>Question</b>"
    level = esc(question.level)
    how = (
        "\n\n<i>Reply to this message to answer (or /answer your text).</i>"
        if group
        else "\n\n<i>Answer in your own words.</i>"
    )
    return f"{head} · {level}\n\n{esc(question.question)}{how}"


def model_answer(question) -> str:
    return f"📖 <b>Model answer</b>\n{esc(question.answer)}"


def _terms(items: list[str], limit: int = 12) -> str:
    return ", ".join(esc(clip(t, 60)) for t in items[:limit])


def verdict_private(question, grade, streak: int | None) -> str:
    lines = [f"{VERDICT_ICON[grade.verdict]} <b>{VERDICT_WORD[grade.verdict]}</b> — score {grade.score:.0%}"]
    if grade.keyword_list and grade.score >= 0.7:
        lines.append("<i>That's a list of keywords — explain how they fit together for full marks.</i>")
    if grade.matched:
        lines.append("Covered: " + ", ".join(f"<b>{esc(m.term)}</b>" for m in grade.matched))
    if grade.missed:
        lines.append("Missed: " + _terms(list(grade.missed)))
    if grade.negated:
        lines.append("<i>You said these don't apply: " + _terms(list(grade.negated)) + "</i>")
    if streak:
        lines.append(f"🔥 {streak}-day streak")
    lines.append("")
    lines.append(model_answer(question))
    return "\n".join(lines)


def verdict_group(name: str, grade, streak: int | None) -> str:
    text = f"{VERDICT_ICON[grade.verdict]} {name}: <b>{VERDICT_WORD[grade.verdict]}</b> ({grade.score:.0%})"
    if grade.matched:
        text += "\nCovered: " + _terms([m.term for m in grade.matched], 8)
    if streak:
        text += f"\n🔥 {streak}-day streak"
    return text


def verdict_group_line(name: str, grade, streak: int | None) -> str:
    """One member's verdict as a line of a merged group message (bot/group_verdicts.py)."""
    line = f"{VERDICT_ICON[grade.verdict]} {name}: <b>{VERDICT_WORD[grade.verdict]}</b> ({grade.score:.0%})"
    return line + (f" · 🔥 {streak}" if streak else "")


def merged_verdicts(lines: list[str]) -> str:
    return "📝 <b>Answers so far</b> (busy group: grouped into one message)\n" + "\n".join(lines)


def already_answered(verdict: str) -> str:
    return f"You already answered this one ({VERDICT_WORD.get(verdict, verdict).lower()}). /quiz for a new question."


def group_already_answered(name: str) -> str:
    return f"{name}, you already answered this question — one graded answer each. See you at the next one!"


NO_OPEN_QUESTION = "I don't have an open question for you. Send /quiz for one, or /ask &lt;topic&gt; to look something up."
NOT_REGISTERED = "Send /start first so I can keep your streak and scores."
EMPTY_ANSWER = "Your answer is empty — write it after the command, e.g. <code>/answer it randomly zeroes units…</code>"
STALE_BUTTON = "This question has expired — send /quiz for a new one."
HINT_NONE = "No hint for this one — think about what the model answer would have to mention."
REVEALED_COUNTS = "📖 Here is the model answer (this counts as a miss)."
STOPPED = "Paused: no more daily questions. Your data is kept — /start resumes."
FORGET_CONFIRM = "This erases all your answers, streaks and settings. There is no undo. Are you sure?"
FORGOTTEN = "Done — I erased everything I knew about you. /start if you ever want to come back."
FORGET_CANCELLED = "Nothing was erased."
ADMINS_ONLY = "Only group admins can change the group's settings."
SORRY = "Sorry, something went wrong on my side while handling that. Please try again."
UNKNOWN_COMMAND = "I don't know that command. /help lists what I can do."
FLOODED = "You're sending messages very fast — I'll ignore you for a minute. Take a breath! 🙂"
NOT_IN_GROUP = "That works in private chat with me."
TOO_LONG_NOTE = "(Your answer was very long; I graded the first 4,096 characters.)"

SETTIME_USAGE = "Give a time as HH:MM, e.g. <code>/settime 08:30</code>."
TIMEZONE_USAGE = "Give an IANA time zone or a UTC offset, e.g. <code>/timezone Europe/Berlin</code> or <code>/timezone +05:30</code>."
LEVEL_USAGE = "Choose one: <code>/level intermediate</code>, <code>/level advanced</code> or <code>/level all</code>."


def settime_done(push_time: str, tz: str) -> str:
    return f"⏰ Daily question at <b>{esc(push_time)}</b> ({esc(tz)})."


def timezone_done(tz: str, push_time: str) -> str:
    return f"🌍 Time zone set to <b>{esc(tz)}</b>. Daily question at {esc(push_time)} local time."


def level_done(level: str) -> str:
    return f"🎯 Level set to <b>{esc(level)}</b>."


def streak_text(current: int, longest: int) -> str:
    if current:
        return f"🔥 Current streak: <b>{current}</b> day{'s' if current != 1 else ''}\n🏆 Longest: {longest}"
    return f"No current streak — answer today's question to start one.\n🏆 Longest: {longest}"


def stats_text(stats: dict, topic_titles: dict[str, str]) -> str:
    answered = stats.get("answered", 0)
    if not answered:
        return "No answers yet — /quiz to get started."
    lines = [
        "📊 <b>Your stats</b>",
        f"Answered: {answered} · ✅ {stats.get('correct', 0)} · 🟡 {stats.get('partial', 0)} · ❌ {stats.get('incorrect', 0)}",
        f"Accuracy: {stats.get('accuracy', 0.0):.0%}",
        f"Days practised: {stats.get('days_practised', 0)}",
    ]
    per_topic = stats.get("per_topic") or {}
    weak = sorted(per_topic.items(), key=lambda kv: (kv[1]["accuracy"], -kv[1]["answered"]))[:3]
    weak = [(t, v) for t, v in weak if v["accuracy"] < 0.75]
    if weak:
        lines.append("Weak spots: " + ", ".join(f"{esc(topic_titles.get(t, t))} ({v['accuracy']:.0%})" for t, v in weak))
    return "\n".join(lines)


def leaderboard_text(week: list[dict], all_time: list[dict]) -> str:
    def rows(items: list[dict]) -> str:
        if not items:
            return "  nobody yet"
        medals = ["🥇", "🥈", "🥉"]
        out = []
        for i, r in enumerate(items):
            mark = medals[i] if i < 3 else f"{i + 1}."
            out.append(f"{mark} {user_name(r.get('first_name'), r.get('username'))} — {r['points']} pts")
        return "\n".join(out)

    return f"🏆 <b>This week</b>\n{rows(week)}\n\n<b>All time</b>\n{rows(all_time)}"


def ask_result(question, more: int) -> str:
    text = f"🔎 <b>{esc(question.question)}</b>\n\n{model_answer(question)}"
    if more:
        text += "\n\n<i>More on this topic below.</i>"
    return text


def ask_no_match(query: str, topics: list[str]) -> str:
    near = ", ".join(f"<code>{esc(t)}</code>" for t in topics)
    return f"I found nothing close to “{esc(clip(query, 80))}”. Closest topics: {near}. /ask alone lists them all."


def topic_list(titles: list[tuple[str, str]]) -> str:
    items = "\n".join(f"• {esc(title)} — <code>/ask {esc(slug.replace('-', ' '))}</code>" for slug, title in titles)
    return f"<b>Topics</b>\n{items}"


# ---------------------------------------------------------------- learning engine

REVIEW_NONE = "🎉 Nothing is due for review right now. /quiz for a new question."
REVIEW_DONE = "✨ All caught up — no more reviews due. See you tomorrow!"
DISPUTE_THANKS = "Thanks! A content author will look at this grade."
DISPUTE_NOT_YOURS = "You can only dispute your own grade."
INTERVIEW_RUNNING = "An interview is already running — answer the current question first."
INTERVIEW_NONE = "No interview is running here. Start one with /interview."
DAYSTART_USAGE = "Give the hour your day starts, 0–23, e.g. <code>/daystart 4</code> (a 1 a.m. answer then counts for the day before)."
REMINDERS_USAGE = "Use <code>/reminders on</code> or <code>/reminders off</code>."


def review_header(due: int) -> str:
    return f"🔁 <b>Review</b> · {due} due"


def freeze_used(count: int) -> str:
    days = "a missed day" if count == 1 else f"{count} missed days"
    return f"\n❄️ A streak freeze covered {days} — your streak lives on."


def streak_full(current: int, longest: int, freezes: int) -> str:
    text = streak_text(current, longest)
    return text + f"\n❄️ Freezes held: {freezes} of 2 (earn one every 7 days in a row)"


def daystart_done(hour: int) -> str:
    return f"🌅 Your day now starts at {hour:02d}:00 — answers before that count for the day before."


def reminders_done(on: bool) -> str:
    return "🔔 Evening reminders are on." if on else "🔕 Evening reminders are off."


def reminder(current: int) -> str:
    return (
        f"🔥 Your {current}-day streak is waiting for today's answer. "
        "One question keeps it alive — /quiz, or /reminders off to stop these."
    )


def interview_intro(label: str, n: int, group: bool) -> str:
    how = "Reply to each question; an admin moves on with <code>/interview next</code>." if group else "Answer each one; the next follows at once."
    return f"🎤 <b>Mock interview</b> · {esc(label)} · {n} questions\n{how} Take your time, but not too much. ⏱"


def interview_header(n: int, total: int) -> str:
    return f"🎤 <b>Interview question {n}/{total}</b>"


def interview_no_questions(arg: str) -> str:
    return f"I found no questions for “{esc(clip(arg, 60))}”. Try <code>/interview advanced</code> or <code>/interview attention</code>."


def interview_verdict(grade) -> str:
    covered = ", ".join(esc(m.term) for m in grade.matched[:6]) or "none of the key ideas"
    return f"{VERDICT_ICON[grade.verdict]} {VERDICT_WORD[grade.verdict]} ({grade.score:.0%}) — covered: {covered}"


def interview_summary(lines, total: float, strongest: list[str], weakest: list[str], review_topic: str | None) -> str:
    out = [f"🎤 <b>Interview summary</b> — overall {total:.0%}"]
    for n, question, verdict, score, answered in lines:
        mark = VERDICT_ICON.get(verdict, "❌") if answered else "⏭"
        out.append(f"{n}. {mark} {score:.0%} — {esc(clip(question, 70))}")
    if strongest:
        out.append("💪 Strongest: " + ", ".join(esc(t) for t in strongest))
    if weakest:
        out.append("🎯 Weakest: " + ", ".join(esc(t) for t in weakest))
    if review_topic:
        out.append(f"Review next: <code>/ask {esc(review_topic)}</code>, then /review.")
    return "\n".join(out)


def interview_group_summary(ranking: list[tuple[str, float]], n: int) -> str:
    if not ranking:
        return "🎤 <b>Interview over</b> — nobody answered this time."
    medals = ["🥇", "🥈", "🥉"]
    rows = [f"{medals[i] if i < 3 else str(i + 1) + '.'} {name} — {score:.1f} / {n}" for i, (name, score) in enumerate(ranking)]
    return "🎤 <b>Interview over</b>\n" + "\n".join(rows)
