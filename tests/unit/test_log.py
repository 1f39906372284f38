"""Logging: one JSON object per line with Cloud Logging's fields, component tags, trace, no secrets."""

from __future__ import annotations

import io
import json
import logging

from shared.log import configure_logging, get_logger, redact, register_secrets, reset_trace, set_trace

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def capture() -> io.StringIO:
    stream = io.StringIO()
    # The level too: tests that ran before may have left the root logger quieter than INFO.
    configure_logging(level=logging.INFO, stream=stream)
    return stream


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_each_record_is_one_json_line_with_severity_message_and_component() -> None:
    stream = capture()
    get_logger("SPECIAL").warning("session %s scheduled", "special_1_20261124_0700", fields={"step": "send"})
    (entry,) = lines(stream)
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "[SPECIAL] session special_1_20261124_0700 scheduled"
    assert entry["component"] == "SPECIAL" and entry["step"] == "send"


def test_trace_header_becomes_the_cloud_logging_trace_field() -> None:
    stream = capture()
    token = set_trace("105445aa7843bc8bf206b12000100000/1;o=1", "my-project")
    try:
        get_logger("WORKER").info("hello")
    finally:
        reset_trace(token)
    get_logger("WORKER").info("after")
    first, second = lines(stream)
    assert first["logging.googleapis.com/trace"] == "projects/my-project/traces/105445aa7843bc8bf206b12000100000"
    assert "logging.googleapis.com/trace" not in second


def test_tokens_and_registered_secrets_are_redacted_everywhere() -> None:
    stream = capture()
    register_secrets(["my-client-secret-123"])
    log = get_logger("TOKENS")
    log.info(f"got {JWT}")
    log.info("header Authorization: Bearer abcdefghijklmnop")
    log.info("form refresh_token=NA_abcdef123456&client_id=x")
    log.info("config", fields={"value": "my-client-secret-123", "nested": {"access_token": "qwertyuiop1234"}})
    try:
        raise ValueError(f"failed with {JWT}")
    except ValueError:
        log.exception("boom")
    text = stream.getvalue()
    for secret in (JWT, "abcdefghijklmnop", "NA_abcdef123456", "my-client-secret-123", "qwertyuiop1234"):
        assert secret not in text
    assert text.count("[REDACTED]") >= 5


def test_redact_keeps_ordinary_text() -> None:
    text = "session special_1_20261124_0700 at 1234.5 m from home, limit 80 %"
    assert redact(text) == text
    job = "job special-cleanup-special-123456-20261124-0700 deleted"
    assert redact(job) == job


def test_long_opaque_tokens_are_redacted() -> None:
    token = "EU_" + "a1b2c3d4" * 8
    assert redact(f"refresh with {token} now") == "refresh with [REDACTED] now"


def test_other_libraries_log_through_the_same_formatter() -> None:
    stream = capture()
    logging.getLogger("somelib").error("plain")
    (entry,) = lines(stream)
    assert entry["severity"] == "ERROR" and entry["message"] == "[WORKER] plain"
