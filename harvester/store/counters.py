"""The counter lane's rows: counters of known repos refreshed, and their history sampled."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, func, insert, select, update

from ..kinds import KINDS
from ..mapping import Counters
from ..state import RunStats, WalkState

if TYPE_CHECKING:
    from .transactions import PageBatch


def record_counters(conn: Connection, kind: str, counters: dict[str, Counters], *, run_id: int,
                    now: datetime) -> tuple[int, int, int]:
    """Refresh counters of known repos, and sample the history where they differ from the last sample.

    Returns (updated, unchanged, sampled). A refreshed row's ``raw_extra`` takes the same
    counters, so that its item (the view ``<kind>_raw``) never contradicts its columns, and its
    ``item_hash`` is forgotten: the item the next listing serves is compared with the columns
    then, even if it is the one the digest was taken of. The history is compared with its own
    last sample, not with the live columns, which the main lane also refreshes. Repos the
    catalog does not know yet are left to the main lane.
    """
    spec = KINDS[kind]
    table, stats_table, key = spec.repos, spec.stats, spec.id_column
    names = [name for name in ("downloads", "likes", "trending_score") if name in table.c]
    rows = conn.execute(select(table.c.id, table.c.raw_extra, *(table.c[n] for n in names))
                        .where(table.c.id.in_(counters))).all()
    current = {row[0]: dict(zip(names, row[2:], strict=True)) for row in rows}
    extras = {row[0]: row[1] for row in rows}
    previous = stats_table.alias("previous")
    newest_run = select(func.max(previous.c.run_id)).where(previous.c[key] == stats_table.c[key]).scalar_subquery()
    last = select(stats_table.c[key], *(stats_table.c[n] for n in names)).where(
        stats_table.c[key].in_(current), stats_table.c.run_id == newest_run)
    last_sample = {row[0]: dict(zip(names, row[1:], strict=True)) for row in conn.execute(last)}
    changed = [repo_id for repo_id, values in current.items() if values != counters[repo_id].columns]
    if changed:
        statement = update(table).where(table.c.id == bindparam("repo_id")).values(
            {**{name: bindparam(f"new_{name}") for name in names}, "item_hash": None,
             "raw_extra": bindparam("new_extra")})
        conn.execute(statement, [{"repo_id": repo_id, "new_extra": counters[repo_id].patched(extras[repo_id]),
                                  **{f"new_{n}": counters[repo_id].columns[n] for n in names}}
                                 for repo_id in changed])
    samples = [repo_id for repo_id in current if last_sample.get(repo_id) != counters[repo_id].columns]
    if samples:
        conn.execute(insert(stats_table), [{key: repo_id, "run_id": run_id, "taken_at": now,
                                            **counters[repo_id].columns} for repo_id in samples])
    return len(changed), len(current) - len(changed), len(samples)


def store_stats_page(batch: PageBatch, counters: dict[str, Counters], *, rejected: int, state: WalkState) -> None:
    """Store one counter-lane page: counters, history samples, the checkpoint and the counts."""

    def write(conn: Connection, after: RunStats, now: datetime) -> None:
        updated, unchanged, sampled = record_counters(conn, state.kind, counters, run_id=batch.run_id, now=now)
        after.rows_seen += len(counters)
        after.rows_updated += updated
        after.rows_unchanged += unchanged
        after.samples_taken += sampled

    batch.store(write, state=state, sweep_since=None, rejected=rejected)
