"""`harvester serve`: the catalog in Datasette, described by the schema itself.

Datasette and datasette-dashboards are the ``[serve]`` extra, imported only when serving. Nothing
served is written by hand: the title and description of every table, view and column come from
``store/schema.py`` (``doc=`` and ``info``), the README's questions are canned queries, the repo
tables get facets and Datasette's search over the FTS5 index of `harvester search`, and a
dashboard of Vega-Lite charts (``/-/dashboards/catalog``) draws downloads over time, new repos,
families and the sync history. datasette-dashboards (0.8) ships vega, vega-lite and vega-embed
and serves them itself, so the charts render with no network at all.

SQLite only: Datasette reads SQLite files. A PostgreSQL catalog is refused in one line.
"""

from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table
from sqlalchemy.engine import make_url

from .errors import ConfigError, MissingExtra
from .graph import LARGEST_FAMILIES, MOST_TRAINED_ON
from .kinds import KINDS
from .logs import log
from .store.dialect import sqlite_open_mode
from .store.schema import OTHER_TABLES, metadata, views

if TYPE_CHECKING:
    from datasette.app import Datasette

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
SEARCH_EVERY = 300.0  # seconds between refreshes of the search index while serving
DASHBOARD = "catalog"  # served at /-/dashboards/catalog
TOP_MODELS = 5  # lines in the downloads-over-time chart
FAMILIES = 15  # bars in the largest-families chart
WEEKS = 26  # new repos per week, back from the catalog's newest change
EXTRA = "pip install 'hf-harvester[serve]'"
STATIC = Path(__file__).resolve().parent / "static"  # serve.css, served at STATIC_ROUTE
STATIC_ROUTE = "-/harvester"  # under Datasette's own "-/", where no database's name can take it
# The Vega-Lite that datasette-dashboards 0.8 bundles is 6.4; its JavaScript labels every spec v5
# before spreading ours over it, and a spec of another version makes a console warning per chart.
VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"

# Facets a repo table opens with (Datasette counts each column's values on every page). On the
# tables, not the `*_current` views: a table's facet reads the column's index alone (the models
# page in 0.3 s at 1,000,000 models), a view's reads every row (3.3 s).
FACETS = {"models": ["pipeline_tag", "library_name", "author"], "datasets": ["author"],
          "spaces": ["sdk", "author"]}


@dataclass(frozen=True)
class Query:
    """A canned query: Datasette lists it on the database page and runs it at ``/<db>/<name>``."""

    title: str
    description: str
    sql: str


# The README's questions. A parameter left empty picks the busiest model, so every query answers
# when opened.
QUERIES = {
    "top_text_generation_models": Query(
        "Top text-generation models", "The text-generation models with the most downloads (last 30 days).",
        "SELECT id, author, downloads, likes, library_name, created_at FROM models_current\n"
        "WHERE pipeline_tag = 'text-generation' ORDER BY downloads DESC LIMIT 100"),
    "new_text_generation_models_this_week": Query(
        "New text-generation models this week", "Text-generation models created in the last 7 days, most liked first.",
        "SELECT id, likes, downloads, created_at FROM models_current\n"
        "WHERE pipeline_tag = 'text-generation' AND created_at >= datetime('now', '-7 days')\n"
        "ORDER BY likes DESC LIMIT 100"),
    "gguf_models": Query(
        "Models tagged gguf", "Models with the tag gguf, most downloaded first.",
        "SELECT m.id, m.author, m.downloads, m.likes, m.pipeline_tag FROM models_current m\n"
        "JOIN model_tags t ON t.model_id = m.id WHERE t.tag = 'gguf' ORDER BY m.downloads DESC LIMIT 100"),
    "model_downloads_over_time": Query(
        "A model's downloads over time",
        "One sample per `harvester sync --stats` run in which its counters moved (model_stats); "
        "leave model_id empty for the most downloaded model.",
        "SELECT model_id, taken_at, downloads, likes, trending_score FROM model_stats\n"
        "WHERE model_id = coalesce(nullif(:model_id, ''),\n"
        "                          (SELECT id FROM models_current ORDER BY downloads DESC LIMIT 1))\n"
        "ORDER BY taken_at"),
    "most_fine_tuned_bases": Query(
        "Largest families", "Base models by how many live models derive from them, and how (base_model_counts).",
        LARGEST_FAMILIES.format(limit=100)),
    "datasets_most_trained_on": Query(
        "Datasets most trained on", "Datasets by how many live models say they were trained on them "
                                    "(dataset_model_counts).",
        MOST_TRAINED_ON.format(limit=100)),
    "authors_by_downloads": Query(
        "Authors by total downloads", "Authors by the downloads of all their live models.",
        "SELECT author, count(*) AS models, sum(downloads) AS downloads FROM models_current\n"
        "GROUP BY author ORDER BY downloads DESC LIMIT 100"),
}

