"""Every text the bot shows, in one place. All output is Telegram HTML; every string that comes
from a user or from the content files goes through `esc` first."""

from __future__ import annotations

import calendar
import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from content import Grade, Question
    from content.tutor import AnswerOutcome, InterviewSummary
    from storage.models import AttemptResult, Chat, DigestSettings, LeaderboardRow, User, UserStats

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
    """A member's name in a message: `plain_user_name`, escaped for HTML."""
    return esc(plain_user_name(first_name, username))


COMMANDS_PRIVATE = [
    ("quiz", "a question now: /quiz, /quiz attention, /quiz weak"),
    ("skip", "I don't know: show the model answer"),
    ("ask", "look up a topic: /ask dropout"),
    ("review", "drill the questions due for review"),
    ("interview", "a 5-question mock interview: /interview attention"),
    ("streak", "your current and longest streak"),
    ("stats", "your progress as a picture"),
    ("history", "your last 10 answers and what you missed"),
    ("settings", "all your settings"),
    ("settime", "daily question time: /settime 08:30"),
    ("timezone", "your time zone: /timezone Europe/Berlin"),
    ("level", "intermediate, advanced or all"),
    ("daystart", "when your day starts: /daystart 4"),
    ("reminders", "evening streak reminder on/off"),
    ("digest", "weekly digest on/off, or its day: /digest sunday"),
    ("stop", "pause the daily question"),
    ("start", "subscribe again / how it works"),
    ("forget", "erase all your data"),
    ("help", "all commands with examples"),
]
COMMANDS_GROUP = [
    ("answer", "answer the group's question: /answer <text>"),
    ("top", "the group leaderboard"),
    ("ask", "look up a topic: /ask dropout"),
    ("stats", "your own stats in this group"),
    ("quiz", "a question now (admins)"),
    ("interview", "a mock interview (admins): /interview next"),
    ("settings", "the group's settings"),
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
    "I send a question; you reply in free text. I listen for the core ideas of the model answer "
    "(typos, abbreviations and word forms are fine) and tell you what you covered and what you missed.\n\n"
    "<b>Commands</b>\n"
    "/quiz — a question now; <code>/quiz attention</code> for a topic, <code>/quiz weak</code> for your weakest\n"
    "/skip — I don't know: the model answer (or press 🤷, or just write \"idk\")\n"
    "/ask &lt;topic&gt; — best question on a topic, e.g. <code>/ask vanishing grads</code>; /ask alone lists topics\n"
    "/answer &lt;text&gt; — answer explicitly (or just send the text)\n"
    "/review — drill the questions due for review (spaced repetition)\n"
    "/interview [topic|level] — five questions in a row, then a summary; <code>/interview stop</code> ends it\n"
    "/streak — current and longest streak, streak freezes\n"
    "/stats — your progress as a picture: practice calendar, topics, reviews due\n"
    "/history — your last 10 answers; press one for the model answer and what you missed\n"
    "/settings — all your settings at once\n"
    "/settime 08:30 — when the daily question arrives\n"
    "/timezone Europe/Berlin — or an offset like <code>/timezone +05:30</code>\n"
    "/level intermediate | advanced | all\n"
    "/daystart 4 — your day starts at 04:00 (late-night answers count for the day before)\n"
    "/reminders on | off — one evening reminder when your streak is at risk\n"
    "/digest on | off | sunday — a weekly summary on that evening (on by default, Sundays)\n"
    "/stop — pause daily questions (your data stays); /start resumes\n"
    "/forget — erase everything I know about you\n\n"
    "Each setting command without a value shows the current one."
)
HELP_GROUP = (
    "<b>Study group</b>\n"
    "Every day I post one question here. <b>Reply to the question message</b> to answer "
    "(or write <code>/answer your text</code>). Each member is graded on their own, one answer each.\n\n"
    "/top — leaderboard (this week and all time)\n"
    "/ask &lt;topic&gt; — look up a topic · /stats — your stats here · /settings — the group's settings\n"
    "Admins: /quiz, /interview, /settime 18:00, /timezone Europe/Paris, /level advanced, /stop, /start"
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


NO_OPEN_QUESTION = "I don't have an open question for you. Send /quiz for one, or /ask &lt;topic&gt; to look something up."
NOT_REGISTERED = "Send /start first so I can keep your streak and scores."
EMPTY_ANSWER = "Your answer is empty — write it after the command, e.g. <code>/answer it randomly zeroes units…</code>"
STALE_BUTTON = "This question has expired — send /quiz for a new one."
HINT_NONE = "No hint for this one — think about what the model answer would have to mention."
STOPPED = "Paused: no more daily questions. Your data is kept — /start resumes."
FORGET_CONFIRM = "This erases all your answers, streaks and settings. There is no undo. Are you sure?"
FORGOTTEN = "Done — I erased everything I knew about you. /start if you ever want to come back."
FORGET_CANCELLED = "Nothing was erased."
SORRY = "Sorry, something went wrong on my side while handling that. Please try again."
NOT_SAVED = "I couldn't save that just now — please send it again in a minute. 🙏"
UNKNOWN_COMMAND = "I don't know that command. /help lists what I can do."
FLOODED = "You're sending messages very fast — I'll ignore you for a minute. Take a breath! 🙂"
NOT_IN_GROUP = "That works in private chat with me."
TOO_LONG_NOTE = "(Your answer was very long; I graded the first 4,096 characters.)"

# How to set each setting: said by its usage text (a missing or bad value) and with its current value.
_SET_EXAMPLE = {
    "settime": "<code>/settime 08:30</code>",
    "timezone": "<code>/timezone Europe/Berlin</code> or <code>/timezone +05:30</code>",
    "daystart": "<code>/daystart 4</code>",
    "reminders": "<code>/reminders on</code> or <code>/reminders off</code>",
}
SETTIME_USAGE = f"Give a time as HH:MM, e.g. {_SET_EXAMPLE['settime']}."
TIMEZONE_USAGE = f"Give an IANA time zone or a UTC offset, e.g. {_SET_EXAMPLE['timezone']}."
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
REVIEW_PASSED = "That was every due card. The ones you passed over with ➡️ Next wait for your next /review."
DISPUTE_THANKS = "Thanks! A content author will look at this grade."
DISPUTE_NOT_YOURS = "You can only dispute your own grade."
INTERVIEW_RUNNING = "An interview is already running — answer the current question first."
INTERVIEW_NONE = "No interview is running here. Start one with /interview."
DAYSTART_USAGE = f"Give the hour your day starts, 0–23, e.g. {_SET_EXAMPLE['daystart']} (a 1 a.m. answer then counts for the day before)."
REMINDERS_USAGE = f"Use {_SET_EXAMPLE['reminders']}."


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


def interview_header(n: int, total: int) -> str:
    return f"🎤 <b>Interview question {n}/{total}</b>"


def interview_no_questions(arg: str) -> str:
    return f"I found no questions for “{esc(clip(arg, 60))}”. Try <code>/interview advanced</code> or <code>/interview attention</code>."


def interview_group_summary(ranking: list[tuple[str, float]], n: int) -> str:
    if not ranking:
        return "🎤 <b>Interview over</b> — nobody answered this time."
    medals = ["🥇", "🥈", "🥉"]
    rows = [f"{medals[i] if i < 3 else str(i + 1) + '.'} {name} — {score:.1f} / {n}" for i, (name, score) in enumerate(ranking)]
    return "🎤 <b>Interview over</b>\n" + "\n".join(rows)


# ---------------------------------------------------------------- buttons

BUTTON_HINT = "💡 Hint"
BUTTON_SKIP = "🤷 I don't know"
BUTTON_SHOW = "📖 Show answer"
BUTTON_NEXT = "➡️ Next"
BUTTON_STOP = "⏹ Stop"
BUTTON_DISPUTE = "🙋 I think I was right"
BUTTON_MODEL_ANSWER = "📖 Model answer"
BUTTON_FORGET_YES = "🗑 Yes, erase everything"
BUTTON_CANCEL = "Cancel"
BUTTON_GRADE_IT = "✅ Grade it"
BUTTON_NOT_ANSWER = "💬 Not an answer"
REPLY_PLACEHOLDER = "Your answer…"


def summary_button(number: int) -> str:
    return f"📖 {number}"


# ---------------------------------------------------------------- the conversation

NOT_TEXT = "I can only grade text answers — please type your answer. 🙂"
NOT_YOURS = "That button is for the person who wrote the message."
EDIT_NOT_REGRADED = "I don't re-grade edited answers — send your improved answer as a new message to the next question."
_COMES_BACK = "This question comes back soon for another try (not counted as an attempt)."
SKIPPED = f"🤷 No problem — here is the model answer. {_COMES_BACK}"
GROUP_SKIPPED = "🤷 Skipped — not counted as an attempt. 📖 below shows the model answer."
REVEALED = f"📖 Here is the model answer. {_COMES_BACK}"


def title(question: Question) -> str:
    """A question's short title: how verdicts and prompts name it."""
    return esc(clip(question.question, 70))


def admins_only(what: str) -> str:
    return f"Only group admins can {esc(what)}."


def not_an_answer(question: Question, kind: str) -> str:
    lead = "That looks like a question for me — I'm a quiz tutor, so try /ask &lt;topic&gt; to look things up." if kind == "question" else "🙂"
    return f"{lead}\nI'm waiting for your answer to <b>{title(question)}</b> — write it in your own words, or use the buttons."


def is_this_your_answer(question: Question) -> str:
    return f"Is this your answer to <b>{title(question)}</b>?"


def question_closed(question: Question) -> str:
    return f"<b>{title(question)}</b> was an earlier day's question and is closed now. /quiz for a fresh one."


def quiz_no_topic(arg: str, weak: bool) -> str:
    if weak:
        return "Answer a few questions first — then <code>/quiz weak</code> picks your weakest topic."
    return f"I know no topic like “{esc(clip(arg, 60))}”. /ask alone lists the topics."


def already_answered(verdict: str, question: Question) -> str:
    word = VERDICT_WORD.get(verdict, verdict).lower()
    return f"You already answered <b>{title(question)}</b> ({word}). /quiz for a new question."


def group_already_answered(name: str) -> str:
    return f"{name}, you already answered this question — one graded answer each. See you at the next one!"


def _terms(items: Sequence[str], limit: int = 12) -> str:
    return ", ".join(esc(clip(t, 60)) for t in list(items)[:limit])


def _moments(result: AttemptResult) -> list[str]:
    from content.tutor import streak_moments

    lines = []
    for moment in streak_moments(current=result.streak.current, new_day=result.is_new_day,
                                 freezes_used=result.freezes_used, freezes_held=result.streak.freezes):
        if moment == "freeze_used":
            lines.append(freeze_used(result.freezes_used).strip())
        elif moment == "freeze_earned":
            lines.append("❄️ 7 days in a row — you earned a streak freeze!")
        elif moment.startswith("milestone:"):
            lines.append(f"🏅 {moment.split(':')[1]}-day streak — a milestone!")
    return lines


def grade_lines(grade: Grade) -> list[str]:
    """Core ideas found, contradicted and missing first, then the details also worth saying."""
    lines = []
    if grade.core_found:
        lines.append("Core ideas you covered: " + ", ".join(f"<b>{esc(t)}</b>" for t in grade.core_found))
    if grade.contradicted:
        lines.append("⚠️ You said the opposite of: " + _terms(grade.contradicted))
    missing = [t for t in grade.core_missed if t not in grade.contradicted]
    if missing:
        lines.append("Core ideas missing: " + _terms(missing))
    if grade.details_missed:
        lines.append("Also worth saying: " + _terms(grade.details_missed, 6))
    return lines


def verdict_head(outcome: AnswerOutcome) -> str:
    return f"{VERDICT_ICON[outcome.verdict]} <b>{VERDICT_WORD[outcome.verdict]}</b> — {outcome.score:.0%}"


def verdict_private(question: Question, outcome: AnswerOutcome, result: AttemptResult) -> str:
    lines = [f"{verdict_head(outcome)} · <i>{title(question)}</i>"]
    if outcome.truncated:
        lines.append(TOO_LONG_NOTE)
    grade = outcome.grade
    if grade is not None:
        if grade.keyword_list and outcome.verdict == "correct":
            lines.append("<i>That's a list of keywords — explain how they fit together in an interview.</i>")
        lines += grade_lines(grade)
    if result.streak.current:
        lines.append(f"🔥 {result.streak.current}-day streak")
    lines += _moments(result)
    lines += ["", model_answer(question)]
    return "\n".join(lines)


def verdict_group(name: str, question: Question, outcome: AnswerOutcome, result: AttemptResult) -> str:
    text = f"{VERDICT_ICON[outcome.verdict]} {name}: <b>{VERDICT_WORD[outcome.verdict]}</b> ({outcome.score:.0%}) · <i>{title(question)}</i>"
    if outcome.matched:
        text += "\nCovered: " + _terms(outcome.matched, 8)
    if result.streak.current:
        text += f"\n🔥 {result.streak.current}-day streak"
    for line in _moments(result):
        text += "\n" + line
    return text


def verdict_group_line(name: str, outcome: AnswerOutcome, result: AttemptResult) -> str:
    """One member's verdict as a line of a merged group message (bot/group_verdicts.py)."""
    line = f"{VERDICT_ICON[outcome.verdict]} {name}: <b>{VERDICT_WORD[outcome.verdict]}</b> ({outcome.score:.0%})"
    return line + (f" · 🔥 {result.streak.current}" if result.streak.current else "")


def merged_verdicts(lines: list[str]) -> str:
    return "📝 <b>Answers so far</b> (busy group: grouped into one message)\n" + "\n".join(lines)


# ---------------------------------------------------------------- settings and progress


def settime_current(push_time: str, tz: str) -> str:
    return f"⏰ The daily question comes at <b>{esc(push_time)}</b> ({esc(tz)}). Change it with {_SET_EXAMPLE['settime']}."


def timezone_current(tz: str) -> str:
    return f"🌍 Time zone: <b>{esc(tz)}</b>. Change it with {_SET_EXAMPLE['timezone']}."


def level_current(level: str) -> str:
    return f"🎯 Level: <b>{esc(level)}</b>. Change it with <code>/level intermediate</code>, <code>advanced</code> or <code>all</code>."


def daystart_current(hour: int) -> str:
    return f"🌅 Your day starts at <b>{hour:02d}:00</b>. Change it with {_SET_EXAMPLE['daystart']}."


def reminders_current(on: bool) -> str:
    state = "on" if on else "off"
    return f"🔔 Evening reminders are <b>{state}</b>. {_SET_EXAMPLE['reminders']}."


def settings_overview(chat: Chat, learner: User | None, digest: DigestSettings | None = None) -> str:
    lines = [
        "⚙️ <b>Settings</b>",
        f"⏰ Daily question: <b>{esc(chat.push_time)}</b> — /settime",
        f"🌍 Time zone: <b>{esc(chat.tz)}</b> — /timezone",
        f"🎯 Level: <b>{esc(chat.level)}</b> — /level",
        f"📬 Daily question: <b>{'on' if chat.subscribed else 'paused'}</b> — /stop, /start",
    ]
    if learner is not None:
        lines.append(f"🌅 Day starts: <b>{learner.day_start_hour:02d}:00</b> — /daystart")
        lines.append(f"🔔 Evening reminders: <b>{'on' if learner.reminders else 'off'}</b> — /reminders")
    if digest is not None:
        day = calendar.day_name[digest.weekday]
        lines.append(f"📬 Weekly digest: <b>{f'on, {day} evenings' if digest.on else 'off'}</b> — /digest")
    return "\n".join(lines)


def stats_text(stats: UserStats, topic_titles: dict[str, str]) -> str:
    if not stats.answered:
        return "No answers yet — /quiz to get started."
    lines = [
        "📊 <b>Your stats</b>",
        f"Answered: {stats.answered} · ✅ {stats.correct} · 🟡 {stats.partial} · ❌ {stats.incorrect}",
        f"Accuracy: {stats.accuracy:.0%}",
        f"Days practised: {stats.days_practised}",
    ]
    weak = sorted(stats.per_topic, key=lambda t: (t.accuracy, -t.answered))[:3]
    weak = [t for t in weak if t.accuracy < 0.75]
    if weak:
        lines.append("Weak spots: " + ", ".join(f"{esc(topic_titles.get(t.topic, t.topic))} ({t.accuracy:.0%})" for t in weak))
        lines.append("Practise the weakest with <code>/quiz weak</code>.")
    return "\n".join(lines)


def leaderboard_text(week: Sequence[LeaderboardRow], all_time: Sequence[LeaderboardRow]) -> str:
    def rows(items: Sequence[LeaderboardRow]) -> str:
        if not items:
            return "  nobody yet"
        medals = ["🥇", "🥈", "🥉"]
        return "\n".join(f"{medals[i] if i < 3 else f'{i + 1}.'} {user_name(r.first_name, r.username)} — {r.points} pts"
                         for i, r in enumerate(items))

    return f"🏆 <b>This week</b>\n{rows(week)}\n\n<b>All time</b>\n{rows(all_time)}"


# ---------------------------------------------------------------- progress: /stats picture, /history, weekly digest

STATS_NO_ANSWERS = (
    "📊 No answers yet — your practice calendar, topics and review forecast appear here "
    "after your first one. /quiz for a question now!"
)
HISTORY_EMPTY = "📜 No answers yet — /quiz for a first question, and your answers will be listed here."
HISTORY_GONE = "That answer is no longer in your history."
DIGEST_USAGE = (
    "Use <code>/digest on</code>, <code>/digest off</code>, or a weekday for it to arrive on, "
    "e.g. <code>/digest sunday</code>."
)
WEEKDAY_TITLES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _short_date(day: Any) -> str:
    return f"{WEEKDAY_TITLES[day.weekday()][:3]} {day.day} {day.strftime('%b')}"


def stats_caption(view: Any) -> str:
    """The caption under the /stats picture: the headline numbers (a content.progress.StatsView)."""
    return "\n".join([
        "📊 <b>Your progress</b>",
        f"🔥 Streak: <b>{_days(view.current)}</b> · longest {_days(view.longest)}",
        f"✍️ Answered: <b>{view.answered}</b> · accuracy <b>{view.accuracy:.0%}</b>",
        f"🔁 Reviews due today: <b>{view.due_today}</b> · tomorrow: <b>{view.due_tomorrow}</b>",
    ])


def mastery_title(title: str, accuracy_only: bool) -> str:
    """A topic's label in the picture (plain text, drawn, never parsed as HTML); a topic with no
    FSRS cards, in a picture of retrievability, says its number is accuracy."""
    return f"{title} (accuracy)" if accuracy_only else title


def plain_user_name(first_name: str | None, username: str | None) -> str:
    """A member's name for a picture: drawn as plain text, so not escaped (compare user_name)."""
    return clip((first_name or "").strip() or (f"@{username}" if username else "someone"), 32)


def leaderboard_caption() -> str:
    return "🏆 <b>Leaderboard</b> — this week and all time. Answer the daily question to climb!"


def history_list(rows: Sequence[tuple[Any, Question | None]]) -> str:
    """/history: (attempt, question or None if it left the bank), newest first."""
    lines = ["📜 <b>Your last answers</b>, newest first"]
    for number, (attempt, question) in enumerate(rows, 1):
        name = title(question) if question is not None else "<i>a retired question</i>"
        mark = "📖 shown" if attempt.revealed else f"{VERDICT_ICON[attempt.verdict]} {attempt.score:.0%}"
        lines.append(f"{number}. {mark} · {name} · {_short_date(attempt.local_date)}")
    lines.append("<i>Press a number for the model answer and the core ideas you missed.</i>")
    return "\n".join(lines)


def history_detail(question: Question, attempt: Any, missed: Sequence[str]) -> str:
    """One /history answer: its verdict, what was covered and missed that time, the model answer."""
    if attempt.revealed:
        head = f"📖 You asked to see the answer on {_short_date(attempt.local_date)}"
    else:
        head = (f"{VERDICT_ICON[attempt.verdict]} <b>{VERDICT_WORD[attempt.verdict]}</b> — "
                f"{attempt.score:.0%} on {_short_date(attempt.local_date)}")
    lines = [f"📜 <b>{title(question)}</b>", head]
    if attempt.matched and not attempt.revealed:
        lines.append("You covered: " + _terms(attempt.matched))
    if missed:
        lines.append("Core ideas you missed: " + ", ".join(f"<b>{esc(clip(t, 60))}</b>" for t in missed))
    elif not attempt.revealed:
        lines.append("You covered every core idea. 👏")
    lines += ["", model_answer(question)]
    return "\n".join(lines)


def digest_current(on: bool, weekday: int) -> str:
    if not on:
        return "🗓 The weekly digest is <b>off</b>. <code>/digest on</code> turns it back on."
    return (f"🗓 The weekly digest is <b>on</b>: {WEEKDAY_TITLES[weekday]} evenings, from 18:00 your time. "
            "<code>/digest off</code> stops it; <code>/digest monday</code> moves it.")


def digest_done(on: bool, weekday: int) -> str:
    if not on:
        return "🗓 Weekly digest off. <code>/digest on</code> brings it back."
    return f"🗓 Weekly digest on: {WEEKDAY_TITLES[weekday]} evenings, from 18:00 your time."


def weekly_digest(digest: Any, topic_titles: dict[str, str]) -> str:
    """The weekly digest (a content.progress.WeeklyDigest)."""
    strip = "".join("🟩" if n else "⬜" for _, n in digest.week)
    lines = ["🗓 <b>Your week</b>", f"{strip}  {_short_date(digest.week[0][0])} – {_short_date(digest.week[-1][0])}"]
    if digest.answered:
        lines.append(f"✍️ {digest.answered} answer{'s' if digest.answered != 1 else ''} on "
                     f"{_days(digest.days_practised)} · accuracy {digest.accuracy:.0%}")
    else:
        lines.append("No answers this week — one question today starts it again.")
    lines.append(f"🔥 Streak: <b>{_days(digest.current)}</b> · longest {_days(digest.longest)}")
    if digest.best:
        lines.append(f"💪 Strongest: {esc(topic_titles.get(digest.best, digest.best))}")
    if digest.weakest:
        lines.append(f"🎯 Needs work: {esc(topic_titles.get(digest.weakest, digest.weakest))}")
    if digest.suggested:
        lines.append(f"Next: <code>/quiz {esc(digest.suggested)}</code>")
    else:
        lines.append("Next: /quiz")
    lines.append("<i>/stats for the full picture · /digest off to stop these.</i>")
    return "\n".join(lines)


# ---------------------------------------------------------------- interviews


def interview_intro(label: str, n: int, group: bool, filled: bool = False) -> str:
    how = ("Reply to each question; an admin moves on with <code>/interview next</code>." if group
           else "Answer each one; the next follows at once. ⏹ Stop or <code>/interview stop</code> ends it.")
    note = f"\n<i>Fewer than {n} fresh questions on that topic: the rest come from related topics.</i>" if filled else ""
    return f"🎤 <b>Mock interview</b> · {esc(label)} · {n} questions\n{how}{note}"


def interview_verdict(outcome: AnswerOutcome) -> str:
    covered = _terms(outcome.matched, 6) or "none of the key ideas"
    return f"{verdict_head(outcome)} — covered: {covered}"


def interview_summary(summary: InterviewSummary, topic_titles: dict[str, str]) -> str:
    out = [f"🎤 <b>Interview summary</b> — overall {summary.average:.0%}"]
    for line in summary.lines:
        mark = VERDICT_ICON.get(line.verdict, "❌") if line.answered else "⏭"
        out.append(f"{line.number}. {mark} {line.score:.0%} — {title(line.question)}")
        if line.answered and line.missed:
            out.append("   missed: " + _terms(line.missed, 4))
    if summary.strongest:
        out.append("💪 Strongest: " + ", ".join(esc(topic_titles.get(t, t)) for t in summary.strongest))
    if summary.weakest:
        out.append("🎯 Weakest: " + ", ".join(esc(topic_titles.get(t, t)) for t in summary.weakest))
    if summary.review_topic:
        out.append(f"Review next: <code>/quiz {esc(summary.review_topic)}</code>, then /review.")
    out.append("<i>📖 buttons below: each question's model answer.</i>")
    return "\n".join(out)



# ---------------------------------------------------------------- owner tools

BUTTON_SEND = "📣 Send to everyone"
ANNOUNCE_USAGE = "Write the announcement after the command: <code>/announce New questions on diffusion models!</code>"
ANNOUNCE_CANCELLED = "Announcement cancelled — nothing was sent."


def announcement(text: str, *, preview: bool = False) -> str:
    """The owner's announcement as chats get it, or as the owner's preview of it."""
    body = f"📣 {esc(text)}"
    return f"<b>Preview</b> — this goes to every subscribed chat:\n\n{body}" if preview else body


def announce_progress(progress: Any, done: bool = False) -> str:
    head = "✅ Announcement sent" if done else "📣 Sending the announcement…"
    return f"{head}\n{progress.sent} sent · {progress.failed} failed · {progress.pending} to go (of {progress.total})"


def admin_overview(o: Any, uptime: float) -> str:
    def mib(n: int) -> str:
        return f"{n / 2**20:.1f} MiB"

    per_day = " · ".join(f"{d[5:]}: {n}" for d, n in o.answers_per_day) or "none"
    hours, minutes = divmod(int(uptime) // 60, 60)
    from importlib.metadata import version

    return "\n".join([
        "🛠 <b>Admin</b>",
        f"Users: {o.users} · subscribed chats: {o.chats}",
        f"Active today: {o.active_today} · this week: {o.active_week}",
        f"Answers per day: {per_day}",
        f"Pushes today: {o.pushes_sent_today} sent · {o.pushes_failed_today} failed · {o.pushes_pending} pending",
        f"Open disputes: {o.open_disputes} · inbox pending: {o.inbox_pending}",
        f"Database: {mib(o.db_bytes)} · WAL: {mib(o.wal_bytes)}",
        f"Uptime: {hours} h {minutes} min · version {esc(version('dl-tutor-bot'))}",
    ])


def late_verdict(question: Question, attempt: Any) -> str:
    """A verdict an outage held back (bot/jobs/late_verdicts.py)."""
    word = VERDICT_WORD.get(attempt.verdict, attempt.verdict)
    covered = (" Covered: " + _terms(attempt.matched, 8) + ".") if attempt.matched else ""
    return (f"⏰ Your answer to <b>{title(question)}</b> was graded: {VERDICT_ICON.get(attempt.verdict, '')} "
            f"<b>{word}</b> — {attempt.score:.0%}.{covered}\n\n{model_answer(question)}")
