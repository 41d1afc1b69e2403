"""Recording a graded attempt together with its spaced-repetition review.

Every graded answer — private, group, review, interview, or "Show answer" — goes through
`record_graded`, so each one updates the learner's FSRS card in the same transaction as the
attempt and the streak (storage does that; this module only computes the new card).
"""

from __future__ import annotations

from content import Grade, Question
from content.srs import card_id_for, rating_for, review

from .services import services


async def learner_zone(context, user_id: int, user: dict | None = None) -> tuple[str, int]:
    """The learner's time zone and day-start hour (their own settings, else the defaults).

    Pass the `user` row when the caller already has it: one storage round trip less per answer.
    """
    svc = services(context)
    if user is None:
        user = await svc.store.get_user(user_id) or {}
    return user.get("tz") or svc.config.default_tz, int(user.get("day_start_hour") or 0)


async def record_graded(
    context,
    *,
    user_id: int,
    chat_id: int,
    question: Question,
    question_message_id: int,
    grade: Grade | None,
    revealed: bool = False,
    user: dict | None = None,
    used_hint: bool | None = None,
    card: dict | None | object = ...,
):
    """Store the attempt, the streak and the FSRS review in one go; None if already answered.

    Callers that already read `user`, `used_hint` and `card` (Store.answer_context) pass them:
    each is a storage round trip saved on the busiest path.
    """
    svc = services(context)
    store, now = svc.store, svc.now()
    tz, day_start = await learner_zone(context, user_id, user)
    verdict = "incorrect" if revealed or grade is None else grade.verdict
    if used_hint is None:
        used_hint = await store.hint_used(user_id, chat_id, question_message_id)
    if card is ...:
        card = await store.get_card(user_id, question.id)
    complete = grade is not None and not grade.missed
    rating = rating_for(verdict, revealed=revealed, used_hint=used_hint, complete=complete)
    card, log = review(card, rating, now, card_id=card["card_id"] if card else card_id_for(user_id, question.id))
    return await store.record_attempt(
        user_id=user_id,
        chat_id=chat_id,
        question_id=question.id,
        question_message_id=question_message_id,
        topic=question.topic,
        score=0.0 if grade is None or revealed else grade.score,
        verdict=verdict,
        matched=[] if grade is None or revealed else grade.matched_terms,
        used_hint=used_hint,
        revealed=revealed,
        now=now,
        tz_name=tz,
        day_start_hour=day_start,
        card=card,
        review=log,
    )
