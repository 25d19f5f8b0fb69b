"""Opening a catalog: engine creation, SQLite pragmas, and bringing the schema to head."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .. import jsontext
from ..errors import CatalogError, CatalogTooNew, ConfigError, MissingDriver
from . import dialect

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in migrations/ (a test keeps them equal). A catalog already there is
# opened without loading Alembic, a fifth of a second that an hourly no-change run would feel.
SCHEMA_HEAD = "0021"
BUSY_TIMEOUT = 30.0  # seconds
DRIVER_EXTRAS = {"postgresql": "postgres"}  # backend -> the pip extra that installs its driver
DAMAGED_HINT = ("`sqlite3 {path} 'PRAGMA integrity_check'` says where; rebuild the catalog with `harvester sync "
                "--full --db NEW_FILE` (the damaged file is left as it is)")


def _migrations_dir() -> Path:
    """migrations/ beside the package in a checkout, or packed inside it in a wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise CatalogError(f"harvester is installed without its migrations (looked beside {package})")


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    return config


def _pool_options(url: str) -> dict[str, Any]:
    """LIFO: a sync's pages reuse the connection the last page returned, whose page cache is warm,
    and the pool's other connections (the lock's heartbeat) stay small; with FIFO each grew a
    page cache of its own, and a 1,000,000-model crawl's peak RSS with them. (An in-memory SQLite
    database has a single connection, and no pool to order.)"""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return {}
    return {"pool_use_lifo": True}


def _read_only_file(url: str) -> dict[str, Any]:
    """For a SQLite catalog this user cannot write (a read-only mount, another user's file), a
    ``creator`` that opens it read-only, so that reading it needs no write beside it; its
    writers then fail with SQLite's "attempt to write a readonly database"."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return {}
    path = Path(parsed.database)
    uri = dialect.sqlite_read_only_uri(path) if path.exists() else None
    if uri is None:
        return {}
    import sqlite3

    # check_same_thread: what SQLAlchemy passes for a file it pools, as it would without a creator
    return {"creator": lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)}


def create_catalog_engine(url: str, *, busy_timeout: float = BUSY_TIMEOUT) -> Engine:
    """An engine for a catalog URL; SQLite files get WAL, a busy timeout and foreign keys, and
    a file this user cannot write is opened read-only."""
    try:
        engine = create_engine(url, json_serializer=jsontext.dumps, **_pool_options(url), **_read_only_file(url))
    except ArgumentError as exc:
        shown = _safe_url(url)
        raise CatalogError(f"cannot open catalog {shown!r}: not a database URL SQLAlchemy knows ({exc})") from None
    except ImportError as exc:
        _refuse_unsupported(url)
        extra = DRIVER_EXTRAS.get(make_url(url).get_backend_name())
        what = f"cannot open catalog {_safe_url(url)!r}: its database driver is not installed ({exc.name or exc})"
        raise (MissingDriver(what, extra) if extra else CatalogError(f"{what}; install it with pip")) from None
    _refuse_unsupported(url)
    dialect.configure(engine, busy_timeout=busy_timeout)
    if engine.dialect.name == "sqlite":
        database = make_url(url).database
        if database and database != ":memory:" and not Path(database).parent.is_dir():
            raise CatalogError(f"cannot open catalog {database!r}: directory {str(Path(database).parent)!r} "
                               "does not exist")
    return engine


def _refuse_unsupported(url: str) -> None:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"cannot open catalog {_safe_url(url)!r}: harvester keeps its catalog in SQLite or "
                          f"PostgreSQL, not {backend}")


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def writable(engine: Engine) -> bool:
    """Whether this user may write the catalog: False for a SQLite file opened read-only (on a
    read-only mount, say); PostgreSQL's grants are not looked at (True)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return True
    path = Path(database)
    return not path.exists() or dialect.sqlite_read_only_uri(path) is None


def describe(engine: Engine) -> str:
    """The catalog's name for messages: a file path, or a URL without its password."""
    url = engine.url
    return url.database if url.get_backend_name() == "sqlite" else url.render_as_string(hide_password=True)


