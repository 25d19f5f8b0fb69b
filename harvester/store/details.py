"""The details lane's rows: which repos are due, and their heavy fields and files replaced."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Dialect, Engine, bindparam, delete, or_, select, text, tuple_, update

from ..kinds import KINDS
from ..mapping import RepoDetails
from .bulk import BulkInsert
from .changes import ChangeLog, differing
from .clock import utc
from .links import replace_hub_bases

if TYPE_CHECKING:
    from .transactions import PageBatch


@lru_cache(maxsize=32)
def _file_insert(dialect: Dialect, kind: str) -> BulkInsert:
    files, key = KINDS[kind].files, KINDS[kind].id_column
    return BulkInsert.compile(files.insert(), files, (key, "path", "size", "lfs_sha256"), dialect)


def details_due(kind: str) -> tuple:
    """Live repos whose heavy fields are missing or older than their ``sha``."""
    table = KINDS[kind].repos
    return (table.c.deleted_at.is_(None), table.c.disabled.is_not(True), table.c.sha.is_not(None),
            table.c.last_modified.is_not(None), or_(table.c.files_sha.is_(None), table.c.files_sha != table.c.sha))


def pending_details(engine: Engine, kind: str, *, after: tuple[datetime, str] | None,
                    limit: int, where: str | None = None) -> list[tuple[datetime, str]]:
    """Repos whose heavy fields are missing or older than their ``sha``: (last_modified, id), newest
    first, after the keyset position ``after``, so a run passes each repo once even if it fails.
    ``where``: only the repos this SQL expression over the row selects; give it only with an
    ``engine`` that refuses writes (`read.read_only_catalog`), for it is the user's SQL."""
    table = KINDS[kind].repos
    due = select(table.c.last_modified, table.c.id).where(*details_due(kind))
    if where is not None:
        due = due.where(text(f"({where})"))
    if after is not None:
        due = due.where(tuple_(table.c.last_modified, table.c.id) < tuple_(*after))
    with engine.connect() as conn:
        return [(utc(modified), repo_id) for modified, repo_id in
                conn.execute(due.order_by(table.c.last_modified.desc(), table.c.id.desc()).limit(limit))]


def replace_details(conn: Connection, kind: str, details: dict[str, RepoDetails], *, now: datetime,
                    run_id: int | None = None) -> int:
    """Store heavy fields, files and a model's Hub bases of repos (by catalog id) in place of the old
    ones, and log them as updates; returns how many. A repo renamed or gone since it was fetched is skipped."""
    spec = KINDS[kind]
    table, key, files = spec.repos, spec.id_column, spec.files
    names = ["files_sha", *next(iter(details.values())).columns]
    stored = {row["id"]: row for row in conn.execute(
        select(table.c.id, table.c.hub_id, table.c.row_key, *(table.c[n] for n in names))
        .where(table.c.id.in_(details))).mappings()}
    if not stored:
        return 0
    bases = {stored[repo_id]["row_key"]: links for repo_id in stored if (links := details[repo_id].bases) is not None}
    rebased = replace_hub_bases(conn, bases) if bases else set()
    conn.execute(delete(files).where(files.c[key].in_(stored)))
    rows = sorted(({key: repo_id, **file} for repo_id in stored for file in details[repo_id].files),
                  key=lambda row: (row[key], row["path"]))  # in key order: the B-tree fills in sequence
    if rows:
        _file_insert(conn.dialect, kind).run(conn, rows)
    new = {repo_id: {"files_sha": details[repo_id].sha, **details[repo_id].columns} for repo_id in stored}
    statement = update(table).where(table.c.id == bindparam("repo_id")).values(
        {name: bindparam(f"new_{name}") for name in names})
    conn.execute(statement, [{"repo_id": repo_id, **{f"new_{n}": v for n, v in new[repo_id].items()}}
                             for repo_id in stored])
    log = ChangeLog(kind, run_id=run_id, now=now)
    for repo_id, old in sorted(stored.items()):
        fields = differing(old, new[repo_id], names)
        fields = ["files", *fields] if "files_sha" in fields else fields
        fields += ["base_models"] if old["row_key"] in rebased else []
        if fields:
            log.add("update", old["hub_id"], repo_id, fields=fields)
    log.write(conn)
    return len(stored)


def store_details_page(batch: PageBatch, kind: str, details: dict[str, RepoDetails], *, rejected: int) -> None:
    """Store one batch of the details lane: heavy fields, files and the run's counts."""

    batch.store_work(lambda conn, now: replace_details(conn, kind, details, now=now, run_id=batch.run_id),
                     len(details), rejected=rejected)
