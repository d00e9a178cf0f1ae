"""Logging for the whole process: text or JSON lines, on stderr or in a file (never stdout, which carries
results and, under `localmind serve`, the JSON-RPC stream), with every record redacted and stamped with
the request and correlation ids of the work that logged it.

A JSON line holds ``ts`` (ISO-8601 UTC, milliseconds), ``level``, ``logger``, ``message``,
``request_id`` and ``correlation_id`` (null when unset), ``exception`` (the traceback, when there is
one) and ``extra`` (the fields given with ``extra=``, redacted by key), for example::

    {"ts": "2026-11-26T10:54:17.123Z", "level": "WARNING", "logger": "localmind.resilience.guard",
     "message": "neo4j: breaker open", "request_id": "7", "correlation_id": "5f0c2a9d41e3b7a0",
     "extra": {"backend": "neo4j"}}
"""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, cast

from localmind.observability import context
from localmind.observability.redaction import redact_text, redact_value

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "request_id",
    "correlation_id",
    "_localmind_redacted",
}
# Marks the handlers configure_logging installed, so a second call replaces them instead of adding more.
_OURS = "_localmind_handler"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record was given with `extra=`."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES}


class ContextFilter(logging.Filter):
    """Stamps each record with the request id and correlation id of the context that logged it (a
    record that already has them, from another handler, keeps them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "correlation_id"):
            record.request_id = context.request_id.get()
            record.correlation_id = context.correlation_id.get()
        return True


class RedactionFilter(logging.Filter):
    """Masks secrets in a record before any handler writes it: the message (formatted with its args),
    the exception and stack text, and the extra fields (by key, see observability.redaction).

    The record is changed in place, once, so every handler after the first sees the redacted record.
    """

    _exceptions = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_localmind_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # A bad format string: keep what there is, as logging itself would report it.
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        for key, value in extra_fields(record).items():
            setattr(record, key, redact_value(value, key))
        record._localmind_redacted = True
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module docstring for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _iso_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "correlation_id": getattr(record, "correlation_id", None),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        extra = extra_fields(record)
        if extra:
            entry["extra"] = extra
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``LEVEL logger: message``, followed by ``[request=… correlation=…]`` when the ids are set."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{name}={value}"
            for name, value in (
                ("request", getattr(record, "request_id", None)),
                ("correlation", getattr(record, "correlation_id", None)),
            )
            if value
        ]
        if not ids:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} [{' '.join(ids)}]{newline}{rest}"


def _iso_utc(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def guard(handler: logging.Handler) -> logging.Handler:
    """A handler with the context and redaction filters (once each); returns it."""
    kinds = {type(existing) for existing in handler.filters}
    if ContextFilter not in kinds:
        handler.addFilter(ContextFilter())
    if RedactionFilter not in kinds:
        handler.addFilter(RedactionFilter())
    return handler


def formatter(fmt: LogFormat) -> logging.Formatter:
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)} (got {fmt!r})")
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure_logging(level: int | str = logging.WARNING, fmt: LogFormat = "text", file: Path | None = None) -> None:
    """Send the process's logs to stderr (or `file`, appended to; reopened when rotated away) in `fmt`.

    Calling it again replaces what an earlier call installed. Handlers that others installed on the root
    logger get the redaction filter too; one that writes to stdout is removed, since stdout is not for logs.
    """
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, _OURS, False) or _writes_to_stdout(existing):
            root.removeHandler(existing)
            if getattr(existing, _OURS, False):
                existing.close()
        else:
            guard(existing)
    handler: logging.Handler
    if file is not None:
        path = file.expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    setattr(handler, _OURS, True)
    root.addHandler(guard(handler))
    root.setLevel(level)
    logging.captureWarnings(True)


# Libraries that give their loggers handlers of their own (which neither redact nor write JSON).
LIBRARY_LOGGERS = ("pymilvus", "pymilvus.milvus_client", "pymilvus.bulk_writer")


def adopt_library_logs(names: tuple[str, ...] = LIBRARY_LOGGERS) -> None:
    """Route the named loggers (once their library is imported) through the process's handlers: their
    own handlers are removed and they propagate again. pymilvus installs its own stderr handlers when
    imported, so call this after importing it."""
    for name in names:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True


def _writes_to_stdout(handler: logging.Handler) -> bool:
    stream = getattr(handler, "stream", None)
    return stream is not None and stream in (sys.stdout, sys.__stdout__)


def console_lines(logger: str = "localmind.console") -> IO[str]:
    """A ConsoleLines stream, typed as the text stream a rich Console writes to."""
    return cast(IO[str], ConsoleLines(logger))


# Colour and cursor codes a console may write when it was created on a terminal.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class ConsoleLines(io.TextIOBase):
    """A text stream whose lines become log records of `logger` (for a console's stderr output while the
    logs are JSON, so that every stderr line is one JSON object). Lines starting with "error:" or
    "warning:" get that level, the others INFO; they are written whatever the logger's level, since
    they are the command's own messages, not debug output."""

    def __init__(self, logger: str = "localmind.console") -> None:
        super().__init__()
        self._logger = logging.getLogger(logger)
        self._pending = ""

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            line, self._pending = self._pending, ""
            self._emit(line)

    def _emit(self, line: str) -> None:
        line = _ANSI_ESCAPE.sub("", line).rstrip()
        if not line.strip():
            return
        lowered = line.lstrip().lower()
        level = (
            logging.ERROR
            if lowered.startswith("error:")
            else logging.WARNING
            if lowered.startswith("warning:")
            else logging.INFO
        )
        self._logger.handle(self._logger.makeRecord(self._logger.name, level, "(console)", 0, line, (), None))
