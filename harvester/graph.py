"""The graph's queries: a model's family (descendants or ancestors) and what points at a repo.

Both walk the edges with recursive CTEs that read the same on SQLite and PostgreSQL. A target is
written as the item wrote it, so it names a repo either by its id or by an id it had before a
rename (``renames``); a name that a live repo holds now is that repo's, whatever was renamed
from it. Cycles and self-references end at the depth bound: each edge between two members of a
family shows once, a member met again as a leaf marked ``repeat``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, Dialect, text

from .errors import RepoNotFound
from .kinds import KINDS
from .mapping import RELATIONS
from .store.dialect import join_targets_named

DEFAULT_DEPTH = 10
BASE_MODEL_CODES = "BETWEEN 1 AND 5"
TARGET_KINDS = ("models", "datasets", "papers")


@dataclass
class Node:
    """One member of a family: a model (``in_catalog``) or a base named but not in the catalog."""

    id: str
    relation: str | None  # how it derives from its parent in the tree (descendants) or its child (ancestors)
    downloads: int | None = None
    likes: int | None = None
    in_catalog: bool = True
    repeat: bool = False  # shown already elsewhere in the tree (a merge's other parent, a cycle)
    children: list[Node] = field(default_factory=list)

    def size(self) -> int:
        """Members below this node, repeats left out."""
        return sum(0 if child.repeat else 1 + child.size() for child in self.children)

    def as_json(self, branch: str = "children") -> dict[str, Any]:
        """``{"id", "relation", ..., branch: [...]}``, nested."""
        node: dict[str, Any] = {"id": self.id, "relation": self.relation, "downloads": self.downloads,
                                "likes": self.likes}
        if not self.in_catalog:
            node["in_catalog"] = False
        if self.repeat:
            node["repeat"] = True
        node[branch] = [child.as_json(branch) for child in self.children]
        return node


def relation_label(code: int | None) -> str | None:
    """A base model edge as people say it: its derivation, or ``base_model`` when unsaid."""
    if code is None:
        return None
    relation, detail = RELATIONS[code]
    return detail or relation


def _aliases(kind: str) -> str:
    """The CTE ``aliases(node, name)``: the ids live repos of ``kind`` had before a rename that no
    live repo holds now, each meaning the repo of its latest rename (as the Hub's redirect does),
    and nothing when that repo is gone. The view ``link_target_repos`` resolves names by the same rule."""
    return f"""aliases(node, name) AS (
  SELECT r.row_key, n.old_id FROM renames n JOIN {kind} r ON r.hub_id = n.hub_id AND r.deleted_at IS NULL
  WHERE n.kind = '{kind}' AND n.id = (SELECT max(n2.id) FROM renames n2 WHERE n2.kind = '{kind}'
                                      AND n2.old_id = n.old_id)
    AND NOT EXISTS (SELECT 1 FROM {kind} o WHERE o.id = n.old_id AND o.deleted_at IS NULL))"""


def descendants_sql(dialect: Dialect) -> str:
    """The family below ``:root`` (a row_key) to ``:depth`` generations: rows ``(node, parent,
    relation, depth, id, downloads, likes)``, each member's rows together, the most downloaded first."""
    names = "SELECT p.id AS name UNION ALL SELECT a.name FROM aliases a WHERE a.node = f.node"
    return f"""WITH RECURSIVE {_aliases("models")},
family(node, parent, relation, depth) AS (
  SELECT CAST(:root AS INTEGER), CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), 0
  UNION
  SELECT c.row_key, f.node, l.relation, f.depth + 1
  FROM family f
  JOIN models p ON p.row_key = f.node
  {join_targets_named(dialect, names)}
  JOIN model_links l ON l.target_id = t.id AND l.relation {BASE_MODEL_CODES}
  JOIN models c ON c.row_key = l.model_key AND c.deleted_at IS NULL
  WHERE f.depth < :depth)
SELECT f.node, f.parent, f.relation, f.depth, m.id, m.downloads, m.likes
FROM family f JOIN models m ON m.row_key = f.node
ORDER BY f.depth, COALESCE(m.downloads, -1) DESC, m.id"""


ANCESTORS = f"""WITH RECURSIVE family(node, name, parent, relation, depth) AS (
  SELECT CAST(:root AS INTEGER), CAST(NULL AS VARCHAR), CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), 0
  UNION
  SELECT p.row_key, t.name, f.node, l.relation, f.depth + 1
  FROM family f
  JOIN model_links l ON l.model_key = f.node AND l.relation {BASE_MODEL_CODES}
  JOIN link_target_repos t ON t.target_id = l.target_id
  LEFT JOIN models p ON p.id = t.repo_id
  WHERE f.depth < :depth AND f.node IS NOT NULL)
SELECT f.node, f.parent, f.relation, f.depth, COALESCE(m.id, f.name), m.downloads, m.likes
FROM family f LEFT JOIN models m ON m.row_key = f.node
ORDER BY f.depth, COALESCE(m.downloads, -1) DESC, 5"""


def find_model(conn: Connection, model_id: str) -> int:
    """The ``row_key`` of the live model ``model_id`` names (directly, or through a rename).

    Raises:
        RepoNotFound: no live model goes by that id now or went by it before a rename.
    """
    key = conn.execute(text(f"WITH {_aliases('models')} SELECT m.row_key FROM models m WHERE m.id = :id "
                            "AND m.deleted_at IS NULL UNION ALL SELECT node FROM aliases WHERE name = :id"),
                       {"id": model_id}).scalar()
    if key is None:
        raise RepoNotFound(f"model {model_id!r} is not in the catalog (run `harvester sync`, or check the id)")
    return key


def family(conn: Connection, model_id: str, *, up: bool = False, depth: int = DEFAULT_DEPTH) -> Node:
    """``model_id``'s descendants (what was fine-tuned, quantized, adapted or merged from it, and
    so on down), or with ``up`` its ancestors, to ``depth`` generations (0: the model alone).

    Raises:
        RepoNotFound: the model is not in the catalog.
    """
    sql = ANCESTORS if up else descendants_sql(conn.dialect)
    return _tree(conn.execute(text(sql), {"root": find_model(conn, model_id), "depth": depth}).all())


def _tree(rows: list[Any]) -> Node:
    """The tree of a family's rows ``(node, parent, relation, depth, id, downloads, likes)``, in
    depth order and each member's rows together: each member under the parent placed first of
    those that reach it at its shallowest depth, every other edge between members as a ``repeat``
    leaf; ``node`` None for a base not in the catalog. The same rows give the same tree on any backend."""
    placed: dict[Any, tuple[Node, int, int]] = {}  # member -> its node, depth and place in the walk
    root: Node | None = None
    for (depth, member), group in groupby(rows, key=lambda row: (row[3], _member(row))):
        reached = sorted((row for row in group if depth == 0 or _reaches(placed, row)),
                         key=lambda row: placed[row[1]][2] if depth else 0)
        for n, (key, parent, code, _, repo_id, downloads, likes) in enumerate(reached):
            node = Node(repo_id, relation_label(code), downloads, likes, in_catalog=key is not None)
            if depth == 0:
                root = node
            else:
                placed[parent][0].children.append(node)
            if n or member in placed:
                node.repeat = True
            else:
                placed[member] = (node, depth, len(placed))
    assert root is not None, "the family's first row is its root"
    return root


def _member(row: Any) -> Any:
    return row[0] if row[0] is not None else ("named", row[4])


def _reaches(placed: dict[Any, tuple[Node, int, int]], row: Any) -> bool:
    """Whether a row's parent was placed one generation up: other rows are longer ways round."""
    return placed[row[1]][1] == row[3] - 1


@dataclass(frozen=True)
class Use:
    """A repo that points at another: its kind and id, how, and its counters."""

    kind: str
    id: str
    relation: str
    target_kind: str
    downloads: int | None
    likes: int | None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "relation": self.relation, "target_kind": self.target_kind,
                "downloads": self.downloads, "likes": self.likes}


