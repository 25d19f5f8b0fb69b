"""Output writers: the status report as JSON (text: `status_text`; OpenMetrics: `openmetrics`), rows as JSON
Lines, JSON, CSV or an aligned table, the graph's trees and uses, the change feed as JSON Lines or CSV, and a
sync's progress line. Pure: each takes what a `Catalog` method returned and a file to write to.

One rule for each format, whatever the command: JSON is written by `json_text` (UTF-8, nothing escaped
that need not be), CSV by `csv_writer` (``\n`` line ends, so ``$(... | tail -1)`` holds no ``\r``). A
boxed table goes to a terminal only; into a file or pipe, tables are plain aligned text (`write_aligned`),
aligned by display width (a CJK character takes two columns).

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
    from .harvest import KindSync
    from .records import Run
    from .results import ChangeFeed
    from .status import Status

STATUS_FORMATS = ("text", "json", "openmetrics")
CHANGE_FORMATS = ("jsonl", "csv")
CHANGE_COLUMNS = ("seq", "run_id", "kind", "hub_id", "repo_id", "change", "fields", "previous_id", "changed_at")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ALIGNED_SAMPLE = 1_000  # rows read ahead to size the columns of an aligned table


def json_text(value: Any) -> str:
    """The JSON text every writer prints (``--json``, jsonl, the change feed, log lines): non-ASCII as
    itself, times and PostgreSQL numerics as `plain` makes them, anything else as its ``str``."""
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    made = plain(value)
    return str(made) if made is value else made


def csv_writer(out: IO[str]) -> Any:
    """The CSV writer of every command: the csv module's dialect with ``\n`` line ends, not ``\r\n``."""
    return csv.writer(out, lineterminator="\n")


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns (by display width), ending in … when cut."""
    from rich.cells import cell_len, set_cell_size

    return text if cell_len(text) <= width else set_cell_size(text, width - 1) + "…"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` with thousands separators and the noun in the right number: "1 page", "2,000 pages"."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def headline(run: Run) -> str:
    """A run's number, status, mode and how it ended: "run 12 ok (incremental, walk complete)"."""
    from .lanes import outcome

    return f"run {run.id} {run.status} ({run.mode}, {outcome(run.mode, run.complete, run.budget_spent)})"


def summary(run: Run) -> str:
    """A run as one line: scope, id, status, mode, whether the walk ended, pages, requests, rows."""
    counts = run.as_dict()
    outcomes = [f"{counts['rows_' + name]:,} {name}" for name in ("inserted", "updated", "unchanged", "rejected")]
    outcomes += [f"{counts['rows_' + name]:,} {name}" for name in ("renamed", "deleted") if counts["rows_" + name]]
    return (f"{run.scope}: {headline(run)}: {plural(run.pages, 'page')}, "
            f"{plural(run.requests, 'request')}, {plural(run.retries, 'retry', 'retries')}; "
            f"{plural(run.rows_seen, 'row')} read: {', '.join(outcomes)}"
            + (f"; {plural(run.samples_taken, 'sample')}" if run.samples_taken else ""))


def kind_synced(synced: KindSync, as_json: bool, out: IO[str], *, stopping: bool, named: bool) -> int:
    """Each run of a kind's `harvest`: its record on ``out`` (--json), or its summary on stderr (once a stop was
    asked, the line that says so and the one that ends the command are all stderr gets); then
    why the kind failed, unless that ends the harvest (it is raised then). Returns its exit code."""
    from . import logs

    for run in synced.runs:
        if as_json:
            out.write(json_text(run.as_dict()) + "\n")
        elif not stopping:
            logs.run_finished(summary(run), run.as_dict())
    error = synced.error
    if error is None:
        return 0
    if as_json and error.run is not None:
        out.write(json_text(error.run) + "\n")
    if synced.ends_harvest:
        return 0
    logs.report(error, synced.kind if named else None)  # the others go on; the exit code is the first failure's
    return error.exit_code


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



