"""JSON log lines without the token, and the Prometheus endpoint scraped over HTTP on 127.0.0.1."""

from __future__ import annotations

import io
import json
import logging
import socket
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from bot import observability
from bot.observability import (
    JsonFormatter,
    Metrics,
    log_format_from_env,
    metrics_address,
    start_metrics_server,
)

TOKEN = "000000:FAKE-token-used-only-to-test-redaction"  # never a real token in the repository


def log_lines(emit) -> list[dict]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter([TOKEN]))
    logger = logging.getLogger("test.observability")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    emit(logger)
    text = stream.getvalue()
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    return [json.loads(line) for line in text.splitlines()]


def test_one_json_object_per_line_with_the_fields():
    [entry] = log_lines(lambda log: log.info("started: %d questions", 42))
    assert entry["level"] == "INFO" and entry["logger"] == "test.observability"
    assert entry["message"] == "started: 42 questions"
    assert entry["time"].endswith("Z") and "T" in entry["time"]
    assert "exc_info" not in entry


def test_the_token_in_a_message_or_its_arguments_is_redacted():
    lines = log_lines(lambda log: (
        log.warning(f"GET https://api.telegram.org/bot{TOKEN}/getMe failed"),
        log.info("HTTP Request: %s", f"POST https://api.telegram.org/bot{TOKEN}/sendMessage"),
    ))
    assert [e["message"] for e in lines] == [
        "GET https://api.telegram.org/bot[REDACTED]/getMe failed",
        "HTTP Request: POST https://api.telegram.org/bot[REDACTED]/sendMessage",
    ]


def test_the_token_in_an_exception_is_redacted_and_the_traceback_kept():
    def emit(log: logging.Logger) -> None:
        try:
            raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
        except RuntimeError:
            log.exception("update %s failed", 7)

    [entry] = log_lines(emit)
    assert entry["message"] == "update 7 failed"
    assert "Traceback (most recent call last)" in entry["exc_info"]
    assert "RuntimeError: The token `[REDACTED]` was rejected" in entry["exc_info"]


def test_a_message_with_newlines_and_quotes_stays_one_line():
    [entry] = log_lines(lambda log: log.info('line one\nline "two" ✓'))
    assert entry["message"] == 'line one\nline "two" ✓'


def test_log_format_setting():
    assert log_format_from_env({}) == "text"
    assert log_format_from_env({"LOG_FORMAT": "JSON"}) == "json"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        log_format_from_env({"LOG_FORMAT": "xml"})


def test_metrics_address_setting():
    assert metrics_address({}) is None
    assert metrics_address({"TUTOR_METRICS_PORT": "9464"}) == ("127.0.0.1", 9464)
    assert metrics_address({"TUTOR_METRICS_PORT": "9464", "TUTOR_METRICS_ADDR": "0.0.0.0"}) == ("0.0.0.0", 9464)
    for bad in ("http", "0", "70000", "-1"):
        with pytest.raises(ValueError, match="TUTOR_METRICS_PORT"):
            metrics_address({"TUTOR_METRICS_PORT": bad})


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        return response.read().decode()


def sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in the scrape")


def test_every_metric_counts_what_it_names():
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    before = generate_latest(registry).decode()
    # Every series exists at 0 before its first event.
    assert sample(before, 'tutor_bot_verdicts_total{verdict="partial"}') == 0
    assert sample(before, 'tutor_bot_sends_total{outcome="retry_after"}') == 0
    metrics.count_update("message")
    metrics.count_update("callback_query")
    metrics.count_update("a kind nobody expected")
    metrics.count_verdict("correct")
    metrics.count_verdict("correct")
    metrics.observe_send("ok", 0.08)
    metrics.observe_send("retry_after", 1.2)
    metrics.count_rate_limited()
    queue: list[int] = [1, 2, 3]
    metrics.watch_inbox_depth(lambda: len(queue))
    text = generate_latest(registry).decode()
    assert sample(text, 'tutor_bot_updates_total{kind="message"}') == 1
    assert sample(text, 'tutor_bot_updates_total{kind="other"}') == 1
    assert sample(text, 'tutor_bot_verdicts_total{verdict="correct"}') == 2
    assert sample(text, 'tutor_bot_sends_total{outcome="ok"}') == 1
    assert sample(text, "tutor_bot_rate_limited_total") == 1
    assert sample(text, "tutor_bot_send_seconds_count") == 2
    assert sample(text, 'tutor_bot_send_seconds_bucket{le="0.1"}') == 1
    assert sample(text, "tutor_bot_inbox_depth") == 3


def test_the_bot_functions_are_scraped_over_http_from_the_default_registry():
    server = start_metrics_server(0)
    try:
        before = sample(scrape(server.port), 'tutor_bot_verdicts_total{verdict="incorrect"}')
        observability.count_verdict("incorrect")
        observability.count_update("message")
        observability.observe_send("forbidden", 0.05)
        observability.count_rate_limited()
        observability.set_inbox_depth(5)
        text = scrape(server.port)
    finally:
        server.close()
    assert sample(text, 'tutor_bot_verdicts_total{verdict="incorrect"}') == before + 1
    assert sample(text, "tutor_bot_inbox_depth") == 5
    assert "process_resident_memory_bytes" in text  # the library's process metrics come along
    for name in ("tutor_bot_updates_total", "tutor_bot_verdicts_total", "tutor_bot_sends_total",
                 "tutor_bot_rate_limited_total", "tutor_bot_send_seconds_bucket", "tutor_bot_inbox_depth"):
        assert f"\n{name}" in text, name
    assert TOKEN not in text


def test_a_port_in_use_is_one_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            start_metrics_server(port, registry=CollectorRegistry())


def test_update_kinds_and_send_outcomes_map_ptb_objects_to_labels():
    from telegram import Update
    from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TimedOut

    from bot.observability import send_outcome, update_kind

    message = Update.de_json({"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
                                                         "text": "hi"}}, None)
    assert update_kind(message) == "message"
    assert update_kind(Update(2)) == "other"
    assert send_outcome(None) == "ok"
    assert send_outcome(RetryAfter(3)) == "retry_after"
    assert send_outcome(Forbidden("bot was blocked by the user")) == "forbidden"
    assert send_outcome(BadRequest("chat not found")) == "bad_request"
    assert send_outcome(TimedOut()) == "network_error"
    assert send_outcome(ChatMigrated(5)) == "error"


async def test_observed_send_counts_and_times_each_outcome():
    import asyncio

    from telegram.error import Forbidden

    from bot.observability import default_metrics, observed_send

    def count(outcome: str) -> float:
        return sample(generate_latest().decode(), f'tutor_bot_sends_total{{outcome="{outcome}"}}')

    default_metrics()
    ok, forbidden, sent_before = count("ok"), count("forbidden"), sample(generate_latest().decode(),
                                                                         "tutor_bot_send_seconds_count")
    with observed_send():
        await asyncio.sleep(0)
    with pytest.raises(Forbidden), observed_send():
        raise Forbidden("bot was blocked by the user")
    with pytest.raises(asyncio.CancelledError), observed_send():
        raise asyncio.CancelledError
    assert count("ok") == ok + 1 and count("forbidden") == forbidden + 1
    assert sample(generate_latest().decode(), "tutor_bot_send_seconds_count") == sent_before + 2
