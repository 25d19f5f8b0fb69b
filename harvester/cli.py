"""The `harvester` command line: parse options, call one library function, print a summary."""

from __future__ import annotations

import sys
from functools import partial
from typing import TYPE_CHECKING, Any

import click

from . import __version__, logs, render
from .emulator.command import emulator
from .errors import ConfigError
from .kinds import KINDS
from .logs import reported_errors
from .render import plural
from .stopping import quiet_on_broken_pipe, restore_inherited_signals, stop_on_signals

if TYPE_CHECKING:
    from .catalog import Catalog


class _Commands(click.Group):
    """harvester's commands, each of which ends quietly with exit code 141 when its reader goes away (`| head`)."""

    def invoke(self, ctx: click.Context) -> Any:
        with quiet_on_broken_pipe():
            return super().invoke(ctx)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
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
        restore_inherited_signals()
    if ctx.invoked_subcommand is None:  # a bare `harvester` is a request for help, not a mistake
        click.echo(ctx.get_help())


def _catalog(db: str | None) -> Catalog:
    """The catalog at --db, read-only (imported when a command runs: the command line starts without SQLAlchemy)."""
    from .catalog import Catalog

    return Catalog(db)


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
@click.option("--details", is_flag=True, help="Details lane: fetch file sizes of repos whose commit moved since.")
@click.option("--fields", default=None, metavar="GROUPS", help="Field groups the listing walks ask for from now on, "
              "kept in the catalog: core,gguf,files,... or +gguf,-usage; default; all. See `harvester status`.")
@click.option("--cards", is_flag=True,
              help="Cards lane: fetch the README of repos --where selects whose commit moved (resolvers quota).")
@click.option("--where", default=None, metavar="SQL",
              help="Which repos --details or --cards reads: SQL over the repo row. [default for --cards: "
                   "downloads >= 100; spaces: likes >= 1]")
@click.option("--max-repos", type=click.IntRange(min=1), default=None,
              help="How many repos --details or --cards fetches at most per kind (one request each); the rest wait.")
@click.option("--author", default=None, help="Scope: only this author's or organisation's repos.")
@click.option("--search", default=None, help="Scope: only repos whose id contains this text.")
@click.option("--filter", "filters", multiple=True, metavar="TAG", help="Scope: only repos with this tag (repeatable).")
@click.option("--pipeline-tag", default=None, help="Scope: only models of this task, e.g. text-generation.")
@click.option("--page-size", default=1000, show_default=True, type=int, help="Rows per page (10..1000).")
@click.option("--max-pages", type=click.IntRange(min=1), default=None,
              help="Stop cleanly after this many pages per kind; the next run resumes.")
@click.option("--verify-pages", default="auto", metavar="N|auto",
              help="Pages of the verification lap after a plain sync: a rolling re-read of every repo, "
                   "resumed run after run, that catches what the Hub changes without a commit. 0: none; "
                   "auto: what --budget leaves after the walk (12 where the Hub states no quota). [default: auto]")
@click.option("--budget", default="5%", metavar="P%",
              help="The share of the Hub's rate-limit window one run may spend, the walk first. [default: 5%]")
@click.option("--retries", default=8, show_default=True, type=click.IntRange(min=1),
              help="Attempts per page before a transient failure ends the run.")
@click.option("--wait", type=click.FloatRange(min=0), default=0, show_default=True, metavar="SECONDS",
              help="If another run holds a scope, wait this long for it before giving up (exit code 5).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing unless something fails (for cron).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one JSON object per line on stderr, with scope and run id.")
@click.option("--json", "as_json", is_flag=True,
              help="Print each run record, failed ones too, as one JSON object per line on stdout.")
def sync(db: str | None, kinds: tuple[str, ...], endpoint: str | None, token: str | None, full: bool, retries: int,
         quiet: bool, log_format: str, as_json: bool, **settings: Any) -> None:
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
    # first, so that no signal finds the default handler mid-run
    with stop_on_signals(partial(logs.stopping_line, log_format)) as stop:
        from .harvest import harvest
        from .lanes import LANES, lane_of

        logs.setup(log_format, quiet=quiet)
        live, exit_code = sys.stderr.isatty() and not (as_json or quiet or log_format == "json"), 0
        with reported_errors():
            lane = lane_of(full=full, **{name: settings.pop(name) for name, spec in LANES.items() if spec.flag})
            for synced in harvest(db, kinds=kinds, endpoint=endpoint, token=token, stop=stop, lane=lane, full=full,
                                  attempts=retries, progress=partial(render.progress, live), **settings):
                named = len(set(kinds)) > 1 or "all" in kinds
                failed = render.kind_synced(synced, as_json, sys.stdout, stopping=stop.is_set(), named=named)
                exit_code = exit_code or failed  # the first failure's
    sys.exit(exit_code)


