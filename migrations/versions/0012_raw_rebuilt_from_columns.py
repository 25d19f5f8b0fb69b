"""Smaller rows: the item a listing served is rebuilt from the columns instead of being stored
twice, tags are stored by integer id, and an index nothing used is gone.

``raw`` held every item whole, a third of the catalog, though the columns and tags already say
nearly all of it. Now:

- ``raw_extra`` (models, datasets, spaces) holds only what they cannot say: SQL NULL for the
  usual item; else a JSON object of the item's fields the row does not reproduce (whole values)
  and, as null, the rebuilt fields the item lacks; or, for an item with a field sent as null,
  the whole item in a one-element array (`harvester.mapping.item_patch`).
- ``item_hash``: a 64-bit digest of the item's JSON text, by which a listing tells a changed item.
- ``tag_names`` (``id``, ``tag``): every distinct tag once. The tag tables store ``tag_id`` in
  place of the text, and the ``position`` of the tag among its item's tags, so the item's tags
  come back in the Hub's order; the views ``<kind>_tags`` read the same as before.
- ``ix_changes_hub_id`` is dropped: feeds read the change log by ``seq``.
- The views ``models_raw``, ``datasets_raw`` and ``spaces_raw`` (``id``, ``raw``) rebuild each
  item exactly as the Hub sent it, for every row, deleted ones included.

Existing rows are converted from their ``raw``, with no Hub request: tag positions from its tag
order, then ``raw_extra`` against what the new views rebuild from the row, so that each view
gives back exactly the ``raw`` it replaces. SQLite keeps the freed pages in the file until
``VACUUM``. ``<kind>_current`` is recreated without ``raw``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}
BATCH = 2_000


def _columns(kind: str, sqlite: bool) -> list[tuple[str, str]]:
    """(item field, SQL value) of the fields a row rebuilds, as `harvester.mapping.REBUILT_FIELDS`."""
    def time(column: str) -> str:
        if sqlite:
            return f"strftime('%Y-%m-%dT%H:%M:%fZ', r.{column})"
        return f"to_char(r.{column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

    def flag(column: str) -> str:
        return f"json(CASE r.{column} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END)" if sqlite else f"r.{column}"

    integral = "abs(r.trending_score) < 9007199254740992 AND r.trending_score = "
    trending = (f"CASE WHEN {integral}CAST(r.trending_score AS INTEGER) THEN CAST(r.trending_score AS INTEGER) "
                "ELSE r.trending_score END" if sqlite else
                f"CASE WHEN {integral}trunc(r.trending_score) THEN to_jsonb(CAST(r.trending_score AS bigint)) "
                "ELSE to_jsonb(r.trending_score) END")
    fields = [("_id", "r.hub_id"), ("id", "r.id"), ("author", "r.author"), ("sha", "r.sha"),
              ("lastModified", time("last_modified")), ("createdAt", time("created_at")),
              ("private", flag("private")), ("disabled", flag("disabled")), ("likes", "r.likes"),
              ("trendingScore", trending)]
    if kind in ("models", "datasets"):
        gated = ("json(CASE WHEN r.gated IS NULL THEN 'false' ELSE json_quote(r.gated) END)" if sqlite
                 else "COALESCE(to_jsonb(r.gated), 'false'::jsonb)")
        fields += [("gated", gated), ("downloads", "r.downloads"), ("downloadsAllTime", "r.downloads_all_time")]
    if kind == "models":
        fields += [("pipeline_tag", "r.pipeline_tag"), ("library_name", "r.library_name")]
    elif kind == "datasets":
        fields += [("description", "r.description"), ("paperswithcode_id", "r.paperswithcode_id")]
    else:
        hardware = ("json_object('current', r.hardware)" if sqlite else "jsonb_build_object('current', r.hardware)")
        runtime = (f"json_patch('{{}}', json_object('stage', r.runtime_stage, 'hardware', "
                   f"CASE WHEN r.hardware IS NOT NULL THEN {hardware} END))" if sqlite else
                   f"jsonb_strip_nulls(jsonb_build_object('stage', r.runtime_stage, 'hardware', "
                   f"CASE WHEN r.hardware IS NOT NULL THEN {hardware} END))")
        wrap = "json" if sqlite else ""
        fields += [("sdk", "r.sdk"),
                   ("runtime", f"{wrap}(CASE WHEN r.runtime_stage IS NULL AND r.hardware IS NULL THEN NULL "
                               f"ELSE {runtime} END)")]
    return fields


def rebuilt_sql(kind: str, dialect: str) -> str:
    """The SQL of a row ``r``'s item as its columns and tags say it (`harvester.mapping.rebuilt_item`)."""
    one, sqlite = KINDS[kind], dialect == "sqlite"
    pairs = ", ".join(f"'{field}', {value}" for field, value in _columns(kind, sqlite))
    if sqlite:
        tags = (f"json((SELECT json_group_array(tag) FROM (SELECT n.tag FROM {one}_tag_keys t "
                f"JOIN tag_names n ON n.id = t.tag_id WHERE t.{one}_key = r.row_key ORDER BY t.position)))")
        base = f"json_patch('{{}}', json_object({pairs}, 'tags', {tags}))"
        return f"CASE WHEN r.card_data IS NULL THEN {base} ELSE json_set({base}, '$.cardData', json(r.card_data)) END"
    tags = (f"COALESCE((SELECT jsonb_agg(n.tag ORDER BY t.position) FROM {one}_tag_keys t "
            f"JOIN tag_names n ON n.id = t.tag_id WHERE t.{one}_key = r.row_key), '[]'::jsonb)")
    return (f"jsonb_strip_nulls(jsonb_build_object({pairs})) || jsonb_build_object('tags', {tags}) || "
            f"CASE WHEN r.card_data IS NULL THEN '{{}}'::jsonb ELSE jsonb_build_object('cardData', r.card_data) END")


