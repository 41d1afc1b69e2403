"""What a log shipper and Prometheus see: JSON log lines (``LOG_FORMAT=json``) and optional
metrics (``TUTOR_METRICS_PORT``). Neither ever contains the token.

Metrics use the ``prometheus-client`` library. The counters are cheap (a lock and an add, about
a microsecond), so they are always counted; the HTTP endpoint exists only when
``TUTOR_METRICS_PORT`` is set. Labels take values from fixed sets only (an unknown value is
counted as ``other``): a label fed from user input would grow without bound.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

# ---------------------------------------------------------------------------------------- logs


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced, as bot/errors.py's RedactingFormatter does."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[REDACTED]")
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601, milliseconds), ``level``, ``logger``,
    ``message``, and ``exc_info`` (the formatted traceback) when there is one.

    Each value is redacted before it is encoded, then the line again: a secret inside a
    traceback or an argument of a third-party log call (httpx logs URLs, which hold the token)
    never reaches the shipper.
    """

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        entry = {key: redact(value, self.secrets) for key, value in entry.items()}
        return redact(json.dumps(entry, ensure_ascii=False), self.secrets)


LOG_FORMATS = ("text", "json")


def log_format_from_env(env: Mapping[str, str]) -> str:
    """``LOG_FORMAT``: ``text`` (the default) or ``json``; ValueError names the variable."""
    value = (env.get("LOG_FORMAT") or "text").strip().lower()
    if value not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be text or json, got {value!r}")
    return value


# ------------------------------------------------------------------------------------- metrics

UPDATE_KINDS = ("message", "edited_message", "callback_query", "my_chat_member", "chat_member", "other")
VERDICTS = ("correct", "partial", "incorrect", "other")
SEND_OUTCOMES = ("ok", "retry_after", "forbidden", "bad_request", "network_error", "error")
# Telegram usually answers in 50-300 ms; seconds mean the rate limiter or a retry waited.
SEND_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _known(value: str, allowed: tuple[str, ...], fallback: str) -> str:
    return value if value in allowed else fallback


class Metrics:
    """The bot's metrics on one registry (the process-wide one in production, a fresh one in
    a test). Every labelled series exists at 0 from the start, so a rate() over a series that
    has not happened yet is 0, not missing."""

    def __init__(self, registry: CollectorRegistry):
        self.updates = Counter("tutor_bot_updates", "Telegram updates handled, by kind",
                               ["kind"], registry=registry)
        self.verdicts = Counter("tutor_bot_verdicts", "Graded answers, by verdict",
                                ["verdict"], registry=registry)
        self.sends = Counter("tutor_bot_sends", "Bot API send calls, by outcome",
                             ["outcome"], registry=registry)
        self.rate_limited = Counter("tutor_bot_rate_limited",
                                    "429 Too Many Requests answers from Telegram", registry=registry)
        self.send_seconds = Histogram("tutor_bot_send_seconds",
                                      "Seconds from a send call to Telegram's answer (retries included)",
                                      buckets=SEND_BUCKETS, registry=registry)
        self.inbox_depth = Gauge("tutor_bot_inbox_depth", "Updates received and not yet handled",
                                 registry=registry)
        for kind in UPDATE_KINDS:
            self.updates.labels(kind)
        for verdict in VERDICTS:
            self.verdicts.labels(verdict)
        for outcome in SEND_OUTCOMES:
            self.sends.labels(outcome)

    def count_update(self, kind: str) -> None:
        self.updates.labels(_known(kind, UPDATE_KINDS, "other")).inc()

    def count_verdict(self, verdict: str) -> None:
        self.verdicts.labels(_known(verdict, VERDICTS, "other")).inc()

    def observe_send(self, outcome: str, seconds: float) -> None:
        self.sends.labels(_known(outcome, SEND_OUTCOMES, "error")).inc()
        self.send_seconds.observe(seconds)

    def count_rate_limited(self) -> None:
        self.rate_limited.inc()

    def set_inbox_depth(self, depth: int) -> None:
        self.inbox_depth.set(depth)

    def watch_inbox_depth(self, depth: Callable[[], int]) -> None:
        """Read the depth when Prometheus scrapes (e.g. ``application.update_queue.qsize``)
        instead of setting it on every change."""
        self.inbox_depth.set_function(lambda: float(depth()))


