"""Which field groups each kind's listing walks ask for, and which `expand` values the Hub refused.

The choice is the catalog's, per kind (``field_groups``), so that every run asks for the same
fields whoever starts it; `sync --fields` changes it. A kind with no choice yet takes the
defaults (`kinds.KindSpec.default_groups`), recorded by its first sync. A refused value is left
out of the walks and asked again `RETRY_REFUSED` after it was last refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select

from ..kinds import CORE, KINDS
from .clock import utc
from .schema import field_groups, refused_fields

RETRY_REFUSED = timedelta(days=1)


def choose_groups(engine: Engine, kind: str, chosen: Iterable[str] | None, *, now: datetime) -> dict[str, datetime]:
    """The groups the walks of ``kind`` ask for from now on (group -> when it was added): ``chosen``
    (core always) when given, else what the catalog holds, else the defaults. Groups dropped are
    forgotten; groups added are recorded as of ``now``."""
    with engine.begin() as conn:
        stored = {name: utc(added) for name, added in conn.execute(
            select(field_groups.c.group_name, field_groups.c.added_at).where(field_groups.c.kind == kind))}
        wanted = {CORE, *(chosen if chosen is not None else stored or KINDS[kind].default_groups)}
        wanted &= set(KINDS[kind].field_groups)
        if gone := set(stored) - wanted:
            conn.execute(delete(field_groups).where(field_groups.c.kind == kind,
                                                    field_groups.c.group_name.in_(sorted(gone))))
        if new := sorted(wanted - set(stored)):
            conn.execute(insert(field_groups), [{"kind": kind, "group_name": name, "added_at": now} for name in new])
    return {name: stored.get(name, now) for name in KINDS[kind].field_groups if name in wanted}


def stored_groups(engine: Engine, kind: str) -> dict[str, datetime]:
    """The groups the catalog holds for ``kind`` (empty before its first sync)."""
    with engine.connect() as conn:
        return {name: utc(added) for name, added in conn.execute(
            select(field_groups.c.group_name, field_groups.c.added_at).where(field_groups.c.kind == kind))}


def refused(engine: Engine, kind: str) -> dict[str, datetime]:
    """The `expand` values of ``kind`` the Hub refused, and when each was last refused."""
    with engine.connect() as conn:
        return {field: utc(at) for field, at in conn.execute(
            select(refused_fields.c.field, refused_fields.c.refused_at).where(refused_fields.c.kind == kind)
            .order_by(refused_fields.c.field))}


def left_out(engine: Engine, kind: str, *, now: datetime) -> set[str]:
    """The refused values a walk leaves out now: those refused less than `RETRY_REFUSED` ago."""
    return {field for field, at in refused(engine, kind).items() if now - at < RETRY_REFUSED}


def record_refused(engine: Engine, kind: str, fields: Iterable[str], *, now: datetime) -> None:
    """Record that the Hub refused ``fields`` of ``kind`` just now (in a transaction of its own)."""
    fields = sorted(set(fields))
    with engine.begin() as conn:
        conn.execute(delete(refused_fields).where(refused_fields.c.kind == kind, refused_fields.c.field.in_(fields)))
        conn.execute(insert(refused_fields), [{"kind": kind, "field": field, "refused_at": now} for field in fields])


def accepted(engine: Engine, kind: str, fields: Iterable[str]) -> None:
    """Forget the refusals of ``fields``: a walk asked for them and the Hub answered."""
    with engine.begin() as conn:
        conn.execute(delete(refused_fields).where(refused_fields.c.kind == kind,
                                                  refused_fields.c.field.in_(sorted(set(fields)))))


class GroupProgress(NamedTuple):
    """One chosen group of a kind: when it was added, and how many live rows a listing has read
    whole since (so that they hold it) of how many."""

    group: str
    added_at: datetime
    read: int
    live: int


def group_progress(engine: Engine, kind: str) -> list[GroupProgress]:
    """How far each chosen group of ``kind`` is filled in, in the kind's order of groups."""
    with engine.connect() as conn:
        return fields_status(conn, kind)["groups"]


def fields_status(conn: Connection, kind: str) -> dict[str, Any]:
    """For `harvester status`: the chosen groups of ``kind`` with how far each is filled in
    (``groups``), and the refused `expand` values with when each was refused (``refused``)."""
    table = KINDS[kind].repos
    live = table.c.deleted_at.is_(None)
    stored = conn.execute(select(field_groups.c.group_name, field_groups.c.added_at)
                          .where(field_groups.c.kind == kind)).all()
    groups = []
    total = conn.execute(select(func.count()).select_from(table).where(live)).scalar() or 0 if stored else 0
    order = list(KINDS[kind].field_groups)
    for name, added in sorted(stored, key=lambda row: order.index(row[0]) if row[0] in order else len(order)):
        read = conn.execute(select(func.count()).select_from(table).where(
            and_(live, table.c.verified_at >= added))).scalar() or 0
        groups.append(GroupProgress(name, utc(added), read, total))
    refusals = conn.execute(select(refused_fields.c.field, refused_fields.c.refused_at)
                            .where(refused_fields.c.kind == kind).order_by(refused_fields.c.field)).all()
    return {"groups": groups, "refused": [(field, utc(at)) for field, at in refusals]}
