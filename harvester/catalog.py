"""`Catalog`: the catalog as a Python object, for notebooks, pipelines and the CLI's reading commands.

It opens the catalog read-only (SQLite's ``query_only``, PostgreSQL transactions begun read-only),
so nothing downstream code does through it can change what a sync wrote (besides `status`'s repair
of dead runs and `search`'s index, written through an engine of their own). `harvester changes`,
`query`, `export`, `search`, `status`, `tree` and `uses` are thin layers over it: one implementation
of each.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import weakref
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar, overload

from sqlalchemy.exc import SQLAlchemyError

from .errors import ConfigError
from .feeds import FOLLOW_INTERVAL, chosen_kinds, followed, since_seq
from .results import ChangeFeed, QueryResult, unreadable

if TYPE_CHECKING:
    import pandas
    import pyarrow
    from sqlalchemy import Engine

    from .graph import Node, Use
    from .status import Status

ExportFormat = Literal["jsonl", "csv", "parquet"]
EXPORT_FORMATS = ("jsonl", "csv", "parquet")
REPAIR_WAIT = 0.5  # seconds status() waits for the write lock to record dead runs (a sync holds it for pages)
R = TypeVar("R", ChangeFeed, QueryResult)


class Catalog:
    """Read-only access to a harvester catalog: its change feed, SQL queries, exports, search and sync status.

    Args:
        db: a SQLite path or a SQLAlchemy URL (``postgresql+psycopg://...``); default
            ``$HARVESTER_DB``, else ``hub.db``, as for the CLI's ``--db``.

    Raises:
        CatalogError: no catalog there, not a harvester catalog, a driver missing (with the
            ``pip install`` that fixes it), or a catalog from a newer harvester (`CatalogTooNew`).
        ConfigError: a database URL of a backend harvester does not keep catalogs in.

    Example:
        >>> with Catalog("hub.db") as catalog:  # doctest: +SKIP
        ...     for change in catalog.changes(since=0, kinds=["models"], limit=10):
        ...         print(change.seq, change.change, change.repo_id)
    """

    def __init__(self, db: str | os.PathLike[str] | None = None) -> None:
        from .config import database_url
        from .read import read_only_catalog

        self.url = database_url(os.fspath(db) if db is not None else None)
        self._engine: Engine | None = read_only_catalog(self.url)
        self._reading: weakref.WeakSet[ChangeFeed | QueryResult] = weakref.WeakSet()
        self._reading_lock = threading.Lock()
        self._closed = threading.Event()

    @property
    def engine(self) -> Engine:
        """The read-only SQLAlchemy engine, for what the methods do not cover."""
        if self._engine is None:
            raise ConfigError("this Catalog is closed: open a new one with Catalog(db)")
        return self._engine

    def close(self) -> None:
        """Close the catalog's connections, ending the feeds and query results still being read
        (a half-read result's snapshot would keep SQLite from recycling its write-ahead log). A
        feed that another thread is reading right now ends there at its next poll."""
        self._closed.set()
        with self._reading_lock:
            reading = list(self._reading)
        try:
            for reader in reading:
                with contextlib.suppress(ValueError):  # "generator already executing": its own thread ends it
                    reader.close()
        finally:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _opened(self, reader: R) -> R:
        """``reader``, to be closed with the catalog."""
        with self._reading_lock:
            self._reading.add(reader)
        return reader

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        from .store.engine import _safe_url

        return f"Catalog({_safe_url(self.url)!r})"

    def changes(self, since: int = 0, kinds: str | Collection[str] | None = None,
                limit: int | None = None) -> ChangeFeed:
        """What syncs changed after ``since``, oldest first, read a batch at a time.

        Args:
            since: the ``seq`` after which to start: 0 for everything, else the ``position`` (or
                last ``seq``) saved from the previous call.
            kinds: ``"models"``, ``"datasets"``, ``"spaces"`` or a collection of them; None for all.
            limit: at most this many changes.

        Returns:
            A `ChangeFeed` of frozen `Change` records; its ``position`` is where the next call
            should start, also when the feed yielded nothing.

        Raises:
            ConfigError: a negative ``since``, a ``limit`` below 1 or an unknown kind.

        Example:
            >>> feed = catalog.changes(since=saved, kinds="models")  # doctest: +SKIP
            >>> inserted = [c.repo_id for c in feed if c.change == "insert"]  # doctest: +SKIP
            >>> saved = feed.position  # doctest: +SKIP
        """
        from .store.changes import read_changes

        since, chosen = since_seq(since), chosen_kinds(kinds)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ConfigError(f"limit must be a positive integer or None, not {limit!r}")
        return self._opened(ChangeFeed(read_changes(self.engine, since=since, kinds=chosen, limit=limit), since))

    def follow(self, since: int = 0, kinds: str | Collection[str] | None = None, *,
               interval: float = FOLLOW_INTERVAL, stop: threading.Event | None = None) -> ChangeFeed:
        """The changes after ``since``, then each new one as syncs commit it, until ``stop`` is set.

        Polls the change log every ``interval`` seconds. Setting ``stop`` (from another thread, or
        from the loop itself) ends the feed before its next change, as closing the catalog does;
        without either, it runs until the consumer stops iterating (or Ctrl-C). No signal handler
        is installed. A poll that
        fails (the database restarting, a dropped connection) is logged and tried again from
        the last change yielded, so none is missed or repeated.

        Args:
            since: the ``seq`` after which to start (0: from the beginning).
            kinds: ``"models"``, ``"datasets"``, ``"spaces"`` or a collection of them; None for all.
            interval: seconds between polls once the feed has caught up.
            stop: a `threading.Event` that ends the feed.

        Returns:
            A `ChangeFeed`; its ``position`` is the ``seq`` of the last change yielded.

        Raises:
            ConfigError: a negative ``since``, an unknown kind or an ``interval`` that is not positive.

        Example:
            >>> stop = threading.Event()  # doctest: +SKIP
            >>> for change in catalog.follow(since=saved, stop=stop):  # doctest: +SKIP
            ...     handle(change)
        """
        since, chosen = since_seq(since), chosen_kinds(kinds)
        if not isinstance(interval, int | float) or not interval > 0:
            raise ConfigError(f"interval must be a positive number of seconds, not {interval!r}")
        engine = self.engine
        ending = stop if stop is not None else self._closed
        rows = followed(engine, since, chosen, interval=interval, ending=ending, closed=self._closed)
        return self._opened(ChangeFeed(rows, since))

    @overload
    def query(self, sql: str, *, as_: None = None) -> QueryResult: ...
    @overload
    def query(self, sql: str, *, as_: Literal["pandas"]) -> pandas.DataFrame: ...
    @overload
    def query(self, sql: str, *, as_: Literal["arrow"]) -> pyarrow.Table: ...

    def query(self, sql: str, *, as_: Literal["pandas", "arrow"] | None = None) -> Any:
        """Run read-only SQL (or read a table or view by name) and stream its rows as dicts.

        Only ``SELECT``, ``WITH``, ``VALUES`` and ``TABLE`` run (and on SQLite ``EXPLAIN`` and
        ``PRAGMA`` that set nothing); anything else is refused before it runs, and the connection
        itself refuses writes. Values are as the database gives them (on SQLite, times and JSON
        of a query are text; a table read by name gets its declared types).

        Args:
            sql: a query, or a table or view name such as ``"models_current"``.
            as_: None for a stream of dicts; ``"pandas"`` for a DataFrame, ``"arrow"`` for a
                pyarrow Table (typed as a Parquet export is, nested values as JSON text). Both
                hold every row in memory.

        Returns:
            A `QueryResult` (an iterator of dicts with ``columns``), a DataFrame or a Table.

        Raises:
            QueryRefused: the SQL would change something, names no table, or failed.
            ConfigError: ``as_`` is unknown, or pandas or pyarrow is not installed (the message
                says what to install).

        Example:
            >>> for row in catalog.query("SELECT id, downloads FROM models_current LIMIT 3"):  # doctest: +SKIP
            ...     print(row["id"], row["downloads"])
            >>> frame = catalog.query("SELECT author, downloads FROM models", as_="pandas")  # doctest: +SKIP
        """
        from .read import arrow_table, rows

        if as_ not in (None, "pandas", "arrow"):
            raise ConfigError(f"as_ must be None, 'pandas' or 'arrow', not {as_!r}")
        if as_ == "pandas":
            try:
                import pandas
            except ImportError:
                raise ConfigError("as_='pandas' needs pandas: pip install pandas") from None
        result = rows(self.engine, sql)
        if as_ == "arrow":
            return arrow_table(result)
        if as_ == "pandas":
            return pandas.DataFrame.from_records(list(result.stream), columns=result.columns)
        return self._opened(QueryResult(result.columns, result.stream))

    def family(self, model: str, *, up: bool = False, depth: int | None = None) -> Node:
        """A model's family from the graph: its descendants, or with ``up`` its ancestors.

        Args:
            model: a model id, or an id it had before a rename.
            up: the ancestors (what ``model`` derives from) instead of the descendants.
            depth: at most this many generations (default 10; 0: the model alone). Cycles end at the bound.

        Returns:
            The root `graph.Node`; each node has ``id``, ``relation`` (how it derives from its
            parent in the tree), ``downloads``, ``likes``, ``children``; ``as_json()`` nests them.

        Raises:
            RepoNotFound: no live model goes by that id now, or went by it before a rename.

        Example:
            >>> tree = catalog.family("meta-llama/Llama-3.1-8B", depth=2)  # doctest: +SKIP
            >>> [child.id for child in tree.children if child.relation == "quantized"]  # doctest: +SKIP
        """
        from . import graph

        with self.engine.connect() as conn:
            return graph.family(conn, model, up=up, depth=graph.DEFAULT_DEPTH if depth is None else depth)

    def uses(self, repo: str, *, kind: str | None = None) -> list[Use]:
        """What points at a model, dataset or paper (``arxiv:<id>``, ``doi:<id>``), most downloaded first.

        Args:
            repo: a repo id (or an id it had before a rename), or a paper.
            kind: only repos of this kind (``"models"``, ``"datasets"``, ``"spaces"``).

        Returns:
            `graph.Use` records: ``kind``, ``id``, ``relation`` (finetune, quantized, adapter,
            merge, base_model, trained_on, uses, cites), ``downloads``, ``likes``.

        Raises:
            RepoNotFound: ``repo`` is neither in the catalog nor named by any edge.

        Example:
            >>> [use.id for use in catalog.uses("HuggingFaceH4/ultrachat_200k", kind="models")]  # doctest: +SKIP
        """
        from . import graph

        if kind is not None:
            chosen_kinds(kind)
        with self.engine.connect() as conn:
            return list(graph.uses(conn, repo, kind=kind))

    def export(self, table_or_query: str, *, format: ExportFormat = "jsonl",
               out: str | os.PathLike[str] | IO[str] | None = None) -> int:
        """Stream a table (or view) or a SELECT's rows to a file or stream as JSON Lines, CSV or Parquet.

        Memory stays flat whatever the size. A file is written beside its place and takes it only once the
        export succeeded, keeping the old file's mode; a failed export leaves the old file (or none). CSV cells
        that start like a spreadsheet formula (``=``, ``+``, ``-``, ``@``) are written with a leading ``'``.

        Args:
            table_or_query: a table or view name such as ``"models"``, or a read-only query.
            format: ``"jsonl"``, ``"csv"`` or ``"parquet"`` (needs pyarrow: the ``[parquet]`` extra).
            out: a path, or an open text stream (not for Parquet); None for standard output.

        Returns:
            How many rows were written.

        Raises:
            QueryRefused: the SQL would change something, names no table, or failed.
            ConfigError: an unknown format, Parquet to a stream, a file that cannot be written, or a
                query column whose values do not fit one Parquet type.
            MissingExtra: Parquet without pyarrow.

        Example:
            >>> catalog.export("models_current", format="parquet", out="models.parquet")  # doctest: +SKIP
            1000000
        """
        from .read import rows, write_export

        if format not in EXPORT_FORMATS:
            raise ConfigError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {format!r}")
        path = os.fspath(out) if isinstance(out, str | os.PathLike) else None
        if format == "parquet" and path is None:
            raise ConfigError("format='parquet' writes a file: give out as a path")
        return write_export(rows(self.engine, table_or_query), format, path, out or sys.stdout)

    def search(self, words: str, *, kind: str = "models", limit: int = 20) -> list[dict[str, Any]]:
        """The live repos of ``kind`` matching every word of their id, author, task, library, license or card.

        On SQLite it first brings the search index up to the change log (the catalog's only write
        besides `status`'s repair: a few short transactions, a whole rebuild of 1,000,000 models
        about 90 s, 6 minutes if each has a card); on PostgreSQL it searches the catalog directly.

        Args:
            words: plain words, all required (no query syntax: ``/``, ``-`` and quotes are text).
            kind: ``"models"``, ``"datasets"`` or ``"spaces"``.
            limit: at most this many repos.

        Returns:
            Dicts with ``id``, ``likes``, ``last_modified`` and the other columns of the match, best first.

        Raises:
            ConfigError: an unknown kind, or a ``limit`` below 1.
            CatalogError: the catalog cannot be read, or its index written.

        Example:
            >>> [repo["id"] for repo in catalog.search("llama gguf", limit=5)]  # doctest: +SKIP
        """
        from .search import search

        chosen_kinds(kind)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"limit must be a positive integer, not {limit!r}")
        with self._writable() as writable:
            return search(writable, words, kind=kind, limit=limit)

    def card(self, repo_id: str, *, kind: str = "models") -> str | None:
        """A repo's README body as `sync --cards` last read it (after its front matter, invalid UTF-8
        as U+FFFD); None if it has no card, the Hub refused it, or the lane has not read it.

        Example:
            >>> "Japanese" in (catalog.card("acme/bert-ja") or "")  # doctest: +SKIP
        """
        from .store.cards import read_card

        chosen_kinds(kind)
        try:
            with self.engine.connect() as conn:
                return (read_card(conn, kind, repo_id) or (None, None))[1]
        except SQLAlchemyError as exc:
            raise unreadable(exc) from None

    def status(self, *, repair: bool = True) -> Status:
        """Per scope its last run, last success, failures since, walk and lock; per kind its staleness and lap.

        The same report as ``harvester status --json`` (`store.status.scope_status`), typed.

        Args:
            repair: as `harvester status` does, first record runs whose process is gone as
                abandoned and free their locks (the catalog's only write; skipped when the catalog
                cannot be written). False only reads.

        Returns:
            A `Status`: a `ScopeStatus` per scope, sorted by scope; ``as_json()`` gives what
            ``harvester status --json`` prints.

        Raises:
            CatalogError: the catalog cannot be read.

        Example:
            >>> [s.scope for s in catalog.status() if s.failures_since_success]  # doctest: +SKIP
        """
        from .lanes import LAP
        from .status import Status
        from .store.status import reap_dead_runs, scope_status

        try:
            if repair:  # a moment's wait at most: a sync holding the write lock repairs what it finds itself
                with self._writable(busy_timeout=REPAIR_WAIT) as writable:
                    reap_dead_runs(writable)
            report = scope_status(self.engine, now=datetime.now(UTC), lap_suffix=LAP.scope_suffix, repair=False)
            return Status.from_json(report)
        except SQLAlchemyError as exc:
            raise unreadable(exc) from None

    @contextlib.contextmanager
    def _writable(self, **options: Any) -> Iterator[Engine]:
        """A writable engine on the catalog for the few writes reading needs (a repair, the search index);
        a database error in the block comes out as the one-line `CatalogError`."""
        from .store.engine import create_catalog_engine

        engine = create_catalog_engine(self.url, **options)
        try:
            yield engine
        except SQLAlchemyError as exc:
            raise unreadable(exc) from None
        finally:
            engine.dispose()
