"""The tutor's rules: plain values in, plain values out — no Telegram, no SQL.

A handler asks these functions what to do (which question, is this message an answer, what a
graded answer records and says), stores what they return, and renders it with `bot/texts.py`.
Every rule is tested without a bot or a database.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from fsrs import Rating

from .bank import Bank, Question
from .calendar import local_date, zone
from .grading import Grade, grade_reply
from .selection import choose_question, eligible
from .srs import card_id_for, rating_for, review
from .streaks import FREEZE_EVERY

MAX_GRADED_CHARS = 4096  # a longer reply is graded on its first 4,096 characters
EVENING_HOUR = 19  # reminders go out from 19:00 in the learner's zone
INTERVIEW_LENGTH = 5
INTERVIEW_AVOID_DAYS = 7
STRONG_AT = 0.7  # a topic averaging this score or more is "strong" in an interview summary
MILESTONES = (7, 30, 100, 365)

CardDict = dict[str, Any]

# ---------------------------------------------------------------------------- what a message is

MessageKind = Literal["answer", "skip", "chitchat", "question", "borderline"]

_SKIP = {"idk", "i dont know", "i don't know", "dont know", "don't know", "no idea", "skip", "pass", "next",
         "i have no idea", "not sure", "no clue", "🤷", "🤷‍♂️", "🤷‍♀️", "dunno", "give up", "i give up"}
_CHITCHAT = {"hi", "hello", "hey", "yo", "thanks", "thank you", "thx", "ty", "ok", "okay", "k", "kk", "cool",
             "nice", "great", "wait", "hold on", "one sec", "sec", "hmm", "hm", "lol", "haha", "good morning",
             "good night", "bye", "yes", "no", "sure", "got it", "sorry", "hmm let me think", "let me think",
             "thinking", "brb", "👍", "🙏", "ok thanks", "ok thank you", "thanks!", "what?", "huh"}
_CHATTY_OPENERS = ("hmm", "let me think", "wait", "hold on", "give me a", "one sec", "thanks", "thank you",
                   "hi ", "hello", "hey ", "ok ", "okay ")
# Words that carry no answer: a message made only of these is chat ("hmm let me think about this one").
_FILLER = frozenset("""a about ah also an and any are be bit brb but can could do doing for get give go going got
    gonna guess haha hang hello hey hi hm hmm hold i i'll i'm idea im is it it's just k kk let lol me minute moment
    my need now oh ok okay on one please second sec so sorry sure thank thanks that the think thinking this thx to
    try ty uh um umm wait what well will with yeah yes yo you""".split())
_QUESTION_WORDS = ("what", "why", "how", "can you", "could you", "is it", "does", "do you", "which", "explain")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = text.replace("’", "'")
    return re.sub(r"[\s.!?…,]+$", "", re.sub(r"\s+", " ", text))


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def classify_message(text: str) -> MessageKind:
    """Is this plain message an answer? Greetings, thanks, "hmm let me think", emoji-only text and
    questions back to the tutor are not graded; "idk"/"skip" skips; a short, chatty message is
    "borderline" (the bot asks before grading it)."""
    plain = _plain(text)
    if plain in _SKIP or plain.removeprefix("sorry ").strip() in _SKIP:
        return "skip"
    words = words_of(plain)
    if not words or plain in _CHITCHAT:
        return "chitchat"
    if all(w in _FILLER for w in words) or (len(words) <= 6 and any(plain.startswith(o) for o in _CHATTY_OPENERS)):
        return "chitchat"
    if text.strip().endswith("?") and len(words) <= 12 and plain.startswith(_QUESTION_WORDS):
        return "question"
    if len(words) <= 2:
        return "borderline"
    return "answer"


def still_open(sent_at: datetime, source: str, now: datetime, tz: str, day_start_hour: int = 0) -> bool:
    """A daily or /quiz question can be answered on the learner's local day it was sent; review
    and interview questions stay open until answered."""
    if source in ("interview", "review"):
        return True
    return local_date(sent_at, tz, day_start_hour) >= local_date(now, tz, day_start_hour)


# ---------------------------------------------------------------------------- grading an answer


@dataclass(frozen=True, slots=True)
class AnswerOutcome:
    """What one answer records (attempt, FSRS card and review) and what the learner is told."""

    question: Question
    grade: Grade | None  # None when the learner skipped or asked for the answer
    verdict: Literal["correct", "partial", "incorrect"]
    score: float
    matched: tuple[str, ...]
    rating: Rating
    card: CardDict
    review: CardDict
    revealed: bool
    truncated: bool  # the reply was longer than MAX_GRADED_CHARS


def _scheduled(card: CardDict | None, rating: Rating, user_id: int, question: Question, now: datetime) -> tuple[CardDict, CardDict]:
    card_id = int(card["card_id"]) if card else card_id_for(user_id, question.id)
    return review(card, rating, now, card_id=card_id)


def grade_answer(
    question: Question, text: str, *, user_id: int, card: CardDict | None, used_hint: bool, now: datetime
) -> AnswerOutcome:
    """Grade a reply and schedule the learner's card by the grade (content/srs.py)."""
    grade = grade_reply(question, text[:MAX_GRADED_CHARS])
    rating = rating_for(grade.verdict, used_hint=used_hint, complete=not grade.missed)
    new_card, log = _scheduled(card, rating, user_id, question, now)
    return AnswerOutcome(question, grade, grade.verdict, grade.score, tuple(grade.matched_terms), rating,
                         new_card, log, revealed=False, truncated=len(text) > MAX_GRADED_CHARS)


