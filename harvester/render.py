"""Output writers: the status report as text or JSON (OpenMetrics: `openmetrics`), rows as JSON Lines, JSON,
CSV or an aligned table, the graph's trees and uses, the change feed as JSON Lines or CSV, and a sync's
progress line. Pure: each takes what a `Catalog` method returned and a file to write to.

CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return) are prefixed with ``'``, as OWASP recommends; numbers are left alone.
"""

from __future__ import annotations

import csv
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from .graph import Node, Use
    from .records import Run
    from .results import ChangeFeed
    from .status import LockHolder, ScopeStatus, Staleness, Status

STATUS_FORMATS = ("text", "json", "openmetrics")
CHANGE_FORMATS = ("jsonl", "csv")
CHANGE_COLUMNS = ("seq", "run_id", "kind", "hub_id", "repo_id", "change", "fields", "previous_id", "changed_at")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ALIGNED_SAMPLE = 1_000  # rows read ahead to size the columns of an aligned table


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` with thousands separators and the noun in the right number: "1 page", "2,000 pages"."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def summary(run: Run) -> str:
    """A run as one line: scope, id, status, mode, whether the walk ended, pages, requests, rows."""
    from .lanes import outcome

    walk = outcome(run.mode, run.complete)
    counts = run.as_dict()
    outcomes = [f"{counts['rows_' + name]:,} {name}" for name in ("inserted", "updated", "unchanged", "rejected")]
    outcomes += [f"{counts['rows_' + name]:,} {name}" for name in ("renamed", "deleted") if counts["rows_" + name]]
    return (f"{run.scope}: run {run.id} {run.status} ({run.mode}, {walk}): {plural(run.pages, 'page')}, "
            f"{plural(run.requests, 'request')}, {plural(run.retries, 'retry', 'retries')}; "
            f"{plural(run.rows_seen, 'row')} read: {', '.join(outcomes)}"
            + (f"; {plural(run.samples_taken, 'sample')}" if run.samples_taken else ""))


@contextmanager
def progress(enabled: bool, kind: str) -> Iterator[Callable | None]:
    """A live line of a kind's sync on a terminal: pages, rows, rows/s and retries, or the wait
    before a retry; nothing when not ``enabled``. Its value is `harvest`'s ``on_page``."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.live import Live

    from . import logs

    started = time.monotonic()
    with Live(console=Console(stderr=True), refresh_per_second=4, transient=True) as live, \
            logs.on_event("retry", lambda fields: live.update(
                f"[bold]sync {kind}[/] waiting {fields['wait_seconds']:.1f} s to retry "
                f"({fields['attempt']}/{fields['attempts']}): {fields['reason']}")):
        def show(stats) -> None:
            rate = stats.rows_seen / max(time.monotonic() - started, 1e-6)
            live.update(f"[bold]sync {kind}[/] {plural(stats.pages, 'page')}  {stats.rows_seen:,} rows  "
                        f"{rate:,.0f} rows/s  {plural(stats.requests, 'request')}  "
                        f"{plural(stats.retries, 'retry', 'retries')}")

        yield show



# --- status ---------------------------------------------------------------------------------------

def status(report: Status, format_: str, out: IO[str], *, now: datetime | None = None) -> None:
    """Write `Catalog.status()`'s report as ``text``, ``json`` or ``openmetrics``."""
    now = now or datetime.now(UTC)
    if format_ == "json":
        out.write(json.dumps(report.as_json()) + "\n")
    elif format_ == "openmetrics":
        from .openmetrics import openmetrics

        out.write(openmetrics(report, now=now))
    elif format_ == "text":
        out.write("\n".join(status_lines(report, now)) + "\n")
    else:
        raise ConfigError(f"status format must be one of {', '.join(STATUS_FORMATS)}, not {format_!r}")


def status_lines(report: Status, now: datetime) -> list[str]:
    """The status report as lines that fit 80 columns: each scope, then each kind's staleness."""
    if not report:
        return ["no syncs yet: run `harvester sync`"]
    lines = [line for scope in report for line in _scope_lines(scope, now)]
    if report.kinds():
        lines.append("\nEvery live row was read from the Hub within one lap:")
        lines.extend(line for scope in report if scope.staleness
                     for line in _staleness_lines(scope.scope, scope.staleness, now))
    return lines


def _since(moment: datetime | str | None, now: datetime) -> str:
    """How long ago ``moment`` was (a run record's times are ISO 8601 text), or "never"."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return "never" if moment is None else _ago(round((now - moment).total_seconds()))


def _scope_lines(scope: ScopeStatus, now: datetime) -> list[str]:
    """One scope as a short block that fits 80 columns: its last run, then its state."""
    run = scope.last_run
    lines = [scope.scope]
    if run is not None:
        walk = summary(run).split(": ", 2)[1]  # "run 12 ok (incremental, walk complete)"
        lines.append(f"  last {walk}, started {_since(run.started_at, now)}")
        lines.append(f"  {plural(run.pages, 'page')}, {plural(run.requests, 'request')}, "
                     f"{plural(run.rows_seen, 'row')} read:")
        lines.append(f"    {run.rows_inserted:,} inserted, {run.rows_updated:,} updated, "
                     f"{run.rows_unchanged:,} unchanged")
    state = [f"last success {_since(scope.last_success_at, now)}"]
    if scope.watermark:
        state.append(f"watermark {scope.watermark:%Y-%m-%d %H:%M}")
    if scope.unfinished_walk:
        state.append(f"walk under way ({plural(scope.walk_pages, 'page')} done)")
    lines.append("  " + ", ".join(state))
    lines.extend(f"  {line}" for line in _holder(scope.locked_by))
    return lines


def _staleness_lines(kind: str, staleness: Staleness, now: datetime) -> list[str]:
    """Per kind: the staleness bound achieved, and where the verification lap stands."""
    lap = staleness.lap
    oldest = (f"oldest verified {_since(staleness.oldest_verified_at, now)}" if staleness.oldest_verified_at
              else f"{plural(staleness.unverified_rows, 'row')} never verified")
    progress = (f"lap: {plural(lap.pages_done, 'page')} done, about {lap.pages_left:,} left"
                if lap.started_at else f"lap: none under way, about {plural(lap.pages_left, 'page')}")
    if lap.runs_to_finish is not None:
        progress += f" (about {plural(lap.runs_to_finish, 'run')} at {lap.pages_per_run:,} a run)"
    return [f"  {kind}: {plural(staleness.live_rows, 'live row')}, {oldest}", f"    {progress}",
            f"    last lap finished {_since(lap.last_finished_at, now)}"]


def _holder(lock: LockHolder | None) -> list[str]:
    """Who holds a scope's lock, in lines short enough for 80 columns (a host name can be long)."""
    if lock is None:
        return ["not locked"]
    lines = [f"locked by run {lock.run_id}, pid {lock.pid}", f"  on {lock.host}"]
    if not lock.on_this_host:
        lines.append(f"  until {lock.expires_at:%H:%M:%S} UTC")
    return lines


def _ago(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


# --- rows: query, export, search ------------------------------------------------------------------

def plain(value: Any) -> Any:
    """A value as JSON has it: times in ISO 8601 UTC (SQLite hands them back without a zone), and
    PostgreSQL's numerics (``sum`` of integers is one) as the int or float they are."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _json_row(columns: list[str], row: tuple) -> str:
    return json.dumps(dict(zip(columns, map(plain, row), strict=True)), ensure_ascii=False)


def write_jsonl(columns: list[str], stream: Iterator[tuple], out: IO[str]) -> int:
    """One JSON object a line; returns how many rows were written."""
    count = 0
    for row in stream:
        out.write(_json_row(columns, row) + "\n")
        count += 1
    return count


def write_json(columns: list[str], stream: Iterator[tuple], out: IO[str]) -> int:
    """One JSON array of objects, written a row at a time."""
    count = 0
    out.write("[")
    for row in stream:
        out.write(("," if count else "") + "\n" + _json_row(columns, row))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write_aligned(columns: list[str], stream: Iterator[tuple], out: IO[str]) -> int:
    """Columns aligned as text, sized to the first 1,000 rows; a longer cell later overflows its
    column rather than being cut. Streams: memory holds those rows at most."""
    head = list(itertools.islice(stream, ALIGNED_SAMPLE))
    cells = [[_text_cell(value) for value in row] for row in head]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)).rstrip() + "\n"

    out.write(line(columns))
    out.write(line(["-" * width for width in widths]))
    count = 0
    for values in itertools.chain(cells, ([_text_cell(value) for value in row] for row in stream)):
        out.write(line(values))
        count += 1
    return count


def _text_cell(value: Any) -> str:
    """A cell of an aligned table: empty for NULL, JSON for nested values, one line."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    value = plain(value)
    return str(value).replace("\r", "\\r").replace("\n", "\\n")


def csv_cell(value: Any) -> Any:
    """A CSV cell: JSON for nested values, and text that starts like a formula defused."""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    value = plain(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(columns: list[str], stream: Iterator[tuple], out: IO[str]) -> int:
    """A header, then a row a line, cells as `csv_cell` makes them; returns how many rows were written."""
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for row in stream:
        writer.writerow([csv_cell(value) for value in row])
        count += 1
    return count


ROW_WRITERS: dict[str, Callable[[list[str], Iterator[tuple], IO[str]], int]] = {
    "jsonl": write_jsonl, "json": write_json, "csv": write_csv, "table": write_aligned}


def write_rows(format_: str, columns: list[str], stream: Iterator[tuple], out: IO[str]) -> int:
    """Stream rows to ``out`` as ``jsonl``, ``json``, ``csv`` or an aligned ``table``; returns how many."""
    if format_ not in ROW_WRITERS:
        raise ConfigError(f"row format must be one of {', '.join(ROW_WRITERS)}, not {format_!r}")
    return ROW_WRITERS[format_](columns, stream, out)


def head(columns: list[str], stream: Iterator[tuple], out: IO[str]) -> None:
    """A screenful of rows as a table on a terminal, then how many more rows there are and how to
    get them all (counted as they stream past: memory holds one screenful)."""
    import shutil

    shown = list(itertools.islice(stream, max(5, shutil.get_terminal_size().lines - 8)))
    table(columns, shown, out)
    left = sum(1 for _ in stream)
    if left:
        out.write(f"... {plural(left, 'more row')} not shown ({len(shown) + left:,} in all): --format csv, json "
                  "or jsonl prints every row, and so does the table when the output goes to a file or a pipe\n")


def table(columns: list[str], rows: Iterable[Iterable[Any]], out: IO[str]) -> None:
    """Rows as a rich table, cells as CSV has them without the formula guard."""
    from rich.table import Table

    shown = Table(*columns)
    for row in rows:
        shown.add_row(*("" if value is None else str(csv_cell(value)).removeprefix("'") for value in row))
    _print(shown, out)


def _print(renderable: Any, out: IO[str]) -> None:
    """A rich table on ``out``; piped into a log (cron), rich would squeeze it into 80 columns and cut or
    wrap every line."""
    from rich.console import Console

    Console(file=out, width=None if out.isatty() else 200).print(renderable)


def matches(found: list[dict[str, Any]], *, words: str, kind: str, as_json: bool, out: IO[str]) -> None:
    """`Catalog.search`'s matches as one JSON array, or a table of id, likes and last change."""
    if as_json:
        out.write(json.dumps([{k: plain(v) for k, v in row.items()} for row in found], ensure_ascii=False) + "\n")
    elif not found:
        out.write(f"no {kind} match {words!r}\n")
    else:
        table(["id", "likes", "last_modified"], ([row["id"], row["likes"], plain(row["last_modified"])]
                                                 for row in found), out)


# --- the graph: tree and uses ---------------------------------------------------------------------

def family(root: Node, *, up: bool, as_json: bool, out: IO[str]) -> None:
    """`Catalog.family`'s tree as nested JSON, or drawn, then how many members it has."""
    if as_json:
        out.write(json.dumps(root.as_json("parents" if up else "children")) + "\n")
        return
    _draw_tree(root, out)
    out.write(plural(root.size(), "ancestor" if up else "descendant") + "\n")


def _label(node: Node) -> list[tuple[str, str]]:
    """A member's line as (text, style) parts: id, relation, counters or "not in the catalog", repeat mark."""
    parts = [(node.id, "bold")]
    if node.relation:
        parts.append((node.relation, "cyan"))
    if not node.in_catalog:
        parts.append(("not in the catalog", "yellow"))
    else:
        parts += [(_counted(node.downloads, "download"), ""), (_counted(node.likes, "like"), "")]
    if node.repeat:
        parts.append(("↑ shown above", "dim"))
    return [part for part in parts if part[0]]


def _counted(value: int | None, noun: str) -> str:
    """``1.2M downloads``, ``1 like``; nothing for a counter the Hub does not give."""
    if value is None:
        return ""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + f"{suffix} {noun}s"
    return plural(value, noun)


def _tree_lines(root: Node) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """The family's lines, depth first: each a guide (rich.tree's characters) and the member's label."""
    stack = [(root, "", "")]
    while stack:
        node, guide, indent = stack.pop()
        yield guide, _label(node)
        last = len(node.children) - 1
        stack += [(child, indent + ("└── " if n == last else "├── "), indent + ("    " if n == last else "│   "))
                  for n, child in reversed(list(enumerate(node.children)))]


def _draw_tree(root: Node, out: IO[str]) -> None:
    """The family as a tree, styled on a terminal and plain into a file or pipe, lines never wrapped.
    Drawn here rather than by rich.tree.Tree, which lays out every member as its own renderable:
    4.6 s for 10,000 members, against 0.7 s on a terminal and 0.1 s into a pipe (benchmarks/graph.py)."""
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, soft_wrap=True)
    if not console.is_terminal:
        out.writelines(guide + "  ".join(text for text, _ in label) + "\n" for guide, label in _tree_lines(root))
        return
    tree = Text(end="")
    for n, (guide, label) in enumerate(_tree_lines(root)):
        tree.append(("\n" if n else "") + guide, "dim")
        for m, (text, style) in enumerate(label):
            tree.append(("  " if m else "") + text, style)
    console.print(tree)


def uses(found: list[Use], *, as_json: bool, out: IO[str], err: IO[str]) -> None:
    """`Catalog.uses`'s list as one JSON object a line, or a table (and a note on ``err`` if empty)."""
    if as_json:
        out.writelines(json.dumps(use.as_json()) + "\n" for use in found)
        return
    from rich.table import Table

    shown = Table("kind", "id", "relation", "downloads", "likes", box=None, header_style="bold")
    for use in found:
        shown.add_row(use.kind, use.id, use.relation, "" if use.downloads is None else str(use.downloads),
                      "" if use.likes is None else str(use.likes))
    _print(shown, out)
    if not shown.row_count:
        err.write("nothing in the catalog points at it\n")


# --- the change feed ------------------------------------------------------------------------------

def changes(feed: ChangeFeed, format_: str, out: IO[str], err: IO[str]) -> None:
    """Each change of ``feed`` (`change_writer`), then the ``since`` to use next: as ``{"next_since": N}``
    with jsonl, on ``err`` with csv."""
    write = change_writer(format_, out)
    for change in feed:
        write(change.as_dict())
    if format_ == "jsonl":
        out.write(json.dumps({"next_since": feed.position}) + "\n")
    else:
        err.write(f"next: --since {feed.position}\n")


def change_writer(format_: str, out: IO[str]) -> Callable[[dict[str, Any]], object]:
    """A function that writes one change (`Change.as_dict()`) as a JSON line, or a CSV row after a header."""
    if format_ == "jsonl":
        return lambda change: out.write(json.dumps(change, default=plain) + "\n")
    if format_ != "csv":
        raise ConfigError(f"change format must be one of {', '.join(CHANGE_FORMATS)}, not {format_!r}")
    writer = csv.writer(out)
    writer.writerow(CHANGE_COLUMNS)
    return lambda change: writer.writerow(
        [";".join(change["fields"] or []) if name == "fields" else plain(change[name]) for name in CHANGE_COLUMNS])
