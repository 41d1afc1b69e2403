"""/interview [topic|level]: a mock interview of five questions in a row, then a summary card.

Private chat: each answer gets a one-line verdict and the next question follows at once;
after the fifth, a summary: score per question, strongest and weakest topics, what to review.
Group: an admin starts it; members answer each question by reply as usual; the admin moves on
with `/interview next`; the summary ranks the members.
"""

from __future__ import annotations

from collections import defaultdict

from telegram import Update
from telegram.ext import ContextTypes

from content import find_questions
from content.selection import eligible

from . import texts
from .access import ensure_registered, is_group, require_admin
from .quiz import group_markup
from .sending import reply_html, send_html
from .services import services
from .settings import argument

LENGTH = 5
LEVELS = ("intermediate", "advanced")


def choose_interview(bank, arg: str, level: str, rng) -> tuple[list, str]:
    """Five distinct questions for `arg` (a level, a topic query or nothing) and a label."""
    arg = arg.strip().lower()
    if arg in LEVELS:
        pool, label = eligible(bank, arg), arg
    elif arg:
        pool = [bank.get(h.question_id) for h in find_questions(bank, arg, limit=3 * LENGTH)]
        label = arg
    else:
        pool, label = eligible(bank, level), level if level in LEVELS else "mixed"
    pool = [q for q in pool if q is not None]
    if len(pool) > LENGTH:
        pool = rng.sample(pool, LENGTH)
    return pool, label


async def interview(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    group = is_group(update)
    if group and not await require_admin(update, context):
        return
    row = await ensure_registered(update, context)
    if row is None or user is None:
        return
    await svc.store.touch_user(user.id, user.first_name, user.username, user.language_code, svc.now())
    arg = argument(update)
    owner = user.id
    active = await svc.store.active_interview(chat.id, owner)
    if group and arg.lower() in ("next", "stop"):
        if active is None:
            await reply_html(message, texts.INTERVIEW_NONE)
            return
        if arg.lower() == "stop":
            while active.get("finished_at") is None:
                active = await svc.store.advance_interview(active["id"], svc.now())
        else:
            active = await svc.store.advance_interview(active["id"], svc.now())
        await _continue(context, chat.id, active)
        return
    if active is not None:
        await reply_html(message, texts.INTERVIEW_RUNNING)
        return
    questions, label = choose_interview(svc.bank, arg, row.get("level") or "all", svc.rng)
    if not questions:
        await reply_html(message, texts.interview_no_questions(arg))
        return
    started = await svc.store.start_interview(chat.id, owner, [q.id for q in questions], label, svc.now())
    await reply_html(message, texts.interview_intro(label, len(questions), group))
    await _send_question(context, chat.id, started, group)


async def _send_question(context, chat_id: int, iv: dict, group: bool) -> None:
    svc = services(context)
    ids = iv["question_ids"]
    question = svc.bank.get(ids[iv["position"]])
    head = texts.interview_header(iv["position"] + 1, len(ids))
    body = head + "\n\n" + texts.question_text(question, group=group)
    markup = group_markup() if group else None
    sent = await send_html(context.bot, chat_id, body, reply_markup=markup)
    await svc.store.record_question_message(
        chat_id, sent.message_id, question.id, "interview", iv["user_id"], svc.now(), interview_id=iv["id"]
    )


async def _continue(context, chat_id: int, iv: dict) -> None:
    group = chat_id < 0
    if iv.get("finished_at") is None:
        await _send_question(context, chat_id, iv, group)
        return
    svc = services(context)
    results = await svc.store.interview_results(iv["id"])
    await send_html(context.bot, chat_id, summary(svc.bank, iv, results, group))


async def after_answer(context, update: Update, record: dict, question, grade) -> None:
    """A graded answer to an interview question: a one-line verdict, then (private) the next question."""
    svc = services(context)
    message = update.effective_message
    await reply_html(message, texts.interview_verdict(grade))
    if is_group(update):
        return  # the admin moves the group on with /interview next
    iv = await svc.store.active_interview(message.chat_id, update.effective_user.id)
    if iv is None or iv["question_ids"][iv["position"]] != question.id:
        return
    iv = await svc.store.advance_interview(iv["id"], svc.now())
    await _continue(context, message.chat_id, iv)


def summary(bank, iv: dict, results: list[dict], group: bool) -> str:
    """The summary card: per question, per topic, and what to review next."""
    if group:
        per_member: dict[str, float] = defaultdict(float)
        for r in results:
            if r.get("user_id") is not None:
                per_member[texts.user_name(r.get("first_name"), r.get("username"))] += r.get("score") or 0.0
        return texts.interview_group_summary(sorted(per_member.items(), key=lambda kv: -kv[1]), len(iv["question_ids"]))
    by_question = {r["question_id"]: r for r in results}
    lines, topic_scores = [], defaultdict(list)
    for n, qid in enumerate(iv["question_ids"], 1):
        q = bank.get(qid)
        r = by_question.get(qid)
        score = (r or {}).get("score") or 0.0
        verdict = (r or {}).get("verdict") or "incorrect"
        lines.append((n, q.question if q else qid, verdict, score, r is not None))
        if q is not None:
            topic_scores[q.topic].append(score)
    averages = {t: sum(v) / len(v) for t, v in topic_scores.items()}
    ranked = sorted(averages.items(), key=lambda kv: kv[1])
    titles = bank.topic_titles
    weakest = [titles.get(t, t) for t, s in ranked[:2] if s < 0.7]
    strongest = [titles.get(t, t) for t, s in reversed(ranked[-2:]) if s >= 0.7]
    review_topic = ranked[0][0].replace("-", " ") if ranked and ranked[0][1] < 0.7 else None
    total = sum(line[3] for line in lines) / max(1, len(lines))
    return texts.interview_summary(lines, total, strongest, weakest, review_topic)