def database_reason(exc: SQLAlchemyError) -> str:
    """The database's own one-line reason for a failure, without SQLAlchemy's wrapping."""
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]


def damaged(reason: str) -> bool:
    """Whether a database's reason says the catalog's file itself is damaged (not the SQL, not a lock)."""
    return "malformed" in reason or "not a database" in reason


def catalog_error(engine: Engine, exc: SQLAlchemyError, doing: str = "write to") -> CatalogError:
    """A database failure as a message that names the catalog, the reason and what to do."""
    reason = database_reason(exc)
    hint = ""
    if "locked" in reason or "busy" in reason:
        hint = ": another process holds the catalog (a long query or another sync); try again later"
    elif "full" in reason:
        hint = ": free some space; the next run resumes after the last committed page"
    elif "unable to open" in reason or "readonly" in reason:
        hint = ": check that this user may write the file and its directory"
    elif damaged(reason):
        hint = f": {DAMAGED_HINT.format(path=shlex.quote(describe(engine)))}"
    return CatalogError(f"cannot {doing} catalog {describe(engine)!r}: {reason}{hint}")


_found_sound: set[tuple[Any, ...]] = set()  # catalog files this process has checked, as they were then


def check_undamaged(engine: Engine) -> None:
    """Refuse a SQLite catalog whose file is damaged (a disk or a copy gone wrong), before
    anything is written into it: a write can only spread the damage. A file found sound is not
    checked again by this process until it changes (a `sync --kind all` opens the catalog up to
    six times; in WAL mode its commits go to the `-wal`, and the file itself changes only at
    checkpoints, every 100,000 pages).

    Raises:
        CatalogError: SQLite's ``quick_check`` found damage; nothing was written.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return
    found = Path(database).stat()
    key = (database, found.st_ino, found.st_size, found.st_mtime_ns)
    if key in _found_sound:
        return
    with engine.connect() as connection:
        problems = dialect.damage(connection)
    if problems:
        raise CatalogError(f"catalog {describe(engine)!r} is damaged ({problems[0]}); nothing was written: "
                           f"{DAMAGED_HINT.format(path=shlex.quote(describe(engine)))}")
    _found_sound.add(key)


def schema_revision(engine: Engine) -> str | None:
    """The catalog's schema revision as Alembic recorded it; None for a database without one."""
    with engine.connect() as connection:
        return _revision(connection)


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def open_catalog(url: str, *, upgrade: bool = True, busy_timeout: float = BUSY_TIMEOUT) -> Engine:
    """Open a catalog, applying pending revisions; refuse one written by a newer harvester.

    Raises:
        CatalogTooNew: the catalog's revision is unknown to this harvester (nothing is touched).
        CatalogError: the database cannot be opened or migrated.
    """
    engine = create_catalog_engine(url, busy_timeout=busy_timeout)
    database = engine.url.database
    if not upgrade and engine.dialect.name == "sqlite" and database and not Path(database).exists():
        raise CatalogError(f"no catalog at {database!r}: run `harvester sync` to create one")
    try:
        current = schema_revision(engine)
        if upgrade:
            check_undamaged(engine)
        if current != SCHEMA_HEAD:  # at head (the usual case) Alembic is not even imported
            _check_and_upgrade(engine, current, upgrade=upgrade)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise catalog_error(engine, exc, "open") from exc
    except CatalogError:
        engine.dispose()
        raise
    return engine


def _check_and_upgrade(engine: Engine, current: str | None, *, upgrade: bool) -> None:
    """Refuse a catalog from a newer harvester, or one not at head when not upgrading; else upgrade it."""
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise CatalogTooNew(
            f"cannot open catalog {describe(engine)!r}: it was written by a newer harvester "
            f"(schema revision {current}; this one knows up to {head}); upgrade harvester"
        )
    if not upgrade and current != head:
        found = "has no harvester schema" if current is None else f"is at schema revision {current}"
        raise CatalogError(f"catalog {describe(engine)!r} {found}; run `harvester db upgrade` (or a sync) first")
    if upgrade and current != head:
        with engine.begin() as connection:
            dialect.lock_for_migration(connection)
            # another process may have upgraded it while this one waited for the lock
            if _revision(connection) != head:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
