"""The `harvester` command line: parse options, call one library function, print a summary."""

from __future__ import annotations

import itertools
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import click

from . import __version__, logs
from .errors import CatalogError, ConfigError, HarvesterError, Interrupted
from .kinds import KINDS
from .render import plural, summary
from .stopping import SIGNALS, SignalStop, StopRequest, quit_quietly


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, prog_name="harvester")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Keep a local SQL catalog of the Hugging Face Hub's metadata.

    Exit codes: 0 ok (nothing to do included), 1 failed, 2 bad usage or configuration, 3 Hub
    unavailable after retries, 4 catalog from a newer harvester, 5 another run holds the lock,
    130 interrupted.
    """
    logs.setup()
    if ctx.invoked_subcommand != "sync":  # a sync stops on signals its own way; others the ordinary way
        for sig, inherited in INHERITED_SIGNALS.items():
            if signal.getsignal(sig) is quit_quietly:
                signal.signal(sig, inherited)
    if ctx.invoked_subcommand is None:  # a bare `harvester` is a request for help, not a mistake
        click.echo(ctx.get_help())


def _report(exc: HarvesterError, kind: str | None = None) -> None:
    """One line on stderr (or one JSON object) for an error; ``kind`` when several kinds ran."""
    if isinstance(exc, Interrupted):
        logs.failed(f"interrupted: {exc}; the next run resumes from there", exc.exit_code, exc.run)
    else:
        logs.failed(f"error: {kind}: {exc}" if kind else f"error: {exc}", exc.exit_code, exc.run)


@contextmanager
def _reported_errors() -> Iterator[None]:
    """Turn harvester's own errors into one line on stderr and their documented exit code."""
    from sqlalchemy.exc import SQLAlchemyError

    from .store.engine import database_reason

    try:
        yield
    except HarvesterError as exc:
        _report(exc)
        sys.exit(exc.exit_code)
    except SQLAlchemyError as exc:  # reading commands (status, changes, search): the database's own reason
        _report(CatalogError(f"the catalog could not be read: {database_reason(exc)}"))
        sys.exit(CatalogError.exit_code)
    except KeyboardInterrupt:  # Ctrl-C where no stop handler runs (query, export; a sync has its own): one line
        logs.failed("interrupted", Interrupted.exit_code)
        sys.exit(Interrupted.exit_code)


OWN_PROCESS = False  # set by `harvester.__main__.run`: harvester is the process, not a library inside one
INHERITED_SIGNALS: dict[int, Any] = {}  # the handlers the process started with (`harvester.__main__.run`)


@contextmanager
def _stop_on_signals(log_format: str) -> Iterator[StopRequest]:
    """Ctrl-C and SIGTERM, for the whole of a sync: see `stopping.SignalStop`. The stop line is
    written as the logs are (text, or a JSON object), on a line of its own on a terminal."""

    def stopping() -> bytes:
        text = "stopping after the current page (again to abort)"
        if log_format == "json":
            line = json.dumps({"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": "warning",
                               "message": text, "event": "stopping"})
        else:
            line = ("\r\x1b[2K" if sys.stderr.isatty() else "") + f"harvester: {text}"
        return (line + "\n").encode()

    handler = SignalStop(stopping)
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield handler.stop
    finally:
        # A process of its own is on its way out, its lines said: a late signal must not find the
        # default handler (a traceback, or death by the signal) in its last instants.
        for sig, previous_handler in previous.items():
            signal.signal(sig, signal.SIG_IGN if OWN_PROCESS else previous_handler)