# The dashboard's charts: (title, SQL, Vega-Lite spec). datasette-dashboards fetches each
# chart's rows from Datasette's JSON API and hands them to vega-embed with the spec.
_SAMPLES_OF_TOP_MODELS = f"""SELECT s.model_id AS model, strftime('%Y-%m-%dT%H:%M:%SZ', s.taken_at) AS taken_at,
  s.downloads AS downloads
FROM model_stats s
WHERE s.model_id IN (SELECT id FROM models_current ORDER BY downloads DESC LIMIT {TOP_MODELS})
ORDER BY s.model_id, s.taken_at"""
# Weeks start on Monday; the window ends at the newest lastModified (indexed), so it reads as
# well on a catalog synced last year as on one synced this morning. Counted per day from the
# index of revision 0014 alone (a substring per row, where date() per row cost twice as much),
# then per week over those few hundred rows: 0.3 s at 1,000,000 models, 1.2 s without the index.
_NEW_MODELS_PER_WEEK = f"""WITH daily AS MATERIALIZED (
  SELECT substr(created_at, 1, 10) AS day, coalesce(pipeline_tag, '(none)') AS task, count(*) AS n
  FROM models_current
  WHERE created_at >= date((SELECT max(last_modified) FROM models), '-{WEEKS * 7} days')
  GROUP BY 1, 2),
top AS (SELECT task FROM daily GROUP BY task ORDER BY sum(n) DESC LIMIT 8)
SELECT date(day, 'weekday 0', '-6 days') AS week,
  CASE WHEN task IN (SELECT task FROM top) THEN task ELSE 'other' END AS task, sum(n) AS models
FROM daily GROUP BY 1, 2 ORDER BY 1, 2"""
_RUNS = """SELECT id AS run, scope, mode, status, rows_seen AS rows, requests, started_at
FROM sync_runs ORDER BY id DESC LIMIT 200"""
_DERIVATIONS = ["finetunes", "quantizations", "adapters", "merges", "unspecified"]


def _per_run(field: str, title: str) -> dict[str, Any]:
    """A bar per sync run of one of its counts (a column of ``_RUNS``), colored by the run's mode."""
    return {"mark": {"type": "bar", "tooltip": True},
            "encoding": {"x": {"field": "run", "type": "ordinal"},
                         "y": {"field": field, "type": "quantitative", "title": title},
                         "color": {"field": "mode", "type": "nominal"}}}


CHARTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "downloads-over-time": (
        f"Downloads over time, top {TOP_MODELS} models (model_stats)", _SAMPLES_OF_TOP_MODELS,
        # a log scale: the busiest model's millions would flatten the others' thousands (0 has no place on it)
        # The scale is widened to whole hours, and labelled with date and time: a first sample alone
        # made a domain of one instant, whose only tick read ":32" (its seconds).
        {"transform": [{"filter": "datum.downloads > 0"}],
         "mark": {"type": "line", "tooltip": True},
         "encoding": {"x": {"field": "taken_at", "type": "temporal", "title": "sampled at",
                            "scale": {"nice": "hour"}, "axis": {"format": "%b %d, %H:%M", "labelOverlap": True}},
                      "y": {"field": "downloads", "type": "quantitative", "title": "downloads (30 days, log scale)",
                            "scale": {"type": "log"}},
                      "color": {"field": "model", "type": "nominal"}}}),
    "new-models-per-week": (
        f"New models per week by task, last {WEEKS} weeks", _NEW_MODELS_PER_WEEK,
        {"mark": {"type": "area", "tooltip": True},
         "encoding": {"x": {"field": "week", "type": "temporal", "title": "week"},
                      "y": {"field": "models", "type": "quantitative", "stack": "zero", "title": "new models"},
                      "color": {"field": "task", "type": "nominal"}}}),
    "largest-families": (
        "Largest families (base_model_counts)", LARGEST_FAMILIES.format(limit=FAMILIES),
        # A fixed height, 20 px per base model: Vega-Lite's default, a step per band, warns that it
        # drops "fit-y" under the dashboard's width "container", whatever the autosize.
        {"transform": [{"fold": _DERIVATIONS, "as": ["derivation", "count"]}],
         "height": 20 * FAMILIES,
         "mark": {"type": "bar", "tooltip": True},
         "encoding": {"y": {"field": "base_id", "type": "nominal", "sort": "-x", "title": "base model"},
                      "x": {"field": "count", "type": "quantitative", "title": "derived models"},
                      "color": {"field": "derivation", "type": "nominal"}}}),
    "rows-per-run": ("Rows read per sync run (sync_runs)", _RUNS, _per_run("rows", "rows read")),
    "requests-per-run": ("Requests per sync run (sync_runs)", _RUNS, _per_run("requests", "requests")),
}