@main.command()
@DB_OPTION
@click.option("--format", "format_", type=click.Choice(["text", "json", "openmetrics"]), default=None,
              help="text: for people; json: the whole report; openmetrics: Prometheus metrics, ending in "
                   "'# EOF' (needs prometheus-client: pip install 'hf-harvester[metrics]'). [default: text]")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON (the same as --format json).")
def status(db: str | None, format_: str | None, as_json: bool) -> None:
    """Show each scope's last run, counts, watermark, and any unfinished walk."""
    with reported_errors():
        if as_json and format_ not in (None, "json"):
            raise ConfigError(f"--json is --format json: give one of them, not --json and --format {format_}")
        with _catalog(db) as catalog:
            report = catalog.status()
        render.status(report, "json" if as_json else format_ or "text", sys.stdout)


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
    with reported_errors(), _catalog(db) as catalog:
        render.changes(catalog.changes(since=since, kinds=kind, limit=limit), format_, sys.stdout, sys.stderr)


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
    with reported_errors():
        sql = _sql_text(sql, sql_file)
        with _catalog(db) as catalog:
            result = catalog.query(sql)
            if format_ == "table":
                render.shown(result.columns, result.tuples(), sys.stdout, every="--format csv, json or jsonl")
            else:
                render.write_rows(format_, result.columns, result.tuples(), sys.stdout)


def _sql_text(argument: str | None, sql_file) -> str:
    """The SQL to run, from exactly one place: the argument, '-' for standard input, or --file."""
    if (argument is None) == (sql_file is None):
        raise ConfigError("give the SQL as an argument, as '-' to read standard input, or with --file PATH")
    text = sql_file.read() if sql_file is not None else sys.stdin.read() if argument == "-" else argument
    if not text.strip():
        raise ConfigError("the SQL is empty")
    return text


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
    with reported_errors():
        if format_ == "parquet" and output is None:
            raise ConfigError("--format parquet writes a file: give --output FILE")
        with _catalog(db) as catalog:
            count = catalog.export(table_or_query, format=format_, out=output or sys.stdout)
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
    with reported_errors(), _catalog(db) as catalog:
        found = catalog.search(" ".join(words), kind=kind, limit=limit)
    render.matches(found, words=" ".join(words), kind=kind, as_json=as_json, out=sys.stdout)


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

    with reported_errors():
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
    from .maintenance import reset_state

    with reported_errors():
        count = reset_state(db, kind)
    click.echo(f"reset {plural(count, 'scope')}; the next sync is a full walk" if count else
               "nothing to reset: no scope has a cursor or watermark")


@main.group()
def db() -> None:
    """Manage the catalog's schema."""


@db.command("upgrade")
@DB_OPTION
def db_upgrade(db: str | None) -> None:
    """Apply pending schema revisions (sync does this by itself)."""
    from .maintenance import upgrade

    with reported_errors():
        click.echo(f"catalog at schema revision {upgrade(db)}")


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
    with reported_errors(), _catalog(db) as catalog:
        family = catalog.family(model, up=up, depth=depth)
    render.family(family, up=up, as_json=as_json, out=sys.stdout)


@main.command()
@DB_OPTION
@click.argument("repo")
@click.option("--kind", type=click.Choice(list(KINDS)), default=None, help="Only repos of this kind point at REPO.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object a line.")
def uses(db: str | None, repo: str, kind: str | None, as_json: bool) -> None:
    """List what points at REPO: models derived from or trained on it, spaces that use it, repos
    citing a paper (REPO as arxiv:<id> or doi:<id>), the most downloaded first."""
    with reported_errors(), _catalog(db) as catalog:
        found = catalog.uses(repo, kind=kind)
    render.uses(found, as_json=as_json, out=sys.stdout, err=sys.stderr)


main.add_command(emulator)
