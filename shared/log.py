"""JSON-lines logging for Cloud Logging, with a component tag and a filter that redacts secrets.

Each record becomes one JSON object on stdout: `severity` and `message` are what Cloud Logging
reads; `component` lands in jsonPayload so `jsonPayload.component="SPECIAL"` filters work; the
message itself starts with `[SPECIAL]` so a plain text search works too.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

COMPONENTS = ("SCOUT", "WORKER", "SPECIAL", "TOKENS", "PLANNER", "SCHEDULER", "SIMULATOR", "TESLA")

_trace: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace", default=None)

# Shapes that look like credentials: JWTs, bearer headers, Tesla tokens, long opaque strings.
_TOKEN_PATTERNS = [
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)?"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)((?:access|refresh|id)_token[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]{4,}"),
    re.compile(r"(?i)((?:client_secret|password|api_token|secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]{4,}"),
    # Long opaque strings (Tesla refresh tokens); our own job and session names are not secrets.
    re.compile(r"(?<![A-Za-z0-9_-])(?!special[-_])[A-Za-z0-9_-]{40,}(?![A-Za-z0-9_-])"),
]
_known_secrets: set[str] = set()
_secrets_lock = threading.Lock()
REDACTED = "[REDACTED]"


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember exact secret values (from settings or the token store) so they are always redacted."""
    with _secrets_lock:
        for value in values:
            if value and len(value) >= 6:
                _known_secrets.add(value)


def redact(text: str) -> str:
    """Replace anything that looks like a token or a known secret with [REDACTED]."""
    with _secrets_lock:
        known = sorted(_known_secrets, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern in _TOKEN_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def set_trace(header: str | None, project: str | None) -> contextvars.Token[str | None]:
    """Bind the request's X-Cloud-Trace-Context to the log lines written while it is served."""
    value = None
    if header and project:
        trace_id = header.split("/", 1)[0].strip()
        if re.fullmatch(r"[0-9a-fA-F]{1,64}", trace_id):
            value = f"projects/{project}/traces/{trace_id}"
    return _trace.set(value)


def reset_trace(token: contextvars.Token[str | None]) -> None:
    _trace.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, redacted, with the fields Cloud Logging understands."""

    def format(self, record: logging.LogRecord) -> str:
        component = getattr(record, "component", None) or "WORKER"
        message = record.getMessage()
        if not message.startswith("["):
            message = f"[{component}] {message}"
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        entry: dict[str, Any] = {
            "severity": _severity(record.levelno),
            "message": redact(message),
            "component": component,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                if key not in entry:
                    entry[key] = value
        trace = _trace.get()
        if trace:
            entry["logging.googleapis.com/trace"] = trace
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


def _severity(levelno: int) -> str:
    if levelno >= logging.CRITICAL:
        return "CRITICAL"
    if levelno >= logging.ERROR:
        return "ERROR"
    if levelno >= logging.WARNING:
        return "WARNING"
    if levelno >= logging.INFO:
        return "INFO"
    return "DEBUG"


class ComponentLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger that tags every line with its component; extra keyword fields go to jsonPayload."""

    def __init__(self, logger: logging.Logger, component: str) -> None:
        super().__init__(logger, {"component": component})
        self.component = component

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        fields = kwargs.pop("fields", None)
        extra = {"component": self.component}
        if fields:
            extra["fields"] = fields
        kwargs["extra"] = extra
        return f"[{self.component}] {msg}", kwargs


_configured = False
_configure_lock = threading.Lock()


def configure_logging(level: int | None = None, stream: Any = None) -> None:
    """Send every record of the root logger to stdout as JSON lines (idempotent).

    Later calls without arguments keep what an earlier call set up (tests and the simulation
    choose a level or stream first, then build apps that call this again).
    """
    global _configured
    with _configure_lock:
        root = logging.getLogger()
        if level is not None:
            root.setLevel(level)
        if _configured and stream is None:
            return
        for handler in list(root.handlers):
            if getattr(handler, "_tesla_offpeak", False):
                root.removeHandler(handler)
        handler = logging.StreamHandler(stream or sys.stdout)
        handler.setFormatter(JsonFormatter())
        handler._tesla_offpeak = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        if level is None and not _configured:
            root.setLevel(logging.INFO)
        for noisy in ("urllib3", "werkzeug", "google", "grpc", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        _configured = True


def get_logger(component: str) -> ComponentLogger:
    """The logger for one component (`SCOUT`, `WORKER`, `SPECIAL`, ...)."""
    return ComponentLogger(logging.getLogger(f"tesla_offpeak.{component.lower()}"), component.upper())