def described_tables() -> dict[str, Table]:
    """Every table and view the catalog's revisions create, as `store.schema` documents them."""
    return {**metadata.tables, **views.tables}


def _searchable(name: str) -> str | None:
    """The kind whose FTS5 index searches the table or view ``name`` (its rows have ``row_key``)."""
    kind = name.removesuffix("_current")
    return kind if kind in KINDS else None


def table_metadata(name: str, table: Table | None) -> dict[str, Any]:
    """Datasette's metadata of one table or view: title, description, column docs, facets, search."""
    info = table.info if table is not None else OTHER_TABLES[name]
    entry: dict[str, Any] = {"title": info["title"], "description": info["description"]}
    if table is not None:
        entry["columns"] = {column.name: column.doc for column in table.c}
    kind = _searchable(name)
    if kind:
        if name == kind:
            entry["facets"] = FACETS[kind]
        entry["sort_desc"] = KINDS[kind].busiest_first  # an indexed order on the tables
        # `harvester search`'s index keeps each repo under its row_key (revision 0014)
        entry["fts_table"], entry["fts_pk"] = f"{kind}_search", "row_key"
    if name in OTHER_TABLES:
        entry["hidden"] = True  # Alembic's bookkeeping and the raw index: searched through the tables above
    return entry


def datasette_metadata(database: str) -> dict[str, Any]:
    """Datasette's whole metadata for a catalog served under the name ``database``."""
    tables = {name: table_metadata(name, table) for name, table in described_tables().items()}
    tables |= {name: table_metadata(name, None) for name in OTHER_TABLES}
    return {
        "title": "harvester catalog",
        "description": "Hugging Face Hub metadata kept by harvester; see the dashboard at /-/dashboards.",
        "extra_css_urls": [f"/{STATIC_ROUTE}/serve.css"],
        "databases": {database: {
            "description": "The catalog's tables and views; every column is described on its table's page.",
            "tables": tables,
            "queries": {name: {"title": q.title, "description": q.description, "sql": q.sql}
                        for name, q in QUERIES.items()},
        }},
        "plugins": {"datasette-dashboards": {DASHBOARD: dashboard(database)}},
    }


def dashboard(database: str) -> dict[str, Any]:
    """datasette-dashboards' configuration of the catalog's dashboard."""
    # SVG rather than vega-embed's default canvas: sharper, and each mark is an element a test can count.
    svg = {"$schema": VEGA_LITE_SCHEMA, "usermeta": {"embedOptions": {"renderer": "svg"}}}
    return {
        "title": "Hub catalog",
        "description": "Downloads over time, new models, the largest families and the sync history.",
        "charts": {slug: {"title": title, "db": database, "query": sql, "library": "vega-lite",
                          "display": spec | svg}
                   for slug, (title, sql, spec) in CHARTS.items()},
    }


