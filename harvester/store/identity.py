"""A repo's identity across renames: its ``hub_id`` listed under a new repo id moves its row
there in place, and a row whose id the Hub now gives to another repo is moved aside."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from ..kinds import KINDS
from ..mapping import MappedRow
from .changes import ChangeLog
from .schema import renames

# Ids no Hub repo can have (they hold a space): "<id> (replaced; hub_id <_id>)" for a row moved
# aside, "<id> (moving)" for one parked while a cycle of renames goes round.
ASIDE = " (replaced; hub_id "
PARKED = " (moving)"


def _original_id(row_id: str) -> str:
    """The repo id a row had before it was moved aside or parked (the id itself for any other row)."""
    return row_id.split(ASIDE, 1)[0].removesuffix(PARKED)


def move_aside_replaced(conn: Connection, kind: str, by_id: dict[str, MappedRow], *, now: datetime,
                        log: ChangeLog) -> int:
    """Move aside the rows whose repo id the Hub now gives to another repo (another ``hub_id``),
    when their own repo is not on this page under a new name: it was deleted, or renamed out of
    sight, and its id was taken. Each keeps its history, marked deleted, under an id no Hub repo
    can have; if its repo is listed again under a new name, the rename finds it by ``hub_id``.
    Returns how many live rows were marked deleted so."""
    table = KINDS[kind].repos
    listed = {row.row["hub_id"] for row in by_id.values()}
    occupants = conn.execute(select(table.c.id, table.c.hub_id, table.c.deleted_at)
                             .where(table.c.id.in_(by_id))).all()
    gone = 0
    for repo_id, hub_id, deleted_at in sorted(occupants):
        if hub_id == by_id[repo_id].row["hub_id"] or hub_id in listed:  # the same repo, or one moving on
            continue
        conn.execute(update(table).where(table.c.id == repo_id).values(
            id=f"{repo_id}{ASIDE}{hub_id})", deleted_at=deleted_at or now))
        if deleted_at is None:
            log.add("delete", hub_id, repo_id)
            gone += 1
    return gone


def apply_renames(conn: Connection, kind: str, by_id: dict[str, MappedRow], *, now: datetime,
                  run_id: int | None, log: ChangeLog) -> int:
    """Move rows whose ``hub_id`` arrives under a new repo id to that id; returns how many.

    A move waits until its new id is free: in a chain (b to c, then a to b) the row holding it
    moves first, and in a cycle (a swap) one row is parked under an id no repo can have. A move
    whose new id a row keeps (another repo that held the name, or two rows sharing a hub_id) is
    left undone.
    """
    table = KINDS[kind].repos
    new_ids = {row.row["hub_id"]: repo_id for repo_id, row in by_id.items()}
    known = conn.execute(select(table.c.id, table.c.hub_id).where(table.c.hub_id.in_(new_ids))).all()
    pending = {old_id: (new_ids[hub_id], hub_id) for old_id, hub_id in known if old_id != new_ids[hub_id]}
    held = set(conn.execute(select(table.c.id).where(table.c.id.in_([new for new, _ in pending.values()])))
               .scalars())
    done = []

    def move(old_id: str, new_id: str) -> None:
        conn.execute(update(table).where(table.c.id == old_id).values(id=new_id))  # tags follow the row_key
        held.discard(old_id)
        held.add(new_id)

    while pending:
        moved = False
        for old_id in sorted(pending):  # sorted: renames are logged in the same order on every backend
            new_id, hub_id = pending[old_id]
            if new_id not in held:  # checked at each move: two rows may want one id
                del pending[old_id]
                move(old_id, new_id)
                done.append((_original_id(old_id), new_id, hub_id))
                moved = True
        if moved:
            continue
        cycle = next((old_id for old_id in sorted(pending) if _in_cycle(old_id, pending)), None)
        if cycle is None:  # what is left waits on rows that stay where they are
            break
        move(cycle, cycle + PARKED)
        pending[cycle + PARKED] = pending.pop(cycle)
    if done:
        conn.execute(insert(renames), [{"kind": kind, "hub_id": hub_id, "old_id": old_id, "new_id": new_id,
                                        "run_id": run_id, "renamed_at": now} for old_id, new_id, hub_id in done])
    for old_id, new_id, hub_id in done:
        log.add("rename", hub_id, new_id, fields=["id"], previous_id=old_id)
    return len(done)


def _in_cycle(start: str, pending: dict[str, tuple[str, str]]) -> bool:
    """Whether following new ids from ``start`` through rows that still must move leads back to it."""
    seen, current = set(), start
    while current in pending and current not in seen:
        seen.add(current)
        current = pending[current][0]
    return current == start
