"""/settings and each setting: the learner's own in private, the admins' in a group.

Every setting command without an argument shows its current value and how to change it.
"""

from __future__ import annotations

from collections.abc import Callable

from telegram import Update

from content.calendar import format_push_time, parse_small_int, parse_tz
from storage import Store
from storage.models import Chat, User

from .. import texts
from ..context import TutorContext
from .common import argument, chat_row, is_group, private_user, require_admin, say

LEVELS = ("intermediate", "advanced", "all")


async def settings_chat(update: Update, context: TutorContext, what: str) -> Chat | None:
    """The chat whose settings change: a group's only for its admins."""
    if is_group(update) and not await require_admin(update, context, what):
        return None
    return await chat_row(update, context)


async def show_settings(update: Update, context: TutorContext) -> None:
    """/settings — every current setting, with the command that changes it."""
    chat = await chat_row(update, context)
    user = update.effective_user
    if chat is None or user is None:
        return
    learner = None if is_group(update) else await context.store.read(Store.get_user, user.id)
    digest = None if is_group(update) else await context.store.read(Store.digest_settings, user.id)
    await say(update, context, texts.settings_overview(chat, learner, digest), low=True)


async def chat_setting(
    update: Update, context: TutorContext, *, current: Callable[[Chat], str], parse: Callable[[str], str | None],
    usage: str, what: str,
) -> tuple[Chat, str] | None:
    """The shared shape of /settime, /timezone and /level: no argument shows the current value;
    a value that does not parse gets the usage line; a group's settings are for its admins.
    Returns the chat and the parsed value to store, or None when there is nothing to store."""
    raw = argument(update)
    if not raw:
        chat = await chat_row(update, context)
        if chat is not None:
            await say(update, context, current(chat), low=True)
        return None
    value = parse(raw)
    if value is None:
        await say(update, context, usage, low=True)
        return None
    chat = await settings_chat(update, context, what)
    return (chat, value) if chat is not None else None


def parsed(parse: Callable[[str], str]) -> Callable[[str], str | None]:
    """A parser that raises ValueError, as one that returns None."""
    def attempt(raw: str) -> str | None:
        try:
            return parse(raw)
        except ValueError:
            return None
    return attempt


async def settime(update: Update, context: TutorContext) -> None:
    found = await chat_setting(update, context, current=lambda c: texts.settime_current(c.push_time, c.tz),
                               parse=parsed(format_push_time), usage=texts.SETTIME_USAGE, what="change the question time")
    if found is not None:
        chat = await context.store.write(Store.update_chat_settings, found[0].chat_id, context.now(), push_time=found[1])
        await say(update, context, texts.settime_done(chat.push_time, chat.tz), low=True)


async def timezone(update: Update, context: TutorContext) -> None:
    found = await chat_setting(update, context, current=lambda c: texts.timezone_current(c.tz), parse=parsed(parse_tz),
                               usage=texts.TIMEZONE_USAGE, what="change the time zone")
    user = update.effective_user
    if found is None or user is None:
        return
    chat = await context.store.write(Store.update_chat_settings, found[0].chat_id, context.now(), tz=found[1])
    if not is_group(update):
        await context.store.write(Store.set_user_tz, user.id, found[1])  # streak days follow the learner's zone
    await say(update, context, texts.timezone_done(chat.tz, chat.push_time), low=True)


async def level(update: Update, context: TutorContext) -> None:
    found = await chat_setting(update, context, current=lambda c: texts.level_current(c.level),
                               parse=lambda raw: raw.lower() if raw.lower() in LEVELS else None,
                               usage=texts.LEVEL_USAGE, what="change the level")
    user = update.effective_user
    if found is None or user is None:
        return
    await context.store.write(Store.update_chat_settings, found[0].chat_id, context.now(), level=found[1])
    if not is_group(update):
        await context.store.write(Store.set_user_level, user.id, found[1])
    await say(update, context, texts.level_done(found[1]), low=True)


async def own_settings(update: Update, context: TutorContext) -> tuple[int, User | None] | None:
    """For a learner's own settings (private only): their id and row, or None (told why)."""
    user_id = await private_user(update, context)
    if user_id is None or await chat_row(update, context) is None:
        return None
    return user_id, await context.store.read(Store.get_user, user_id)


async def daystart(update: Update, context: TutorContext) -> None:
    """/daystart 4 — the learner's day starts at 04:00: a 1 a.m. answer counts for yesterday."""
    found = await own_settings(update, context)
    if found is None:
        return
    user_id, learner = found
    raw = argument(update)
    hour = parse_small_int(raw, 0, 23)
    if not raw:
        await say(update, context, texts.daystart_current(learner.day_start_hour if learner else 0))
    elif hour is None:
        await say(update, context, texts.DAYSTART_USAGE)
    else:
        await context.store.write(Store.set_user_day_start_hour, user_id, hour)
        await say(update, context, texts.daystart_done(hour))


async def reminders(update: Update, context: TutorContext) -> None:
    """/reminders on|off — the evening streak reminder."""
    found = await own_settings(update, context)
    if found is None:
        return
    user_id, learner = found
    choice = argument(update).lower()
    if not choice:
        await say(update, context, texts.reminders_current(learner.reminders if learner else True))
    elif choice not in ("on", "off"):
        await say(update, context, texts.REMINDERS_USAGE)
    else:
        await context.store.write(Store.set_user_reminders, user_id, choice == "on")
        await say(update, context, texts.reminders_done(choice == "on"))