def sqlite_path(url: str) -> Path:
    """The catalog file ``url`` names; a PostgreSQL catalog is refused, as is an in-memory one.

    Raises:
        ConfigError: not a SQLite file (exit 2).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ConfigError(f"harvester serve reads SQLite catalogs only (Datasette cannot serve "
                          f"{parsed.get_backend_name()}); export or query this one instead")
    if not parsed.database or parsed.database == ":memory:":
        raise ConfigError("harvester serve needs a catalog file, not an in-memory database")
    return Path(parsed.database)


def check_readable(url: str) -> None:
    """Refuse, before anything starts, a catalog that is missing, unreadable or not at the schema's
    head, in the words every other command uses (Datasette would start and answer each page with
    a 500).

    Raises:
        CatalogError: the catalog cannot be read.
    """
    from .read import read_only_catalog

    read_only_catalog(url).dispose()


def refresh_search(url: str, *, announce: bool = True) -> bool:
    """Bring the FTS5 indexes up to the change log (as `harvester search` does before each
    search); the one write `serve` makes. Datasette opens the file read-only, so its search sees
    the catalog as of the last refresh: this one at start, then one every ``--search-every``.
    Returns False, having changed nothing, when this user may only read the catalog."""
    from .search import refresh_index
    from .store.engine import open_catalog

    path = sqlite_path(url)
    if sqlite_open_mode(path) != "write":
        if announce:
            log.warning(f"{path} is read-only for this user: search uses the index as the last `harvester "
                        "search` (or serve) that could write it left it")
        return False
    engine = open_catalog(url, upgrade=False)
    try:
        for kind in KINDS:
            refresh_index(engine, kind)
    finally:
        engine.dispose()
    return True


def keep_search_fresh(url: str, every: float) -> threading.Event:
    """Refresh the search index every ``every`` seconds in a daemon thread, so that search finds
    what syncs add while serve runs; setting the returned event stops it. A refresh writes in
    short transactions (`search.refresh_index`), so a sync never waits long behind it, and one
    that fails (the catalog busy beyond the timeout, say) is logged and tried again next time."""
    stop = threading.Event()

    def refresh() -> None:
        while not stop.wait(every):
            try:
                refresh_search(url, announce=False)
            except Exception as exc:  # noqa: BLE001 - serving goes on; the next refresh tries again
                log.warning(f"could not refresh the search index ({exc}); trying again in {every:g} s")

    threading.Thread(target=refresh, name="harvester-search-refresh", daemon=True).start()
    return stop


def datasette(path: Path) -> Datasette:
    """A Datasette for the catalog file at ``path``, with the generated metadata.

    Raises:
        MissingExtra: Datasette or datasette-dashboards is not installed.
    """
    try:
        import datasette_dashboards  # noqa: F401  (a plugin: Datasette loads it by its entry point)
        from datasette.app import Datasette
    except ImportError as exc:
        raise MissingExtra(f"harvester serve needs Datasette and datasette-dashboards ({exc.name} is missing)",
                           "serve") from None
    # Opened as a mutable file, not `-i` (immutable): Datasette then reads it through `mode=ro`
    # connections, which take SQLite's read locks and read the WAL, so a sync that commits meanwhile
    # is seen page by page and never half. Immutable (`immutable=1`) promises SQLite that nothing
    # writes the file: it skips locking and the WAL, so it would miss or tear what a cron sync
    # writes. Datasette itself writes nothing here (no plugin that writes is loaded).
    settings = {
        "suggest_facets": False,  # a query per column on every table page: seconds on a large catalog
        "facet_time_limit_ms": 1000,  # author and library facets on 1,000,000 models (README: Numbers)
        "default_facet_size": 5,  # each facet's "..." link shows more; 30 values pushed the rows off the first screen
        "sql_time_limit_ms": 5000,
        "allow_download": False,  # the file is the catalog a sync writes; `harvester export` copies it safely
    }
    name = path.stem
    # A file on a read-only mount with no `-shm` beside it cannot be read through SQLite's locks:
    # Datasette's mode=ro connections would fail on every page. Nothing writes it, and immutable reads it.
    files = {"immutables" if path.exists() and sqlite_open_mode(path) == "immutable" else "files": [str(path)]}
    return Datasette(**files, metadata=datasette_metadata(name), settings=settings,
                     static_mounts=[(STATIC_ROUTE, str(STATIC))])


def is_loopback(host: str) -> bool:
    """Whether ``host`` binds this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(url: str, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, open_browser: bool = False,
          search_every: float = SEARCH_EVERY) -> None:
    """Serve the catalog at ``url`` with Datasette until interrupted; refresh its search index at
    start and every ``search_every`` seconds (0: at start only).

    Raises:
        ConfigError: the catalog is not a SQLite file (exit 2).
        MissingExtra: the ``[serve]`` extra is not installed.
        CatalogError: the catalog cannot be opened or is not at the schema's head.
    """
    path = sqlite_path(url)
    app = datasette(path)  # first: a missing extra is said before anything is touched
    check_readable(url)
    writable = refresh_search(url)
    import asyncio

    import uvicorn

    asyncio.run(app.invoke_startup())
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    if not is_loopback(host):
        log.warning(f"serving on {host}, reachable from other machines: anyone who can reach it can read "
                    "the whole catalog and run SQL on it; use the default 127.0.0.1 unless you mean it")
    log.info(f"serving {path} at {where} (dashboard: {where}-/dashboards/{DASHBOARD}); Ctrl-C stops")
    if open_browser:
        import webbrowser

        webbrowser.open(where)
    refreshing = keep_search_fresh(url, search_every) if writable and search_every > 0 else None
    try:
        uvicorn.run(app.app(), host=host, port=port, log_level="warning", lifespan="on")
    finally:
        if refreshing is not None:
            refreshing.set()

