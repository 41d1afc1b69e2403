"""Build and run the Telegram application: one readable list of handlers, and the run loop.

`build_application` takes the clock, randomness and bank as arguments, so tests run this very
application against a fake Bot API server with a fixed clock.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import signal
import ssl
from typing import cast

import httpx
from telegram import BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats, LinkPreviewOptions, Update
from telegram.error import InvalidToken, NetworkError, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from content import Bank, load_bank
from storage import AsyncStore

from . import charts, keyboards, observability, sending, texts
from .config import Config
from .context import (
    SERVICES,
    Clock,
    Services,
    TutorApp,
    TutorContext,
    cancel_background,
    run_in_background,
    services_of,
    system_clock,
)
from .errors import on_error
from .handlers import answers, common, history, interview, lookup, onboarding, owner, progress, quiz, review, settings
from .inbox import Inbox
from .jobs import announce, daily_push, digest, housekeeping, late_verdicts, logged, reminders
from .limits import TelegramLimits

log = logging.getLogger(__name__)

CONCURRENT_UPDATES = 16  # different learners at once; one learner's updates run in order
STARTUP_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
INBOX = "inbox"
METRICS = "metrics-server"


async def post_init(application: TutorApp) -> None:
    """Open the store (its threads belong to this loop), publish the commands, start the jobs."""
    svc = services_of(application)
    if svc.store is None:
        svc.store = await AsyncStore.open(svc.config.db_path)
    bot = application.bot
    await bot.set_my_commands([BotCommand(c, d) for c, d in texts.COMMANDS_PRIVATE], scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands([BotCommand(c, d) for c, d in texts.COMMANDS_GROUP], scope=BotCommandScopeAllGroupChats())
    if svc.config.metrics is not None:
        addr, port = svc.config.metrics
        application.bot_data[METRICS] = observability.start_metrics_server(port, addr)
    jobs = application.job_queue
    if jobs is None:
        raise RuntimeError("the job queue is required (python-telegram-bot[job-queue])")
    jobs.run_repeating(logged(daily_push.tick), interval=svc.config.tick_seconds, first=0.1, name="daily-push",
                       job_kwargs={"max_instances": 3})
    await announce.resume_announcements(application)
    jobs.run_repeating(logged(late_verdicts.tick), interval=60.0, first=5.0, name="late-verdicts", job_kwargs={"max_instances": 1})
    jobs.run_repeating(logged(prune_inbox), interval=3600.0, first=60.0, name="prune-inbox")
    jobs.run_repeating(logged(housekeeping.trim_memory), interval=housekeeping.TRIM_EVERY, first=housekeeping.TRIM_EVERY,
                       name="release-memory")
    jobs.run_repeating(logged(digest.tick), interval=svc.config.tick_seconds, first=0.7, name="weekly-digest",
                       job_kwargs={"max_instances": 1})
    jobs.run_repeating(logged(reminders.tick), interval=max(svc.config.tick_seconds, 1.0), first=0.5, name="reminders",
                       job_kwargs={"max_instances": 1})


async def prune_inbox(context: TutorContext) -> None:
    """Hourly: forget handled update ids older than the dedupe window."""
    inbox: Inbox | None = context.bot_data.get(INBOX)
    if inbox is not None:
        await inbox.prune()


async def post_shutdown(application: TutorApp) -> None:
    svc = services_of(application)
    await charts.shutdown_renderer()  # the picture renderer's process (bot/charts.py)
    server = application.bot_data.pop(METRICS, None)
    if server is not None:
        server.close()
    if svc.store is not None:
        await svc.store.close()
        svc.store = None


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every connection to Telegram. httpx builds a new one for each client by
    default, reading the whole CA bundle (30-40 ms of CPU each, two clients per application)."""
    return httpx.create_ssl_context()