def _target_names(conn: Connection, repo: str) -> list[tuple[str, list[str]]]:
    """(target kind, the names it goes by) of each kind that ``repo`` is in the catalog, or named as
    a target, under: a paper is ``arxiv:<id>`` or ``doi:<id>``."""
    if repo.startswith(("arxiv:", "doi:")):
        return [("papers", [repo])]
    found = []
    for kind in ("models", "datasets"):
        current = conn.execute(text(
            f"WITH {_aliases(kind)} SELECT r.row_key, r.id FROM {kind} r WHERE r.id = :id AND r.deleted_at IS NULL "
            f"UNION ALL SELECT r.row_key, r.id FROM aliases a JOIN {kind} r ON r.row_key = a.node "
            f"WHERE a.name = :id"), {"id": repo}).first()
        if current is not None:
            old = conn.execute(text(f"WITH {_aliases(kind)} SELECT name FROM aliases WHERE node = :key ORDER BY name"),
                               {"key": current.row_key}).scalars().all()
            found.append((kind, [current.id, *old]))
        elif conn.execute(text("SELECT 1 FROM link_targets WHERE kind = :kind AND name = :id"),
                          {"kind": kind, "id": repo}).first():
            found.append((kind, [repo]))
    return found


def uses(conn: Connection, repo: str, *, kind: str | None = None) -> Iterator[Use]:
    """The live repos (of ``kind``: models, datasets or spaces) that point at ``repo``: models
    derived from it or trained on it, spaces that use it, repos citing a paper (``arxiv:<id>``),
    the most downloaded (then liked) first.

    Raises:
        RepoNotFound: ``repo`` is neither in the catalog nor named by any edge.
    """
    targets = _target_names(conn, repo)
    if not targets:
        raise RepoNotFound(f"{repo!r} is neither in the catalog nor named by any repo in it "
                           "(a paper is written arxiv:<id> or doi:<id>)")
    sources = [kind] if kind else list(KINDS)
    selects, params = [], {}
    for n, (target_kind, names) in enumerate(targets):
        params |= {f"k{n}": target_kind, **{f"n{n}_{i}": name for i, name in enumerate(names)}}
        placeholders = ", ".join(f":n{n}_{i}" for i in range(len(names)))
        for source in sources:
            spec = KINDS[source]
            downloads = "s.downloads" if source != "spaces" else "CAST(NULL AS BIGINT)"
            selects.append(
                f"SELECT '{source}' AS kind, s.id AS id, l.relation AS relation, t.kind AS target_kind, "
                f"{downloads} AS downloads, s.likes AS likes FROM link_targets t "
                f"JOIN {spec.links.name} l ON l.target_id = t.id JOIN {source} s ON s.row_key = l.{spec.key} "
                f"AND s.deleted_at IS NULL WHERE t.kind = :k{n} AND t.name IN ({placeholders})")
    sql = (f"SELECT kind, id, min(relation), target_kind, downloads, likes FROM ({' UNION ALL '.join(selects)}) u "
           "GROUP BY kind, id, target_kind, downloads, likes "
           "ORDER BY COALESCE(downloads, -1) DESC, COALESCE(likes, -1) DESC, kind, id")
    for source, repo_id, code, target_kind, downloads, likes in conn.execute(text(sql), params):
        relation, detail = RELATIONS[code]
        yield Use(source, repo_id, detail or relation, target_kind, downloads, likes)


# The families and training sets people rank by, as `harvester serve` shows them (a canned query
# and a dashboard chart each): the views of revision 0013, largest first.
LARGEST_FAMILIES = """SELECT base_id, derivatives, finetunes, quantizations, adapters, merges, unspecified
FROM base_model_counts ORDER BY derivatives DESC, base_id LIMIT {limit}"""
MOST_TRAINED_ON = """SELECT dataset_id, models, in_catalog FROM dataset_model_counts
ORDER BY models DESC, dataset_id LIMIT {limit}"""
