"""The rows an item gives through its field groups (`mapping.fields.Facets`), written in the page's
transaction with the rows that give them: parameters per dtype, inference providers and
evaluation results under the model's ``row_key``, file names in ``<kind>_files``."""

from __future__ import annotations

from sqlalchemy import Connection, and_, bindparam, delete, select

from ..kinds import KINDS
from ..mapping import MappedRow
from .dialect import insert_many
from .schema import model_dtypes, model_evaluations, model_providers

_MODEL_FACETS = ((model_dtypes, ("dtype", "parameters"), lambda facets: facets.dtypes),
                 (model_providers, ("provider", "provider_id", "task", "status"), lambda facets: facets.providers),
                 (model_evaluations, ("position", "source", "task", "dataset", "metric", "value"),
                  lambda facets: [(position, *row) for position, row in enumerate(facets.evaluations)]))


def write_facets(conn: Connection, kind: str, rows: list[MappedRow], keys: dict[str, int], *,
                 replacing: list[int]) -> None:
    """Store the facets of ``rows`` under their ``row_key``s (``keys``), in place of those stored
    under the ``replacing`` keys; and the file names of the rows whose item lists them."""
    if kind == "models":
        for table, columns, values in _MODEL_FACETS:
            if replacing:
                conn.execute(delete(table).where(table.c.model_key.in_(sorted(replacing))))
            found = sorted((keys[row.id], *value) for row in rows for value in values(row.facets))
            if found:  # in primary key order
                insert_many(conn, table, ("model_key", *columns), found)
    listing = {row.id: row.facets.files for row in rows if row.facets.files is not None}
    if listing:
        write_file_names(conn, kind, listing)


def write_file_names(conn: Connection, kind: str, listing: dict[str, list[str]]) -> None:
    """Make each repo's files those named in ``listing`` (repo id -> names): a file no longer named
    goes, a new one comes with its size NULL, and one still named keeps the size `--details` read."""
    files, key = KINDS[kind].files, KINDS[kind].id_column
    stored: dict[str, set[str]] = {repo_id: set() for repo_id in listing}
    for repo_id, path in conn.execute(select(files.c[key], files.c.path).where(files.c[key].in_(sorted(listing)))):
        stored[repo_id].add(path)
    gone = sorted((repo_id, path) for repo_id, paths in stored.items() for path in paths - set(listing[repo_id]))
    new = sorted((repo_id, path, None, None) for repo_id, names in listing.items()
                 for path in names if path not in stored[repo_id])
    if gone:
        conn.execute(delete(files).where(and_(files.c[key] == bindparam("repo"), files.c.path == bindparam("gone"))),
                     [{"repo": repo_id, "gone": path} for repo_id, path in gone])
    if new:
        insert_many(conn, files, (key, "path", "size", "lfs_sha256"), new)