def raw_view_sql(kind: str, dialect: str) -> str:
    """``<kind>_raw``: each row's rebuilt item with its ``raw_extra`` applied (`harvester.mapping.item_patch`)."""
    if dialect == "sqlite":
        return (f"CREATE VIEW {kind}_raw AS SELECT id, CASE WHEN raw_extra IS NULL THEN rebuilt "
                f"WHEN json_type(raw_extra) = 'array' THEN json_extract(raw_extra, '$[0]') "
                f"ELSE json_patch(rebuilt, raw_extra) END AS raw "
                f"FROM (SELECT r.id AS id, r.raw_extra AS raw_extra, {rebuilt_sql(kind, dialect)} AS rebuilt "
                f"FROM {kind} r)")
    return (f"CREATE VIEW {kind}_raw AS SELECT r.id AS id, CASE WHEN r.raw_extra IS NULL THEN b.rebuilt "
            f"WHEN jsonb_typeof(r.raw_extra) = 'array' THEN r.raw_extra -> 0 "
            f"ELSE (b.rebuilt - ARRAY(SELECT key FROM jsonb_each(r.raw_extra) WHERE jsonb_typeof(value) = 'null')) "
            f"|| COALESCE((SELECT jsonb_object_agg(key, value) FROM jsonb_each(r.raw_extra) "
            f"WHERE jsonb_typeof(value) <> 'null'), '{{}}'::jsonb) END AS raw "
            f"FROM {kind} r CROSS JOIN LATERAL (SELECT {rebuilt_sql(kind, dialect)} AS rebuilt) b")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for kind, one in KINDS.items():
        op.add_column(kind, sa.Column("raw_extra", _json(dialect), nullable=True))
        op.add_column(kind, sa.Column("item_hash", sa.BigInteger(), nullable=True))
        op.add_column(f"{one}_tag_keys", sa.Column("position", sa.Integer(), nullable=False,
                                                   server_default="0"))
        _set_tag_positions(kind)
    op.create_table(
        "tag_names",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO tag_names (tag) SELECT tag FROM ("
               + " UNION ".join(f"SELECT tag FROM {one}_tag_keys" for one in KINDS.values()) + ") t ORDER BY tag")
    op.create_index("ix_tag_names_tag", "tag_names", ["tag"], unique=True)
    for kind in KINDS:
        _tags_by_id(kind, dialect)
        _set_raw_extra(kind, dialect)
        op.execute(f"DROP VIEW {kind}_current")
        op.execute(f"ALTER TABLE {kind} DROP COLUMN raw")
        op.execute(f"CREATE VIEW {kind}_current AS SELECT * FROM {kind} WHERE deleted_at IS NULL")
        op.execute(raw_view_sql(kind, dialect))
    op.drop_index("ix_changes_hub_id", table_name="changes")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_index("ix_changes_hub_id", "changes", ["hub_id"])
    for kind, one in KINDS.items():
        op.add_column(kind, sa.Column("raw", _json(dialect), nullable=True))
        op.execute(f"UPDATE {kind} SET raw = (SELECT v.raw FROM {kind}_raw v WHERE v.id = {kind}.id)")
        op.execute(f"DROP VIEW {kind}_raw")
        op.execute(f"DROP VIEW {kind}_current")
        op.execute(f"ALTER TABLE {kind} DROP COLUMN raw_extra")
        op.execute(f"ALTER TABLE {kind} DROP COLUMN item_hash")
        op.execute(f"CREATE VIEW {kind}_current AS SELECT * FROM {kind} WHERE deleted_at IS NULL")
        op.execute(f"DROP VIEW {one}_tags")
        _replace_tag_table(kind, dialect, [sa.Column("tag", sa.String(), nullable=False)],
                           f"SELECT t.{one}_key, n.tag FROM {{old}} t JOIN tag_names n ON n.id = t.tag_id",
                           index="tag")
        op.execute(f"CREATE VIEW {one}_tags AS SELECT r.id AS {one}_id, t.tag AS tag "
                   f"FROM {one}_tag_keys t JOIN {kind} r ON r.row_key = t.{one}_key")
    op.drop_index("ix_tag_names_tag", table_name="tag_names")
    op.drop_table("tag_names")


def _tags_by_id(kind: str, dialect: str) -> None:
    """The kind's tag table again, with each tag's id in ``tag_names`` in place of its text."""
    one = KINDS[kind]
    op.execute(f"DROP VIEW {one}_tags")
    _replace_tag_table(kind, dialect, [
        sa.Column("tag_id", sa.Integer(), sa.ForeignKey("tag_names.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    ], f"SELECT t.{one}_key, n.id, t.position FROM {{old}} t JOIN tag_names n ON n.tag = t.tag", index="tag_id")
    op.execute(f"CREATE VIEW {one}_tags AS SELECT r.id AS {one}_id, n.tag AS tag FROM {one}_tag_keys t "
               f"JOIN {kind} r ON r.row_key = t.{one}_key JOIN tag_names n ON n.id = t.tag_id")


def _replace_tag_table(kind: str, dialect: str, columns: list[sa.Column], rows: str, *, index: str) -> None:
    """``<one>_tag_keys`` made again with the key and ``columns``, filled by ``rows`` (a SELECT
    from ``{old}``, the table it replaces) and indexed by ``index``."""
    one = KINDS[kind]
    name, old = f"{one}_tag_keys", f"{one}_tag_keys_old"
    op.rename_table(name, old)
    if dialect == "postgresql":  # index names are the schema's: the old key's would clash with the new one's
        op.execute(f"ALTER INDEX {name}_pkey RENAME TO {old}_pkey")
    op.create_table(
        name,
        sa.Column(f"{one}_key", sa.Integer(), sa.ForeignKey(f"{kind}.row_key", ondelete="CASCADE"), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint(f"{one}_key", columns[0].name),
        sqlite_with_rowid=False,
    )
    names = ", ".join([f"{one}_key", *(column.name for column in columns)])
    op.execute(f"INSERT INTO {name} ({names}) {rows.format(old=old)} ORDER BY 1, 2")
    op.drop_table(old)
    op.create_index(f"ix_{name}_{index}", name, [index])


def _json(dialect: str) -> sa.types.TypeEngine:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return JSONB()
    return sa.JSON()


def _batches(statement: str, condition: str = "TRUE") -> Iterator[list[Any]]:
    """The rows of ``statement`` of the rows ``r`` that meet ``condition``, in id order (its first
    column), a batch at a time."""
    conn, last = op.get_bind(), None
    while True:
        where = f" WHERE {condition}" + ("" if last is None else " AND r.id > :last")
        rows = conn.execute(sa.text(f"{statement}{where} ORDER BY r.id LIMIT {BATCH}"), {"last": last}).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _item(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _set_tag_positions(kind: str) -> None:
    """Each tag's place among its item's tags (the first of repeated ones)."""
    one = KINDS[kind]
    update = sa.text(f"UPDATE {one}_tag_keys SET position = :position WHERE {one}_key = :key AND tag = :tag")
    for rows in _batches(f"SELECT r.id, r.row_key, r.raw FROM {kind} r", "r.row_key IS NOT NULL"):
        positions = []
        for _, key, raw in rows:
            tags = (_item(raw) or {}).get("tags")
            if isinstance(tags, list):
                unique = dict.fromkeys(tag for tag in tags if isinstance(tag, str))
                positions += [{"key": key, "tag": tag, "position": n} for n, tag in enumerate(unique)]
        if positions:
            op.get_bind().execute(update, positions)


def _set_raw_extra(kind: str, dialect: str) -> None:
    """``raw_extra`` against what the view will rebuild from the row, and ``item_hash``."""
    from harvester.jsontext import dumps
    from harvester.mapping import RejectedItem, item_patch, map_item

    sqlite = dialect == "sqlite"
    extra = ":extra" if sqlite else "CAST(:extra AS jsonb)"
    update = sa.text(f"UPDATE {kind} SET raw_extra = {extra}, item_hash = :hash WHERE id = :id")
    for rows in _batches(f"SELECT r.id, r.raw, ({rebuilt_sql(kind, dialect)}){'' if sqlite else '::text'} "
                         f"FROM {kind} r"):
        values = []
        for repo_id, raw, rebuilt in rows:
            item = _item(raw)
            patch = item_patch(item, json.loads(rebuilt)) if isinstance(item, dict) else [item]
            try:
                digest = map_item(kind, item).row["item_hash"]
            except RejectedItem:  # stored by an older, laxer harvester: the next listing rewrites it
                digest = None
            values.append({"id": repo_id, "extra": None if patch is None else dumps(patch), "hash": digest})
        op.get_bind().execute(update, values)