@contextmanager
def _progress(enabled: bool, kind: str) -> Iterator[Callable | None]:
    """A live line of pages, rows, rows/s and retries on a terminal; nothing otherwise."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.live import Live

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


DB_OPTION = click.option("--db", metavar="PATH_OR_URL", default=None,
                         help="Catalog: a SQLite path or a SQLAlchemy URL. [default: $HARVESTER_DB, else hub.db]")


@main.command()
@DB_OPTION
@click.option("--kind", "kinds", multiple=True, default=("models",), show_default=True,
              type=click.Choice([*KINDS, "all"]), help="Repo kinds to sync; repeatable.")
@click.option("--endpoint", metavar="URL", default=None, help="Hub endpoint. [default: $HF_ENDPOINT, else the Hub]")
@click.option("--token", default=None, help="Hub token. [default: $HF_TOKEN, else the stored login]")
@click.option("--full", is_flag=True, help="Walk the whole listing even if the catalog has a watermark.")
@click.option("--reconcile", is_flag=True,
              help="Walk ids only (cheap) and mark repos the Hub no longer lists as deleted.")
@click.option("--stats", is_flag=True,
              help="Counter lane: refresh downloads, likes and trending of the top repos and sample their history.")
@click.option("--top", default=None, type=click.IntRange(min=1),
              help="How many of the busiest repos --stats covers. [default: 10,000]")
@click.option("--details", is_flag=True,
              help="Details lane: fetch files, safetensors and config of repos whose commit moved since last time.")
@click.option("--max-repos", type=click.IntRange(min=1), default=None,
              help="How many repos --details fetches at most per kind (one request each); the rest wait.")
@click.option("--author", default=None, help="Scope: only this author's or organisation's repos.")
@click.option("--search", default=None, help="Scope: only repos whose id contains this text.")
@click.option("--filter", "filters", multiple=True, metavar="TAG", help="Scope: only repos with this tag (repeatable).")
@click.option("--pipeline-tag", default=None, help="Scope: only models of this task, e.g. text-generation.")
@click.option("--page-size", default=1000, show_default=True, type=int, help="Rows per page (10..1000).")
@click.option("--max-pages", type=click.IntRange(min=1), default=None,
              help="Stop cleanly after this many pages per kind; the next run resumes.")
@click.option("--verify-pages", type=click.IntRange(min=0), default=None, metavar="N",
              help="Pages of the verification lap after a plain sync: a rolling re-read of every repo, "
                   "resumed run after run, that catches what the Hub changes without a commit. 0: none. "
                   "[default: 12]")
@click.option("--retries", default=8, show_default=True, type=click.IntRange(min=1),
              help="Attempts per page before a transient failure ends the run.")
@click.option("--wait", type=click.FloatRange(min=0), default=0, show_default=True, metavar="SECONDS",
              help="If another run holds a scope, wait this long for it before giving up (exit code 5).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing unless something fails (for cron).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one JSON object per line on stderr, with scope and run id.")
@click.option("--json", "as_json", is_flag=True,
              help="Print each run record, failed ones too, as one JSON object per line on stdout.")
def sync(db: str | None, kinds: tuple[str, ...], endpoint: str | None, token: str | None, full: bool,
         reconcile: bool, stats: bool, top: int | None, details: bool, max_repos: int | None, author: str | None,
         search: str | None, filters: tuple[str, ...], pipeline_tag: str | None, page_size: int,
         max_pages: int | None, verify_pages: int | None, retries: int, wait: float, quiet: bool, log_format: str,
         as_json: bool) -> None:
    """Bring the catalog up to date with the Hub's models, datasets or spaces.

    The first run walks everything; later runs fetch only what changed; an interrupted run
    resumes where it stopped. Each plain run then re-reads a few more pages of every repo
    (--verify-pages), so that what the Hub changes without a commit (tags, gating, counters,
    repos made private) reaches the catalog within one lap. A kind that fails does not stop the
    others. Scope filters
    (--author, --search, --filter, --pipeline-tag) sync a slice of the Hub with its own state.
    Exit codes: 0 ok (nothing to do included), 1 failed, 2 bad usage or configuration, 3 Hub
    unavailable after retries, 4 catalog from a newer harvester, 5 another run holds the lock,
    130 interrupted. With several kinds, the first failure's code.
    """
    with _stop_on_signals(log_format) as stop:  # first, so that no signal finds the default handler mid-run
        from .config import VERIFY_PAGES, SyncConfig, database_url, endpoint_url
        from .hub.retry import Pacer
        from .sync import sync_kind

        logs.setup(log_format, quiet=quiet)
        exit_code = 0
        with _reported_errors():
            if verify_pages is not None and (full or reconcile or stats or details):
                raise ConfigError("--verify-pages applies to a plain sync only, not to --full, --reconcile, --stats "
                                  "or --details")
            configs = [SyncConfig(db_url=database_url(db), endpoint=endpoint_url(endpoint), token=token, kind=kind,
                                  full=full, reconcile=reconcile, stats=stats, top=top, details=details,
                                  max_repos=max_repos, author=author, search=search,
                                  filters=filters, pipeline_tag=pipeline_tag, page_size=page_size,
                                  max_pages=max_pages, attempts=retries, wait=wait,
                                  verify_pages=VERIFY_PAGES if verify_pages is None else verify_pages)
                       for kind in (KINDS if "all" in kinds else dict.fromkeys(kinds))]
            pacer = Pacer()  # one pace for the whole command: the quota is the token's, not a kind's
            for config in configs:
                if stop.is_set():
                    raise Interrupted(f"stopped before syncing {config.kind}")
                finished: list[dict[str, Any]] = []
                try:
                    live = sys.stderr.isatty() and not (as_json or quiet or log_format == "json")
                    with _progress(live, config.kind) as show:
                        finished.extend(sync_kind(config, stop=stop, on_page=show, pacer=pacer))
                except HarvesterError as exc:
                    _print_runs(finished, as_json, stopping=stop.is_set())
                    if as_json and exc.run is not None:
                        click.echo(json.dumps(exc.run))
                    if isinstance(exc, Interrupted | CatalogError | ConfigError) or stop.is_set():
                        raise  # not about one kind, or a stop was asked: end here, in one line
                    _report(exc, config.kind if len(configs) > 1 else None)
                    exit_code = exit_code or exc.exit_code
                    continue
                _print_runs(finished, as_json, stopping=stop.is_set())
            if stop.is_set():  # asked during the last page: the work is done, and the answer is still "stopped"
                raise Interrupted("stopped after the last committed page")
    sys.exit(exit_code)


def _print_runs(runs: list[dict[str, Any]], as_json: bool, *, stopping: bool) -> None:
    """Each run's record on stdout (--json), or its summary on stderr; once a stop was asked,
    the one line that says so and the one that ends the command are all stderr gets."""
    for run in runs:
        if as_json:
            click.echo(json.dumps(run))
        elif not stopping:
            logs.run_finished(summary(run), run)


@main.command()
@DB_OPTION
@click.option("--format", "format_", type=click.Choice(["text", "json", "openmetrics"]), default=None,
              help="text: for people; json: the whole report; openmetrics: Prometheus metrics, ending in "
                   "'# EOF' (needs prometheus-client: pip install 'hf-harvester[metrics]'). [default: text]")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON (the same as --format json).")
def status(db: str | None, format_: str | None, as_json: bool) -> None:
    """Show each scope's last run, counts, watermark, and any unfinished walk."""
    from . import render
    from .catalog import Catalog

    with _reported_errors():
        if as_json and format_ not in (None, "json"):
            raise ConfigError(f"--json is --format json: give one of them, not --json and --format {format_}")
        format_ = "json" if as_json else format_ or "text"
        with Catalog(db) as catalog:
            report = catalog.status()
        render.status(report, format_, sys.stdout)


