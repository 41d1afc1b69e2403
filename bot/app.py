"""Build and run the Telegram application: one readable list of handlers, nothing else.

`build_application` takes the clock, randomness and storage as arguments so tests run the very
same application against a fake Bot API server with a fixed clock.
"""

from __future__ import annotations

import logging
import random
import sys

from telegram import BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats, LinkPreviewOptions, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from content import Bank, ContentError, load_bank

from . import answers, daily, http, interview, lookup, memory, onboarding, progress, quiz, reminders, review, settings, texts
from .config import Config, ConfigError, load_config
from .errors import on_error, setup_logging
from .flood import FloodGuard
from .group_verdicts import GroupVerdicts
from .intake import BoundedUpdateQueue
from .ordering import PerLearnerUpdateProcessor
from .ratelimit import SlidingWindowRateLimiter
from .sending import reply_html
from .services import Clock, Services, services, system_clock
from .tutor_bot import TutorBot
from .updates import TolerantUpdatesRequest

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every other handler, as one handler (PTB dispatches each handler group in
    turn, for every update): a repeated update stops here, then a flooding user does."""
    await dedupe(update, context)
    await flood_check(update, context)


async def dedupe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Telegram's getUpdates is at-least-once: handle each update id once."""
    svc = services(context)
    if not await svc.store.seen_update(update.update_id, svc.now()):
        raise ApplicationHandlerStop


async def flood_check(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    user = update.effective_user
    if user is None or svc.flood is None:
        return
    verdict = svc.flood.hit(user.id, svc.now())
    if verdict == "ok":
        return
    if verdict == "notify" and update.callback_query is not None:
        # A button press: tell the presser alone (an alert), never the chat the button is in.
        await update.callback_query.answer(texts.clip(texts.FLOODED, 190), show_alert=True)
    elif verdict == "notify" and update.effective_message is not None:
        await reply_html(update.effective_message, texts.FLOODED)
    raise ApplicationHandlerStop


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply_html(update.effective_message, texts.UNKNOWN_COMMAND)


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply_html(update.effective_message, "I can only grade text answers — please type your answer. 🙂")


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer(texts.STALE_BUTTON, show_alert=True)


async def chat_migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: its history moves to the new id."""
    svc = services(context)
    message = update.effective_message
    if message.migrate_to_chat_id and await svc.store.get_chat(message.chat_id) is not None:
        await svc.store.migrate_chat(message.chat_id, message.migrate_to_chat_id, svc.now())


async def post_init(application: Application) -> None:
    from storage.aio import AsyncStore

    svc: Services = application.bot_data["services"]
    if svc.store is None:  # opened here so its worker thread belongs to this event loop's run
        svc.store = await AsyncStore.open(svc.config.db_path)
    bot = application.bot
    await bot.set_my_commands([BotCommand(c, d) for c, d in texts.COMMANDS_PRIVATE], scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands([BotCommand(c, d) for c, d in texts.COMMANDS_GROUP], scope=BotCommandScopeAllGroupChats())
    application.bot_data["daily"] = daily.DailyPush(
        svc.config.max_messages_per_second, svc.config.paid_broadcast, svc.now()
    )
    application.job_queue.run_repeating(
        daily.tick, interval=svc.config.tick_seconds, first=0.1, name="daily-push", job_kwargs={"max_instances": 3}
    )
    application.job_queue.run_repeating(  # bot/memory.py: RSS follows the live data
        memory.trim_job, interval=memory.TRIM_EVERY, first=memory.TRIM_EVERY, name="release-memory"
    )
    application.job_queue.run_repeating(
        reminders.send_reminders, interval=max(svc.config.tick_seconds, 1.0), first=0.5, name="reminders",
        job_kwargs={"max_instances": 1},
    )


async def post_shutdown(application: Application) -> None:
    svc: Services = application.bot_data["services"]
    if svc.store is not None:
        await svc.store.close()


class TutorApplication(Application):
    """PTB's Application, minus one unbounded set.

    For every update, PTB remembers the chat id and user id "to be updated in persistence", and
    only a persistence run ever empties those sets. The bot keeps its state in SQLite and sets
    no PTB persistence, so they would hold every user and chat ever seen, for as long as the
    process runs (found by bench/soak.py). Without persistence there is nothing to mark.
    """

    __slots__ = ()

    def _mark_for_persistence_update(self, *, update: object | None = None, job=None) -> None:
        if self.persistence is not None:
            super()._mark_for_persistence_update(update=update, job=job)


def rate_limiter(config: Config) -> SlidingWindowRateLimiter | None:
    """Telegram's limits as sliding windows (bot/ratelimit.py): `max_messages_per_second` in any
    second, 20 a minute per group, 429s retried up to 5 times; None when set to 0 (off)."""
    if config.max_messages_per_second <= 0:
        return None
    return SlidingWindowRateLimiter(config.max_messages_per_second, max_retries=5)


def build_application(
    config: Config,
    store=None,
    *,
    bank: Bank | None = None,
    clock: Clock = system_clock,
    rng: random.Random | None = None,
    request=None,
) -> Application:
    """The application with every handler registered; `request` replaces PTB's HTTP layer (tests)."""
    # The bot object is built here, not by the builder: it is PTB's ExtBot with a tolerant
    # getUpdates and sends whose answer is not parsed (bot/tutor_bot.py).
    urls = {}
    if config.base_url:
        urls = {"base_url": config.base_url, "base_file_url": config.base_url.replace("/bot", "/file/bot")}
    bot = TutorBot(
        config.token,
        request=request or http.JSONRequest(connection_pool_size=http.CONNECTIONS, pool_timeout=5.0),
        get_updates_request=TolerantUpdatesRequest(),
        defaults=Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)),
        rate_limiter=rate_limiter(config),
        **urls,
    )
    builder = (
        ApplicationBuilder()
        .application_class(TutorApplication)
        .bot(bot)
        # 16 updates in flight is plenty at Telegram's rates; more only grows httpcore's
        # connection-pool bookkeeping (bench/answer_cost.py, docs/BENCHMARKS.md). One learner's
        # updates run one at a time, in order (bot/ordering.py).
        .concurrent_updates(PerLearnerUpdateProcessor(16))
        # At most 200 updates fetched ahead of the handlers: a backlog stays with Telegram
        # (bot/intake.py).
        .update_queue(BoundedUpdateQueue())
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    application = builder.build()
    application.bot_data["services"] = Services(
        bank=bank or load_bank(), store=store, config=config, clock=clock, rng=rng or random.Random(), flood=FloodGuard(),
        group_verdicts=GroupVerdicts(),
    )
    add_handlers(application)
    return application


def add_handlers(app: Application) -> None:
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    new_message = filters.UpdateType.MESSAGE
    app.add_handler(TypeHandler(Update, gate), group=-1)  # de-duplication, then the flood guard
    commands = {
        "start": onboarding.start,
        "help": onboarding.help_command,
        "stop": onboarding.stop,
        "forget": onboarding.forget,
        "quiz": quiz.quiz,
        "ask": lookup.ask,
        "answer": answers.on_answer_command,
        "streak": progress.streak,
        "stats": progress.stats,
        "top": progress.top,
        "settime": settings.settime,
        "timezone": settings.timezone,
        "level": settings.level,
        "daystart": settings.daystart,
        "reminders": settings.reminders,
        "review": review.review,
        "interview": interview.interview,
    }
    # Answers first: they are most of the traffic, and PTB tries a group's handlers in order. No
    # handler below can take a text message that is not a command, so the order changes nothing else.
    app.add_handlers(
        [
            MessageHandler(new_message & private & filters.TEXT & ~filters.COMMAND, answers.on_text),
            MessageHandler(new_message & groups & filters.REPLY & filters.TEXT & ~filters.COMMAND, answers.on_text),
        ]
    )
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback, filters=new_message))
    app.add_handlers(
        [
            CallbackQueryHandler(quiz.on_button, pattern=quiz.PATTERN),
            CallbackQueryHandler(onboarding.forget_button, pattern=r"^f:(yes|no)$"),
            CallbackQueryHandler(lookup.ask_button, pattern=lookup.PATTERN),
            CallbackQueryHandler(quiz.show_group_answer, pattern=r"^r:"),
            CallbackQueryHandler(answers.on_dispute, pattern=r"^d:"),
            CallbackQueryHandler(stale_button),
            ChatMemberHandler(onboarding.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated),
            MessageHandler(new_message & private & filters.COMMAND, unknown_command),
            MessageHandler(new_message & private & ~filters.TEXT & ~filters.StatusUpdate.ALL, not_text),
        ]
    )
    app.add_error_handler(on_error)


