"""JSON log lines: their fields, ids carried across threads, redaction of every part, never stdout."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from localmind.observability import context
from localmind.observability.logs import (
    ConsoleLines,
    ContextFilter,
    JsonFormatter,
    RedactionFilter,
    TextFormatter,
    adopt_library_logs,
    configure_logging,
    guard,
)


def capture(fmt: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    """A logger of its own writing through the context and redaction filters into a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(fmt)
    logger = logging.getLogger(f"localmind.test.{id(stream)}")
    logger.propagate = False
    logger.handlers[:] = [guard(handler)]
    logger.setLevel(logging.DEBUG)
    return logger, stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_every_field() -> None:
    logger, stream = capture(JsonFormatter())
    with context.request_scope(7) as cid:
        logger.warning("breaker %s for %s", "open", "neo4j", extra={"backend": "neo4j", "attempts": 3})
    [entry] = lines(stream)
    assert set(entry) == {"ts", "level", "logger", "message", "request_id", "correlation_id", "extra"}
    assert entry["level"] == "WARNING" and entry["logger"] == logger.name
    assert entry["message"] == "breaker open for neo4j"
    assert entry["request_id"] == "7" and entry["correlation_id"] == cid and len(cid) == 16
    assert entry["extra"] == {"backend": "neo4j", "attempts": 3}
    assert entry["ts"].endswith("Z") and datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).tzinfo


def test_ids_are_null_outside_any_scope_and_exceptions_are_included() -> None:
    logger, stream = capture(JsonFormatter())
    try:
        raise RuntimeError("connect to bolt://neo4j:hunter2@db failed")
    except RuntimeError:
        logger.exception("indexing failed")
    [entry] = lines(stream)
    assert entry["request_id"] is None and entry["correlation_id"] is None
    assert "RuntimeError" in entry["exception"] and "Traceback" in entry["exception"]
    assert "hunter2" not in entry["exception"] and "bolt://neo4j:***@db" in entry["exception"]


def test_carry_keeps_the_ids_on_another_thread() -> None:
    logger, stream = capture(JsonFormatter())
    with context.bound(request="42") as cid, ThreadPoolExecutor(1) as pool:
        pool.submit(context.carry(logger.info), "on the pool").result()
        pool.submit(logger.info, "not carried").result()
    carried, plain = lines(stream)
    assert (carried["request_id"], carried["correlation_id"]) == ("42", cid)
    assert (plain["request_id"], plain["correlation_id"]) == (None, None)


def test_bound_keeps_an_outer_correlation_and_request_scope_starts_its_own() -> None:
    with context.bound(correlation="outer-run") as outer:
        assert outer == "outer-run"
        with context.bound() as inner:
            assert inner == "outer-run"
        with context.request_scope("9") as request:
            assert request != "outer-run"
            assert context.current_ids() == {"request_id": "9", "correlation_id": request}
            assert context.correlation_headers() == {"X-Correlation-ID": request}
        assert context.current_ids() == {"correlation_id": "outer-run"}
    assert context.current_ids() == {} and context.correlation_headers() == {}


def test_request_scope_ids_follow_asyncio_tasks() -> None:
    logger, stream = capture(JsonFormatter())

    async def handler() -> None:
        await asyncio.sleep(0)
        logger.info("inside")

    async def dispatch() -> None:
        tasks = []
        for msg_id in (1, 2):
            with context.request_scope(msg_id):
                tasks.append(asyncio.ensure_future(handler()))
        await asyncio.gather(*tasks)

    asyncio.run(dispatch())
    first, second = lines(stream)
    assert {first["request_id"], second["request_id"]} == {"1", "2"}
    assert first["correlation_id"] != second["correlation_id"]


def test_message_args_and_extras_are_redacted() -> None:
    logger, stream = capture(JsonFormatter())
    logger.error(
        "calling %s with %s",
        "http://u:pw12345@llm/v1",
        {"Authorization": "Bearer abc", "max_tokens": 5},
        extra={"api_key": "sk-live", "token_count": 12, "url": "bolt://n:secret9@h"},
    )
    [entry] = lines(stream)
    assert entry["message"] == "calling http://u:***@llm/v1 with {'Authorization': 'Bearer ***', 'max_tokens': 5}"
    assert entry["extra"] == {"api_key": "***", "token_count": 12, "url": "bolt://n:***@h"}


def test_a_record_is_redacted_once_and_every_handler_sees_the_redacted_text() -> None:
    first, second = io.StringIO(), io.StringIO()
    logger = logging.getLogger("localmind.test.two-handlers")
    logger.propagate = False
    logger.handlers[:] = [guard(logging.StreamHandler(first)), guard(logging.StreamHandler(second))]
    logger.warning("password=%s", "hunter2")
    assert first.getvalue() == second.getvalue() == "password=***\n"


