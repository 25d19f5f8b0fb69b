"""What the command line prints while it works: warnings, errors and run summaries, as text or
as JSON lines (``--log-format json``), each JSON line tagged with its scope and run id; and how a
command's errors become that one line and their exit code (`reported_errors`)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from .errors import CatalogError, HarvesterError, Interrupted
from .render import json_text

log = logging.getLogger("harvester")
# The scope and run id of the run in progress, for every log line it writes.
current_run: ContextVar[dict[str, Any] | None] = ContextVar("current_run", default=None)


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, message, the run's scope and id, and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "message": record.getMessage(), **(current_run.get() or {}),
                **getattr(record, "fields", {})}
        return json_text(line)


class Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"harvester: {record.getMessage()}"


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes: a live progress display replaces
    it meanwhile, to print lines above itself instead of through itself."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def setup(log_format: str = "text", *, quiet: bool = False) -> None:
    """Send harvester's records to stderr; ``quiet`` keeps only errors (cron mails nothing on success)."""
    handler = _Stderr()
    handler.setFormatter(JsonLines() if log_format == "json" else Text())
    log.handlers[:] = [handler]
    log.setLevel(logging.ERROR if quiet else logging.INFO)
    log.propagate = False
    # SQLAlchemy logs what it swallows (a connection that failed to close, with its traceback);
    # harvester reports database errors itself, in one line, so those never reach stderr.
    logging.getLogger("sqlalchemy").addHandler(logging.NullHandler())
    logging.getLogger("sqlalchemy").propagate = False


@contextmanager
def on_event(event: str, callback: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """Call ``callback`` with the fields of each record of ``event`` (``retry``, ...) logged meanwhile,
    whatever the level shown: a progress display shows a wait that ``--quiet`` keeps off stderr."""

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            fields = getattr(record, "fields", {})
            if fields.get("event") == event:
                callback(fields)

    handler = Handler()
    log.addHandler(handler)
    try:
        yield
    finally:
        log.removeHandler(handler)


def stopping_line(log_format: str) -> bytes:
    """The line a first Ctrl-C or SIGTERM writes, as the logs are written (text, or a JSON object),
    on a line of its own on a terminal."""
    text = "stopping after the current page (again to abort)"
    if log_format == "json":
        line = json_text({"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": "warning",
                           "message": text, "event": "stopping"})
    else:
        line = ("\r\x1b[2K" if sys.stderr.isatty() else "") + f"harvester: {text}"
    return (line + "\n").encode()


def run_finished(summary: str, record: dict[str, Any]) -> None:
    """A run's summary: the line in text, the whole run record in JSON."""
    log.info(summary, extra={"fields": {"event": "run", **{f"run_{k}" if k == "id" else k: v
                                                             for k, v in record.items()}}})


def failed(message: str, exit_code: int, run: dict[str, Any] | None = None) -> None:
    """The one line that says why a command failed, and the exit code it ends with; the scope
    and id of the run it ended, if one was recorded."""
    tags = {"scope": run["scope"], "run_id": run["id"]} if run else {}
    log.error(message, extra={"fields": {**tags, "event": "error", "exit_code": exit_code}})


def report(exc: HarvesterError, kind: str | None = None) -> None:
    """One line on stderr (or one JSON object) for an error; ``kind`` when several kinds ran."""
    if isinstance(exc, Interrupted):
        failed(f"interrupted: {exc}; the next run resumes from there", exc.exit_code, exc.run)
    else:
        failed(f"error: {kind}: {exc}" if kind else f"error: {exc}", exc.exit_code, exc.run)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn harvester's own errors into one line on stderr and their documented exit code."""
    from sqlalchemy.exc import SQLAlchemyError

    from .results import unreadable

    try:
        yield
    except HarvesterError as exc:
        report(exc)
        sys.exit(exc.exit_code)
    except SQLAlchemyError as exc:  # reading commands (status, changes, search): the database's own reason
        report(unreadable(exc))
        sys.exit(CatalogError.exit_code)
    except KeyboardInterrupt:  # Ctrl-C where no stop handler runs (query, export; a sync has its own): one line
        failed("interrupted", Interrupted.exit_code)
        sys.exit(Interrupted.exit_code)