@functools.cache
def default_metrics() -> Metrics:
    """The process-wide metrics, registered with prometheus-client's default registry (which
    also carries its process and garbage-collector metrics) on first use."""
    return Metrics(REGISTRY)


# The calls the bot makes; each is a counter update, safe from any thread.

def count_update(kind: str) -> None:
    """An update was handled; ``kind`` is its type (``message``, ``callback_query``, ...)."""
    default_metrics().count_update(kind)


def count_verdict(verdict: str) -> None:
    """An answer was graded ``correct``, ``partial`` or ``incorrect``."""
    default_metrics().count_verdict(verdict)


def observe_send(outcome: str, seconds: float) -> None:
    """A send call ended: ``ok``, ``retry_after``, ``forbidden``, ``bad_request``,
    ``network_error`` or ``error``, after ``seconds``."""
    default_metrics().observe_send(outcome, seconds)


def count_rate_limited() -> None:
    """Telegram answered 429 Too Many Requests."""
    default_metrics().count_rate_limited()


def set_inbox_depth(depth: int) -> None:
    """Updates received and not yet handled, whenever that changes."""
    default_metrics().set_inbox_depth(depth)


def watch_inbox_depth(depth: Callable[[], int]) -> None:
    default_metrics().watch_inbox_depth(depth)


def update_kind(update: object) -> str:
    """The label ``count_update`` wants for a PTB ``Update``: the name of its one payload field."""
    for kind in UPDATE_KINDS[:-1]:
        if getattr(update, kind, None) is not None:
            return kind
    return "other"


def send_outcome(error: BaseException | None) -> str:
    """The label ``observe_send`` wants for how a send ended (None: it went out)."""
    from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

    if error is None:
        return "ok"
    if isinstance(error, RetryAfter):
        return "retry_after"
    if isinstance(error, Forbidden):
        return "forbidden"
    if isinstance(error, BadRequest):  # before NetworkError: PTB's BadRequest is one
        return "bad_request"
    if isinstance(error, NetworkError):  # TimedOut too
        return "network_error"
    return "error"


@contextmanager
def observed_send() -> Iterator[None]:
    """Count and time the send inside: ``with observed_send(): await bot.send_message(...)``.
    A cancelled send (shutdown) is not counted: it did not end, it was abandoned."""
    started = time.perf_counter()
    try:
        yield
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        observe_send(send_outcome(exc), time.perf_counter() - started)
        raise
    observe_send("ok", time.perf_counter() - started)


@dataclass(frozen=True)
class MetricsServer:
    """prometheus-client's HTTP server thread; ``close()`` stops it (post_shutdown)."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_metrics_server(port: int, addr: str = "127.0.0.1",
                         registry: CollectorRegistry = REGISTRY) -> MetricsServer:
    """Serve ``/metrics`` on ``addr:port`` from a daemon thread (port 0: any free port).

    The default address is the loopback: the metrics say nothing secret, but how many people
    use the bot is the owner's business; set ``TUTOR_METRICS_ADDR=0.0.0.0`` for a scraper on
    another machine. Raises OSError with the address when it cannot listen.
    """
    default_metrics()  # the bot's series exist even before their first event
    try:
        server, thread = start_http_server(port, addr=addr, registry=registry)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot serve metrics on {addr}:{port}: {exc.strerror}") from None
    return MetricsServer(server, thread)


def metrics_address(env: Mapping[str, str]) -> tuple[str, int] | None:
    """(``TUTOR_METRICS_ADDR`` or 127.0.0.1, ``TUTOR_METRICS_PORT``), or None when the port is
    unset; ValueError names the variable."""
    raw = (env.get("TUTOR_METRICS_PORT") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"TUTOR_METRICS_PORT must be a port number (1-65535), got {raw!r}")
    return (env.get("TUTOR_METRICS_ADDR") or "127.0.0.1").strip(), int(raw)
