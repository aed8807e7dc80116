"""Logging: one JSON object per line (python-json-logger), with a correlation id on every line.

Every record carries ``time``, ``level``, ``logger``, ``message`` and, inside a request or a
delivery, ``correlation_id`` (the client's WS-Addressing ``MessageID`` or ``X-Request-ID`` when it
sent one, else a fresh id). Extra fields are given as ``log.info("...", extra={"error_guid": g})``.
Passwords and letter content are never logged: nothing logs request bodies, and the only request
fields logged are names of operations, references and system-user names.
``INNBYGGERPOST_LOG_FORMAT=text`` gives plain lines for a terminal.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from pythonjsonlogger.json import JsonFormatter

_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)

NOISY = ("zeep", "urllib3", "spyne", "alembic.runtime.migration")


# The longest message a log line carries (issue 14: a schema fault quoted 64 KB of a letter, a 2 MiB
# element name wrote a 4 MB line). Longer messages are cut, saying how much was left out.
MAX_MESSAGE = 2000


def bounded(value: object, limit: int) -> str | None:
    """A client-supplied value as a log field: at most ``limit`` characters (None stays None)."""
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "correlation_id"):
            record.correlation_id = _correlation.get()
        if record.args or len(str(record.msg)) > MAX_MESSAGE:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - leave a record that does not format as it is
                return True
            if len(message) > MAX_MESSAGE:
                record.msg, record.args = bounded(message, MAX_MESSAGE), None
        return True


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Log to stderr at ``level``; ``fmt`` is ``json`` or ``text``. Safe to call again."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    handler.addFilter(_CorrelationFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def correlation_id() -> str | None:
    return _correlation.get()


@contextmanager
def correlated(value: str | None = None) -> Iterator[str]:
    """Run a block (one request, one delivery) under a correlation id."""
    cid = value or uuid.uuid4().hex
    token = _correlation.set(cid)
    try:
        yield cid
    finally:
        _correlation.reset(token)