def test_guard_adds_each_filter_once() -> None:
    handler = guard(guard(logging.StreamHandler(io.StringIO())))
    assert sorted(type(f).__name__ for f in handler.filters) == ["ContextFilter", "RedactionFilter"]
    assert any(isinstance(f, ContextFilter) for f in handler.filters)
    assert any(isinstance(f, RedactionFilter) for f in handler.filters)


def test_text_lines_name_the_ids_when_set() -> None:
    logger, stream = capture(TextFormatter())
    logger.warning("plain")
    with context.request_scope("3") as cid:
        logger.warning("token=abc123")
    assert stream.getvalue().splitlines() == [
        f"WARNING {logger.name}: plain",
        f"WARNING {logger.name}: token=*** [request=3 correlation={cid}]",
    ]


def test_configure_logging_writes_json_to_stderr_never_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(logging.INFO, "json")
    logging.getLogger("localmind.test").info("hello %s", "there")
    logging.getLogger("other.library").warning("secret=abc123")
    captured = capsys.readouterr()
    assert captured.out == ""
    entries = [json.loads(line) for line in captured.err.splitlines()]
    assert [e["message"] for e in entries] == ["hello there", "secret=***"]


def test_configure_logging_replaces_its_handler_and_drops_stdout_handlers() -> None:
    root = logging.getLogger()
    root.addHandler(logging.StreamHandler(sys.stdout))
    configure_logging(logging.WARNING, "text")
    configure_logging(logging.WARNING, "json")
    ours = [h for h in root.handlers if getattr(h, "_localmind_handler", False)]
    assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
    assert not any(getattr(h, "stream", None) is sys.stdout for h in root.handlers)
    assert all(any(isinstance(f, RedactionFilter) for f in h.filters) for h in root.handlers)


def test_configure_logging_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "logs" / "localmind.log"
    configure_logging("INFO", "json", target)
    logging.getLogger("localmind.test").info("to the file, Authorization: Bearer xyz")
    for handler in logging.getLogger().handlers:
        handler.flush()
    [entry] = [json.loads(line) for line in target.read_text().splitlines()]
    assert entry["message"] == "to the file, Authorization: Bearer ***"
    assert capsys.readouterr() == ("", "")


def test_configure_logging_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="text, json"):
        configure_logging(logging.INFO, "xml")  # type: ignore[arg-type]


def test_warnings_become_log_records(capsys: pytest.CaptureFixture[str]) -> None:
    import warnings

    configure_logging(logging.WARNING, "json")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("deprecated thing, token=abc123", DeprecationWarning, stacklevel=1)
    [entry] = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert entry["logger"] == "py.warnings" and "token=***" in entry["message"]


def test_console_lines_become_records_with_their_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(logging.WARNING, "json")
    console = ConsoleLines()
    console.write("\x1b[1;31merror:\x1b[0m cannot read x\nindexed 1/2 files")
    console.write(" more\n\nwarning: neo4j is unavailable (password=abc123)")
    console.flush()
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(e["level"], e["message"]) for e in entries] == [
        ("ERROR", "error: cannot read x"),
        ("INFO", "indexed 1/2 files more"),
        ("WARNING", "warning: neo4j is unavailable (password=***)"),
    ]


def test_library_loggers_with_their_own_handlers_are_adopted(capsys: pytest.CaptureFixture[str]) -> None:
    library = logging.getLogger("pymilvus")
    saved = (list(library.handlers), library.propagate, library.level)
    own = io.StringIO()
    library.handlers[:] = [logging.StreamHandler(own)]
    library.propagate = False
    library.setLevel(logging.NOTSET)  # pymilvus, once imported by an earlier test, may have raised its level.
    try:
        configure_logging(logging.WARNING, "json")
        adopt_library_logs()
        library.warning("uri http://root:Milvus1@h:19530")
        # Only this library's lines: a thread an earlier test left behind may log meanwhile.
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        [entry] = [line for line in lines if line["logger"] == "pymilvus"]
        assert entry["message"] == "uri http://root:***@h:19530" and own.getvalue() == ""
    finally:
        library.handlers[:], library.propagate, level = saved
        library.setLevel(level)


def test_the_client_log_handler_redacts_and_forwards() -> None:
    from localmind.lsp.logs import ClientLogHandler

    sent: list[Any] = []

    class FakeServer:
        def window_log_message(self, params: Any) -> None:
            sent.append(params)

    async def scenario() -> None:
        handler = ClientLogHandler(FakeServer(), asyncio.get_running_loop())  # type: ignore[arg-type]
        logger = logging.getLogger("localmind.test.client")
        logger.propagate = False
        logger.handlers[:] = [handler]
        worker = threading.Thread(target=logger.warning, args=("api_key=%s", "sk-123456"))
        worker.start()
        worker.join(5)
        await asyncio.sleep(0.05)

    asyncio.run(scenario())
    assert [p.message for p in sent] == ["api_key=***"]