def telegram_request(connection_pool_size: int) -> HTTPXRequest:
    """PTB's default request (ApplicationBuilder's pool sizes and timeouts), with the shared TLS context."""
    return HTTPXRequest(connection_pool_size=connection_pool_size, httpx_kwargs={"verify": tls_context()})


def build_application(
    config: Config,
    *,
    bank: Bank | None = None,
    clock: Clock = system_clock,
    rng: random.Random | None = None,
) -> TutorApp:
    """The application with every handler registered. Updates come from the inbox (bot/inbox.py),
    not PTB's Updater, so nothing is confirmed to Telegram before it is stored."""
    urls = config.base_url or "https://api.telegram.org/bot"
    builder = (
        ApplicationBuilder()
        .token(config.token)
        .rate_limiter(TelegramLimits(int(config.max_messages_per_second)))
        .request(telegram_request(256))
        .get_updates_request(telegram_request(1))
        .base_url(urls)
        .base_file_url(urls.replace("/bot", "/file/bot"))
        .context_types(ContextTypes(context=TutorContext))
        .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .concurrent_updates(CONCURRENT_UPDATES)
        .updater(None)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    application = cast(TutorApp, builder.build())
    application.bot_data[SERVICES] = Services(bank=bank or load_bank(), config=config, clock=clock, rng=rng or random.Random())
    add_handlers(application)
    return application


def add_handlers(app: TutorApp) -> None:
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    new_message = filters.UpdateType.MESSAGE
    app.add_handler(TypeHandler(Update, common.flood_gate), group=-2)
    app.add_handler(TypeHandler(Update, late_verdicts.on_next_update), group=-1)
    commands = {
        "start": onboarding.start,
        "help": onboarding.help_command,
        "stop": onboarding.stop,
        "forget": onboarding.forget,
        "quiz": quiz.quiz,
        "ask": lookup.ask,
        "answer": answers.answer_command,
        "skip": answers.skip_command,
        "streak": progress.streak,
        "stats": progress.stats,
        "history": history.history,
        "digest": progress.digest,
        "top": progress.top,
        "settings": settings.show_settings,
        "settime": settings.settime,
        "timezone": settings.timezone,
        "level": settings.level,
        "daystart": settings.daystart,
        "reminders": settings.reminders,
        "review": review.review,
        "interview": interview.interview,
        "admin": owner.admin,
        "announce": owner.announce,
    }
    app.add_handlers([
        MessageHandler(new_message & private & filters.TEXT & ~filters.COMMAND, answers.private_text),
        MessageHandler(new_message & groups & filters.REPLY & filters.TEXT & ~filters.COMMAND, answers.group_reply),
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT & ~filters.COMMAND, answers.edited),
    ])
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback, filters=new_message))
    app.add_handlers([
        CallbackQueryHandler(quiz.question_button, pattern=keyboards.QUESTION_BUTTONS),
        CallbackQueryHandler(answers.confirm_button, pattern=keyboards.CONFIRM_BUTTONS),
        CallbackQueryHandler(interview.stop_button, pattern=keyboards.pattern(keyboards.INTERVIEW_STOP)),
        CallbackQueryHandler(owner.announce_button, pattern=keyboards.pattern(keyboards.ANNOUNCE)),
        CallbackQueryHandler(onboarding.forget_button, pattern=keyboards.FORGET_BUTTONS),
        CallbackQueryHandler(lookup.ask_button, pattern=keyboards.pattern(keyboards.ASK)),
        CallbackQueryHandler(answers.model_answer_button, pattern=keyboards.pattern(keyboards.MODEL_ANSWER)),
        CallbackQueryHandler(answers.dispute_button, pattern=keyboards.pattern(keyboards.DISPUTE)),
        CallbackQueryHandler(history.history_button, pattern=keyboards.pattern(keyboards.HISTORY)),
        CallbackQueryHandler(common.stale_button),
        ChatMemberHandler(onboarding.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.MIGRATE, onboarding.chat_migrated),
        MessageHandler(new_message & private & filters.COMMAND, common.unknown_command),
        MessageHandler(new_message & private & ~filters.TEXT & ~filters.StatusUpdate.ALL, common.not_text),
    ])
    app.add_error_handler(on_error)