def status(report: Status, format_: str, out: IO[str], *, now: datetime | None = None) -> None:
    """Write `Catalog.status()`'s report as ``text``, ``json`` or ``openmetrics``."""
    now = now or datetime.now(UTC)
    if format_ == "json":
        out.write(json_text(report.as_json()) + "\n")
    elif format_ == "openmetrics":
        from .openmetrics import openmetrics

        out.write(openmetrics(report, now=now))
    elif format_ == "text":
        from .status_text import status_lines

        out.write("\n".join(status_lines(report, now)) + "\n")
    else:
        raise ConfigError(f"status format must be one of {', '.join(STATUS_FORMATS)}, not {format_!r}")


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
    return json_text(dict(zip(columns, map(plain, row), strict=True)))


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
    """Columns aligned as text by display width, sized to the first 1,000 rows; a longer cell later
    overflows its column rather than being cut. Streams: memory holds those rows at most."""
    from rich.cells import cell_len

    head = list(itertools.islice(stream, ALIGNED_SAMPLE))
    cells = [[_text_cell(value) for value in row] for row in head]
    widths = [max([cell_len(name), *(cell_len(row[i]) for row in cells)]) for i, name in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(value + " " * (width - cell_len(value))
                         for value, width in zip(values, widths, strict=True)).rstrip() + "\n"

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
        value = json_text(value)
    value = plain(value)
    return str(value).replace("\r", "\\r").replace("\n", "\\n")


def csv_cell(value: Any) -> Any:
    """A CSV cell: JSON for nested values, and text that starts like a formula defused."""
    if isinstance(value, dict | list):
        value = json_text(value)
    value = plain(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(columns: list[str], stream: Iterator[tuple], out: IO[str]) -> int:
    """A header, then a row a line, cells as `csv_cell` makes them; returns how many rows were written."""
    writer = csv_writer(out)
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


def shown(columns: list[str], stream: Iterator[tuple], out: IO[str], *, every: str) -> None:
    """Rows for people, as `query`, `search` and `uses` print them: on a terminal a screenful as a table
    (`head`, whose last line says that ``every`` prints them all); into a file or pipe every row, aligned."""
    if out.isatty():
        head(columns, stream, out, every=every)
    else:
        write_aligned(columns, stream, out)


def head(columns: list[str], stream: Iterator[tuple], out: IO[str], *,
         every: str = "--format csv, json or jsonl") -> None:
    """A screenful of rows as a table on a terminal, then how many more rows there are and how to
    get them all (counted as they stream past: memory holds one screenful)."""
    import shutil

    shown = list(itertools.islice(stream, max(5, shutil.get_terminal_size().lines - 8)))
    table(columns, shown, out)
    left = sum(1 for _ in stream)
    if left:
        out.write(f"... {plural(left, 'more row')} not shown ({len(shown) + left:,} in all): {every} prints every "
                  "row, and so does the table when the output goes to a file or a pipe\n")


def table(columns: list[str], rows: Iterable[Iterable[Any]], out: IO[str]) -> None:
    """Rows as a rich table on a terminal, cells as CSV has them without the formula guard."""
    from rich.console import Console
    from rich.table import Table

    shown = Table(*columns)
    for row in rows:
        shown.add_row(*("" if value is None else str(csv_cell(value)).removeprefix("'") for value in row))
    Console(file=out).print(shown)


def matches(found: list[dict[str, Any]], *, words: str, kind: str, as_json: bool, out: IO[str]) -> None:
    """`Catalog.search`'s matches as one JSON array, or rows of id, likes, last change and card snippet (`shown`)."""
    if as_json:
        out.write(json_text([{k: plain(v) for k, v in row.items()} for row in found]) + "\n")
    elif not found:
        out.write(f"no {kind} match {words!r}\n")
    else:
        shown(["id", "likes", "last_modified", "snippet"], (
            (row["id"], row["likes"], plain(row["last_modified"]), row.get("snippet")) for row in found), out,
            every="--json")


# --- the graph: tree and uses ---------------------------------------------------------------------

def family(root: Node, *, up: bool, as_json: bool, out: IO[str]) -> None:
    """`Catalog.family`'s tree as nested JSON, or drawn, then how many members it has."""
    if as_json:
        out.write(json_text(root.as_json("parents" if up else "children")) + "\n")
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
    """`Catalog.uses`'s list as one JSON object a line, or rows (`shown`: a screenful on a terminal),
    and a note on ``err`` if empty."""
    if as_json:
        out.writelines(json_text(use.as_json()) + "\n" for use in found)
        return
    shown(["kind", "id", "relation", "downloads", "likes"],
          ((use.kind, use.id, use.relation, use.downloads, use.likes) for use in found), out, every="--json")
    if not found:
        err.write("nothing in the catalog points at it\n")


# --- the change feed ------------------------------------------------------------------------------

def changes(feed: ChangeFeed, format_: str, out: IO[str], err: IO[str]) -> None:
    """Each change of ``feed`` (`change_writer`), then the ``since`` to use next: as ``{"next_since": N}``
    with jsonl, on ``err`` with csv."""
    write = change_writer(format_, out)
    for change in feed:
        write(change.as_dict())
    if format_ == "jsonl":
        out.write(json_text({"next_since": feed.position}) + "\n")
    else:
        err.write(f"next: --since {feed.position}\n")


def change_writer(format_: str, out: IO[str]) -> Callable[[dict[str, Any]], object]:
    """A function that writes one change (`Change.as_dict()`) as a JSON line, or a CSV row after a header."""
    if format_ == "jsonl":
        return lambda change: out.write(json_text(change) + "\n")
    if format_ != "csv":
        raise ConfigError(f"change format must be one of {', '.join(CHANGE_FORMATS)}, not {format_!r}")
    writer = csv_writer(out)
    writer.writerow(CHANGE_COLUMNS)
    return lambda change: writer.writerow(
        [";".join(change["fields"] or []) if name == "fields" else plain(change[name]) for name in CHANGE_COLUMNS])