@main.command()
@DB_OPTION
@click.option("--since", type=click.IntRange(min=0), default=0, show_default=True, metavar="SEQ",
              help="Print changes after this sequence number (the one the last call handed back).")
@click.option("--kind", type=click.Choice(list(KINDS)), default=None, help="Only this kind's changes.")
@click.option("--format", "format_", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many changes.")
def changes(db: str | None, since: int, kind: str | None, format_: str, limit: int | None) -> None:
    """Print what syncs changed after --since, oldest first, then the --since to use next time.

    Each change: seq, run_id, kind, hub_id, repo_id, change (insert, update, rename, delete,
    undelete), fields (the columns an update changed), previous_id (renames), changed_at. The next
    --since comes last: as {"next_since": N} with jsonl, on stderr with csv. Poll with it and no
    event is missed or repeated.
    """
    from .catalog import Catalog
    from .render import change_writer

    with _reported_errors(), Catalog(db) as catalog:
        feed = catalog.changes(since=since, kinds=kind, limit=limit)
        write = change_writer(format_, sys.stdout)
        for change in feed:
            write(change.as_dict())
    if format_ == "jsonl":
        click.echo(json.dumps({"next_since": feed.position}))
    else:
        click.echo(f"next: --since {feed.position}", err=True)


@main.command(context_settings={"ignore_unknown_options": True})
@DB_OPTION
@click.argument("sql", required=False)
@click.option("--file", "-f", "sql_file", type=click.File("r", encoding="utf-8"), default=None,
              help="Read the SQL from this file ('-': standard input).")
@click.option("--format", "format_", type=click.Choice(["table", "csv", "json", "jsonl"]), default="table",
              show_default=True, help="table: aligned columns; json: one JSON array; jsonl: an object a line.")
def query(db: str | None, sql: str | None, sql_file, format_: str) -> None:
    """Run read-only SQL against the catalog: the connection itself refuses writes.

    SQL comes as the argument, from --file, or from standard input with '-'; it may begin with
    comments. Every format streams. On a terminal, the table shows a screenful of rows and says
    how many more there are.

    Example: harvester query "SELECT pipeline_tag, count(*) FROM models GROUP BY 1 ORDER BY 2 DESC"
    """
    from .catalog import Catalog
    from .read import write_aligned, write_csv, write_json, write_jsonl

    with _reported_errors():
        sql = _sql_text(sql, sql_file)
        with Catalog(db) as catalog:
            result = catalog.query(sql)
            if format_ == "table" and sys.stdout.isatty():
                _print_head(result.columns, result.tuples())
                return
            writer = {"csv": write_csv, "json": write_json, "jsonl": write_jsonl, "table": write_aligned}[format_]
            writer(result.columns, result.tuples(), sys.stdout)


def _sql_text(argument: str | None, sql_file) -> str:
    """The SQL to run, from exactly one place: the argument, '-' for standard input, or --file."""
    if (argument is None) == (sql_file is None):
        raise ConfigError("give the SQL as an argument, as '-' to read standard input, or with --file PATH")
    text = sql_file.read() if sql_file is not None else sys.stdin.read() if argument == "-" else argument
    if not text.strip():
        raise ConfigError("the SQL is empty")
    return text


def _print_head(columns: list[str], stream) -> None:
    """A screenful of rows as a table on a terminal, then how many more rows there are and how to
    get them all (counted as they stream past: memory holds one screenful)."""
    import shutil

    shown = list(itertools.islice(stream, max(5, shutil.get_terminal_size().lines - 8)))
    _print_table(columns, shown)
    left = sum(1 for _ in stream)
    if left:
        click.echo(f"... {plural(left, 'more row')} not shown ({len(shown) + left:,} in all): --format csv, json "
                   "or jsonl prints every row, and so does the table when the output goes to a file or a pipe")


def _print_table(columns: list[str], stream) -> None:
    from rich.table import Table

    from .read import csv_cell

    table = Table(*columns)
    for row in stream:
        table.add_row(*("" if value is None else str(csv_cell(value)).removeprefix("'") for value in row))
    _print(table)


def _print(table) -> None:
    """A rich table or tree on stdout; piped into a log (cron), rich would squeeze it into 80 columns and cut or
    wrap every line."""
    from rich.console import Console

    Console(width=None if sys.stdout.isatty() else 200).print(table)


@main.command()
@DB_OPTION
@click.argument("table_or_query")
@click.option("--format", "format_", type=click.Choice(["jsonl", "csv", "parquet"]), default="jsonl",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write here instead of stdout (required for parquet).")
def export(db: str | None, table_or_query: str, format_: str, output: str | None) -> None:
    """Stream a table (models, datasets, spaces, ...) or a SELECT's rows as JSON Lines, CSV or Parquet.

    Memory stays flat whatever the size. Parquet needs pyarrow: pip install 'hf-harvester[parquet]'.
    CSV cells that start like a spreadsheet formula (=, +, -, @) are written with a leading '.
    """
    from .config import database_url
    from .read import read_only_catalog, replaced_on_success, rows, write_csv, write_jsonl, write_parquet

    with _reported_errors():
        if format_ == "parquet" and output is None:
            raise ConfigError("--format parquet writes a file: give --output FILE")
        engine = read_only_catalog(database_url(db))
        result = rows(engine, table_or_query)
        if format_ == "parquet":
            with replaced_on_success(output) as path:
                count = write_parquet(result, path)
        else:
            write = write_jsonl if format_ == "jsonl" else write_csv
            if output is None:
                count = write(result.columns, result.stream, sys.stdout)
            else:
                with replaced_on_success(output) as path, open(path, "w", newline="", encoding="utf-8") as out:
                    count = write(result.columns, result.stream, out)
        click.echo(f"exported {count} rows", err=True)


@main.command("search")
@DB_OPTION
@click.argument("words", nargs=-1, required=True)
@click.option("--kind", type=click.Choice(list(KINDS)), default="models", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
def search_command(db: str | None, words: tuple[str, ...], kind: str, limit: int, as_json: bool) -> None:
    """Find repos by words of their id, author, task, library, license or card, best match first.

    Example: harvester search llama gguf
    """
    from .config import database_url
    from .read import plain
    from .search import search
    from .store.engine import open_catalog

    with _reported_errors():
        found = search(open_catalog(database_url(db), upgrade=False), " ".join(words), kind=kind, limit=limit)
    if as_json:
        click.echo(json.dumps([{k: plain(v) for k, v in row.items()} for row in found], ensure_ascii=False))
        return
    if not found:
        click.echo(f"no {kind} match {' '.join(words)!r}")
        return
    _print_table(["id", "likes", "last_modified"], ([row["id"], row["likes"], plain(row["last_modified"])]
                                                   for row in found))


@main.command()
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback lets other machines read the catalog.")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.option("--open", "open_browser", is_flag=True, help="Open the catalog in a web browser.")
@click.option("--search-every", type=click.FloatRange(min=0), default=300, show_default=True, metavar="SECONDS",
              help="Refresh the search index this often, so search finds what syncs add (0: at start only).")
def serve(db: str | None, host: str, port: int, open_browser: bool, search_every: float) -> None:
    """Browse the catalog in Datasette: described tables, canned queries, search and a dashboard.

    SQLite catalogs only; needs pip install 'hf-harvester[serve]'.

    Example: harvester serve --open
    """
    from .config import database_url
    from .serve import serve as run

    with _reported_errors():
        run(database_url(db), host=host, port=port, open_browser=open_browser, search_every=search_every)


@main.group()
def state() -> None:
    """Inspect or reset sync state."""


@state.command("reset")
@DB_OPTION
@click.option("--kind", type=click.Choice(list(KINDS)), default=None,
              help="Only this kind. [default: every scope]")
def state_reset(db: str | None, kind: str | None) -> None:
    """Forget cursors and watermarks: the next run walks everything. Rows are kept."""
    from .config import database_url
    from .store.engine import open_catalog
    from .store.state import reset_state

    with _reported_errors():
        count = reset_state(open_catalog(database_url(db), upgrade=False), kind)
    click.echo(f"reset {plural(count, 'scope')}; the next sync is a full walk" if count else
               "nothing to reset: no scope has a cursor or watermark")


@main.group()
def db() -> None:
    """Manage the catalog's schema."""


@db.command("upgrade")
@DB_OPTION
def db_upgrade(db: str | None) -> None:
    """Apply pending schema revisions (sync does this by itself)."""
    from .config import database_url
    from .store.engine import open_catalog, schema_revision

    with _reported_errors():
        engine = open_catalog(database_url(db))
        click.echo(f"catalog at schema revision {schema_revision(engine)}")


def _fault(ctx: click.Context, param: click.Parameter, specs: tuple[str, ...]) -> list:
    from .emulator import parse_fault

    try:
        return [parse_fault(spec) for spec in specs]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _quota(ctx: click.Context, param: click.Parameter, spec: str | None):
    from .emulator import parse_quota

    try:
        return parse_quota(spec) if spec else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.option("--models", default=1000, show_default=True, type=click.IntRange(min=0), help="Models to serve.")
@click.option("--datasets", default=0, show_default=True, type=click.IntRange(min=0), help="Datasets to serve.")
@click.option("--spaces", default=0, show_default=True, type=click.IntRange(min=0), help="Spaces to serve.")
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic corpus.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--page-size", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Page size when a request gives no limit.")
@click.option("--fault", "faults", multiple=True, callback=_fault, metavar="SPEC",
              help="Inject a fault, e.g. '502,every=5', '429,retry_after=1,rate=0.1', 'drop,times=1', "
                   "'slow=3,every=10', 'truncate'. Repeatable.")
@click.option("--max-page-size", type=click.IntRange(min=1), default=None,
              help="Answer 504 to pages asking for more rows than this, like the Hub's gateway.")
@click.option("--quota", callback=_quota, metavar="REQUESTS/SECONDS", default=None,
              help="A fixed-window request quota, e.g. 500/300; past it, 429 with Retry-After.")
def emulator(models: int, datasets: int, spaces: int, seed: int, host: str, port: int, page_size: int,
             faults: list, max_page_size: int | None, quota) -> None:
    """Serve a local Hub emulator until interrupted; prints its URL first.

    Point any Hub client at it: HF_ENDPOINT=<url> harvester sync
    """
    from .emulator import FaultPlan, HubEmulator

    plan = FaultPlan(faults=faults, max_page_size=max_page_size, quota=quota, seed=seed)
    try:
        hub = HubEmulator(models=models, datasets=datasets, spaces=spaces, seed=seed, host=host, port=port,
                          faults=plan, default_page_size=page_size)
    except OSError as exc:
        raise click.ClickException(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(hub.url)
    click.echo(f"serving {models} models, {datasets} datasets, {spaces} spaces (seed {seed}); Ctrl-C stops",
               err=True)
    try:
        hub.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()


@main.command()
@DB_OPTION
@click.argument("model")
@click.option("--up", is_flag=True, help="The ancestors (what MODEL derives from) instead of the descendants.")
@click.option("--depth", type=click.IntRange(min=1), default=None, metavar="N",
              help="At most N generations. [default: 10]")
@click.option("--json", "as_json", is_flag=True,
              help='Print nested objects {"id", "relation", "children": [...]} ("parents" with --up).')
def tree(db: str | None, model: str, up: bool, depth: int | None, as_json: bool) -> None:
    """Show MODEL's family: what was fine-tuned, quantized, adapted or merged from it, and so on down.

    Each member shows how it derives from its parent (finetune, quantized, adapter, merge, or
    base_model when its card does not say), then its downloads and likes. A member met again (a
    merge's other parent, a cycle) is shown once more without its own branch, marked ↑.
    """
    from .catalog import Catalog

    with _reported_errors(), Catalog(db) as catalog:
        family = catalog.family(model, up=up, depth=depth)
    if as_json:
        click.echo(json.dumps(family.as_json("parents" if up else "children")))
        return
    _print_tree(family)
    click.echo(plural(family.size(), "ancestor" if up else "descendant"))


def _label(node) -> list[tuple[str, str]]:
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


def _tree_lines(root) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """The family's lines, depth first: each a guide (rich.tree's characters) and the member's label."""
    stack = [(root, "", "")]
    while stack:
        node, guide, indent = stack.pop()
        yield guide, _label(node)
        last = len(node.children) - 1
        stack += [(child, indent + ("└── " if n == last else "├── "), indent + ("    " if n == last else "│   "))
                  for n, child in reversed(list(enumerate(node.children)))]


def _print_tree(root) -> None:
    """The family as a tree, styled on a terminal and plain into a file or pipe, lines never wrapped.
    Drawn here rather than by rich.tree.Tree, which lays out every member as its own renderable:
    4.6 s for 10,000 members, against 0.7 s on a terminal and 0.1 s into a pipe (benchmarks/graph.py)."""
    from rich.console import Console
    from rich.text import Text

    console = Console(soft_wrap=True)
    if not console.is_terminal:
        sys.stdout.writelines(guide + "  ".join(text for text, _ in label) + "\n"
                              for guide, label in _tree_lines(root))
        return
    tree = Text(end="")
    for n, (guide, label) in enumerate(_tree_lines(root)):
        tree.append(("\n" if n else "") + guide, "dim")
        for m, (text, style) in enumerate(label):
            tree.append(("  " if m else "") + text, style)
    console.print(tree)


@main.command()
@DB_OPTION
@click.argument("repo")
@click.option("--kind", type=click.Choice(list(KINDS)), default=None, help="Only repos of this kind point at REPO.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object a line.")
def uses(db: str | None, repo: str, kind: str | None, as_json: bool) -> None:
    """List what points at REPO: models derived from or trained on it, spaces that use it, repos
    citing a paper (REPO as arxiv:<id> or doi:<id>), the most downloaded first."""
    from .catalog import Catalog

    with _reported_errors(), Catalog(db) as catalog:
        found = catalog.uses(repo, kind=kind)
    if as_json:
        for use in found:
            click.echo(json.dumps(use.as_json()))
        return
    _print_uses(found)


def _print_uses(found) -> None:
    from rich.table import Table

    table = Table("kind", "id", "relation", "downloads", "likes", box=None, header_style="bold")
    for use in found:
        table.add_row(use.kind, use.id, use.relation, "" if use.downloads is None else str(use.downloads),
                      "" if use.likes is None else str(use.likes))
    _print(table)
    if not table.row_count:
        click.echo("nothing in the catalog points at it", err=True)