async def start_app(application: TutorApp, *, poll: bool = True, poll_timeout: int = 1) -> Inbox:
    """Initialise (retrying while Telegram is unreachable), start, and feed the application from
    the inbox. Used by `serve` and by the tests, in their own event loop."""
    for attempt, delay in enumerate((*STARTUP_BACKOFF, None), 1):
        try:
            await application.initialize()
            break
        except InvalidToken:
            raise
        except (NetworkError, TimedOut) as exc:
            if delay is None:
                raise
            log.warning("Telegram unreachable at start (%s); try %d in %.0f s", exc.__class__.__name__, attempt + 1, delay)
            await asyncio.sleep(delay)
    await post_init(application)
    if poll:
        await application.bot.delete_webhook()  # getUpdates answers 409 while a webhook is set
    await application.start()
    inbox = Inbox(application, poll_timeout=poll_timeout)
    application.bot_data[INBOX] = inbox
    inbox.start(poll=poll)
    return inbox


async def stop_app(application: TutorApp) -> None:
    """Stop within about `GRACE` seconds whatever Telegram does; unfinished updates stay pending."""
    inbox: Inbox | None = application.bot_data.pop(INBOX, None)
    sending.stop_retrying(application.bot)
    # At once, not one after the other: handlers get GRACE seconds while PTB waits for a running
    # job (a push whose sends are retrying through an outage), so the two waits do not add up.
    await asyncio.gather(
        inbox.stop() if inbox is not None else asyncio.sleep(0),
        cancel_background(application),
        application.stop() if application.running else asyncio.sleep(0),
    )
    await post_shutdown(application)
    await application.shutdown()
    sending.resume_retrying(application.bot)


def inbox_of(application: Application) -> Inbox:  # type: ignore[type-arg]
    inbox: Inbox = application.bot_data[INBOX]
    return inbox


async def serve(application: TutorApp, *, webhook_url: str | None = None, listen: str = "127.0.0.1", port: int = 8443) -> None:
    """Run until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    inbox = await start_app(application, poll=webhook_url is None, poll_timeout=30)
    # the picture renderer's process (matplotlib's import, about 1.5 s) now, not on the first /stats
    run_in_background(application, charts.warm_up(), "charts-warm-up")
    server = None
    try:
        if webhook_url:
            from .webhook import start_webhook

            server = await start_webhook(application, inbox, webhook_url=webhook_url, listen=listen, port=port)
        log.info("running: %d questions, database %s", len(services_of(application).bank), services_of(application).config.db_path)
        await stop.wait()
        log.info("stopping")
    finally:
        if server is not None:
            server.stop()
        await stop_app(application)


def run(webhook_url: str | None = None, listen: str = "127.0.0.1", port: int = 8443) -> int:
    """Entry point of `tutor-bot run`: a configuration problem is one line and exit code 2 (a token
    Telegram rejects too: bot/cli.py catches InvalidToken around this call)."""
    import sys

    from content import ContentError
    from storage import StorageError, Store

    from .config import ConfigError, load_config
    from .errors import setup_logging
    from .observability import JsonFormatter

    try:
        config = load_config()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.log_level, [config.token],
                  JsonFormatter([config.token]) if config.log_format == "json" else None)
    try:
        bank = load_bank()
    except ContentError as exc:
        print(f"error: {exc} — run `tutor-bot content check`", file=sys.stderr)
        return 1
    try:  # one clear line for a corrupt, newer, read-only or unwritable database
        Store.open(config.db_path).close()
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    application = build_application(config, bank=bank)
    asyncio.run(serve(application, webhook_url=webhook_url, listen=listen, port=port))
    return 0