def give_up(question: Question, *, user_id: int, card: CardDict | None, now: datetime) -> AnswerOutcome:
    """"Show answer", "idk", 🤷: the model answer is shown and the card comes back soon (Again)."""
    new_card, log = _scheduled(card, Rating.Again, user_id, question, now)
    return AnswerOutcome(question, None, "incorrect", 0.0, (), Rating.Again, new_card, log, revealed=True, truncated=False)


# ---------------------------------------------------------------------------- choosing questions


def next_question(
    bank: Bank,
    *,
    level: str,
    recent: Sequence[str],
    due: Iterable[str] = (),
    seen: Iterable[str] = (),
    rng: random.Random,
    topic: str | None = None,
) -> Question:
    """A learner's most overdue card first (of their level and topic), else a question they have
    not seen; a group passes no `due` and keeps its rotation (content/selection.py)."""
    for question_id in due:
        question = bank.get(question_id)
        if question is not None and level in ("all", question.level) and topic in (None, *question.topics):
            return question
    if topic is not None:
        pool = [q for q in eligible(bank, level) if topic in q.topics] or [q for q in bank.questions if topic in q.topics]
        if pool:
            fresh = [q for q in pool if q.id not in set(recent[:10])] or pool
            unseen = [q for q in fresh if q.id not in set(seen)] or fresh
            return rng.choice(unseen)
    return choose_question(bank, level=level, recent=list(recent), rng=rng, avoid=set(seen))


def weakest_topic(per_topic: Mapping[str, float], answered: Mapping[str, int], min_answers: int = 1) -> str | None:
    """The topic with the lowest accuracy among those answered at least `min_answers` times."""
    candidates = [(acc, topic) for topic, acc in per_topic.items() if answered.get(topic, 0) >= min_answers]
    return min(candidates)[1] if candidates else None


def interview_questions(
    bank: Bank, *, level: str, topic: str | None, recent: Sequence[str], rng: random.Random,
    related: Sequence[str] = (), length: int = INTERVIEW_LENGTH,
) -> tuple[list[Question], bool]:
    """Distinct questions for a mock interview, avoiding the chat's recent questions; with a
    topic, only that topic, filled from `related` topics when fewer than `length` remain.
    Returns the questions and whether the topic had to be filled from related ones."""
    avoid = set(recent)
    pool = [q for q in eligible(bank, level) if topic is None or topic in q.topics]
    fresh = [q for q in pool if q.id not in avoid]
    chosen = rng.sample(fresh, min(length, len(fresh)))
    filled = False
    if topic is not None and len(chosen) < length:
        filled = True
        extra = [q for q in bank.questions if q not in chosen and q.id not in avoid and set(q.topics) & set(related)]
        chosen += rng.sample(extra, min(length - len(chosen), len(extra)))
    if len(chosen) < length and topic is None:
        rest = [q for q in pool if q not in chosen]
        chosen += rng.sample(rest, min(length - len(chosen), len(rest)))
    return chosen, filled


@dataclass(frozen=True, slots=True)
class InterviewLine:
    number: int
    question: Question
    verdict: str
    score: float
    answered: bool
    missed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InterviewSummary:
    lines: tuple[InterviewLine, ...]
    average: float
    strongest: tuple[str, ...]  # topic slugs
    weakest: tuple[str, ...]
    review_topic: str | None


def interview_summary(
    bank: Bank, question_ids: Sequence[str], results: Mapping[str, tuple[str, float]], missed: Mapping[str, Sequence[str]]
) -> InterviewSummary:
    """Per question its verdict and missed core ideas; per topic the average; what to review."""
    lines: list[InterviewLine] = []
    by_topic: dict[str, list[float]] = defaultdict(list)
    for number, qid in enumerate(question_ids, 1):
        question = bank.get(qid)
        if question is None:
            continue
        verdict, score = results.get(qid, ("incorrect", 0.0))
        lines.append(InterviewLine(number, question, verdict, score, qid in results, tuple(missed.get(qid, ()))))
        by_topic[question.topic].append(score)
    averages = sorted(((sum(s) / len(s), t) for t, s in by_topic.items()))
    weakest = tuple(t for avg, t in averages[:2] if avg < STRONG_AT)
    strongest = tuple(t for avg, t in reversed(averages[-2:]) if avg >= STRONG_AT)
    review_topic = averages[0][1] if averages and averages[0][0] < STRONG_AT else None
    average = sum(line.score for line in lines) / max(1, len(lines))
    return InterviewSummary(tuple(lines), average, strongest, weakest, review_topic)


# ---------------------------------------------------------------------------- streak moments and reminders


def streak_moments(*, current: int, new_day: bool, freezes_used: int, freezes_held: int) -> list[str]:
    """What one answer did to the streak, to be said once, in its verdict: "freeze_used",
    "freeze_earned" (every FREEZE_EVERY days in a row) and "milestone:N" (7, 30, 100, 365 days)."""
    moments = ["freeze_used"] if freezes_used else []
    if new_day and current and current % FREEZE_EVERY == 0 and freezes_held:
        moments.append("freeze_earned")
    if new_day and current in MILESTONES:
        moments.append(f"milestone:{current}")
    return moments


def reminder_day(*, tz: str, day_start_hour: int, last_day: date | None, current: int, now: datetime) -> date | None:
    """The local day to remind a learner about, or None: their streak is at risk (last counted
    day was yesterday, nothing yet today) and it is evening where they are."""
    if last_day is None or current <= 0:
        return None
    today = local_date(now, tz, day_start_hour)
    if last_day != today - timedelta(days=1):
        return None
    if now.astimezone(zone(tz)).hour < EVENING_HOUR:
        return None
    return today