def run(webhook_url: str | None = None, listen: str = "127.0.0.1", port: int = 8443) -> int:
    """Entry point of `tutor-bot run`: configuration errors are one line and exit code 2."""
    from storage.db import StorageError
    from storage.store import Store

    try:
        config = load_config()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.log_level, [config.token])
    try:
        bank = load_bank()
    except ContentError as exc:
        print(f"error: {exc} — run `tutor-bot content check`", file=sys.stderr)
        return 1
    try:  # fail fast with one clear line on a corrupt, newer or unwritable database
        Store.open(config.db_path).close()
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    application = build_application(config, bank=bank)
    memory.tune_garbage_collector()  # after loading: the bank and modules are frozen
    log.info("starting: %d questions, database %s", len(bank), config.db_path)
    if webhook_url:
        from .webhook import run_webhook

        run_webhook(application, webhook_url=webhook_url, listen=listen, port=port)
    else:
        application.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
    return 0


async def start_app(application: Application, *, poll_interval: float = 0.0, timeout: int = 1) -> None:
    """Start like `run_polling` does (initialize, post_init, polling, start) inside a running loop.

    Tests and benchmarks use this to run the real application in their own event loop.
    """
    await application.initialize()
    await post_init(application)
    await application.updater.start_polling(
        poll_interval=poll_interval, timeout=timeout, allowed_updates=ALLOWED_UPDATES, bootstrap_retries=-1
    )
    await application.start()


async def stop_app(application: Application) -> None:
    if application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await post_shutdown(application)
    await application.shutdown()
