"""The graph: the edges items state, kept in step with their rows, and the families and uses read from them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import event

import harvester.store.engine
import harvester.store.repos
import harvester.sync
from harvester import Catalog, RepoNotFound
from harvester.cli import main
from harvester.mapping import Link, item_links, map_item
from harvester.store.engine import alembic_config, create_catalog_engine, open_catalog
from harvester.store.repos import sweep_deleted, upsert_repos
from harvester.sync import sync
from helpers import config

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def model(repo_id: str, *tags: str, card: dict | None = None, hub_id: str | None = None, downloads: int = 0) -> dict:
    item = {"_id": hub_id or f"{abs(hash(repo_id)):024x}"[:24], "id": repo_id, "tags": list(tags),
            "downloads": downloads, "likes": 0}
    return item | ({"cardData": card} if card is not None else {})


def test_an_item_states_each_target_once_with_the_derivation_a_tag_gives():
    tags = ["transformers", "base_model:acme/base", "base_model:finetune:acme/base", "base_model:quantized:",
            "base_model:finetune", "dataset:acme/data", "arxiv:2310.16944", "doi:10.57967/hf/1", "license:mit"]
    card = {"base_model": ["acme/base", "other/parent", 7], "datasets": "acme/data"}
    assert item_links("models", model("a/m", *tags, card=card), tags) == [
        Link(2, "models", "acme/base"), Link(6, "datasets", "acme/data"), Link(7, "papers", "arxiv:2310.16944"),
        Link(7, "papers", "doi:10.57967/hf/1"), Link(1, "models", "other/parent")]
    space = {"id": "a/s", "models": ["acme/base", " "], "datasets": "acme/data"}
    assert item_links("spaces", space, ["arxiv:1706.03762", "dataset:ignored/for-spaces"]) == [
        Link(7, "papers", "arxiv:1706.03762"), Link(8, "models", "acme/base"), Link(8, "datasets", "acme/data")]
    assert item_links("models", model("a/m", card={"base_model": {"not": "a name"}}), []) == []


@pytest.fixture
def engine(db):
    engine = open_catalog(db.url)
    yield engine
    engine.dispose()


def write(engine, kind: str, *items: dict, now: datetime = NOW) -> None:
    with engine.begin() as conn:
        upsert_repos(conn, kind, [map_item(kind, item) for item in items], now=now)


def edges(db) -> set[tuple]:
    return set(db.rows("SELECT source_id, relation, detail, target_kind, target_id, target_repo_id FROM links"))


FAMILY = [
    model("a/base", hub_id="b" * 24, downloads=100),
    model("a/ft", "base_model:a/base", "base_model:finetune:a/base", "dataset:d/set", downloads=50),
    model("a/ft-gguf", "base_model:quantized:a/ft", downloads=40),
    model("a/merge", card={"base_model": ["a/ft", "a/ft-gguf", "gone/model"]}, downloads=30),
    model("a/lora", "base_model:adapter:a/base", "base_model:adapter:a/lora", downloads=20),  # names itself
    model("c/one", "base_model:finetune:c/two", "base_model:finetune:a/ft", downloads=2),
    model("c/two", "base_model:finetune:c/one", downloads=1),  # a cycle with c/one
]


def test_edges_are_written_with_their_rows_and_replaced_when_the_item_changes(db, engine):
    write(engine, "models", *FAMILY)
    assert ("a/ft", "base_model", "finetune", "models", "a/base", "a/base") in edges(db)
    assert ("a/merge", "base_model", None, "models", "gone/model", None) in edges(db)
    assert ("a/ft", "trained_on", None, "datasets", "d/set", None) in edges(db)
    assert len(edges(db)) == 11
    write(engine, "models", model("a/ft", "base_model:merge:c/two", card={"base_model": "c/two"}, downloads=50))
    assert {edge for edge in edges(db) if edge[0] == "a/ft"} == {
        ("a/ft", "base_model", "merge", "models", "c/two", "c/two")}
    write(engine, "datasets", {"_id": "d" * 24, "id": "d/set", "tags": []})
    write(engine, "models", FAMILY[1])  # back as it was: its dataset is in the catalog now
    assert ("a/ft", "trained_on", None, "datasets", "d/set", "d/set") in edges(db)


def test_a_deleted_repos_edges_are_gone_and_come_back_with_it(db, engine):
    write(engine, "models", *FAMILY)
    with engine.begin() as conn:  # a full walk that lists every model but a/ft-gguf sweeps it
        upsert_repos(conn, "models", [map_item("models", item) for item in FAMILY if item["id"] != "a/ft-gguf"],
                     now=NOW + timedelta(hours=1))
        assert sweep_deleted(conn, "models", since=NOW + timedelta(minutes=1), now=NOW + timedelta(hours=2)) == 1
    assert not {edge for edge in edges(db) if edge[0] == "a/ft-gguf"}
    assert ("a/merge", "base_model", None, "models", "a/ft-gguf", None) in edges(db), "a dangling target now"
    write(engine, "models", FAMILY[2], now=NOW + timedelta(hours=3))
    assert ("a/ft-gguf", "base_model", "quantized", "models", "a/ft", "a/ft") in edges(db)
    assert ("a/merge", "base_model", None, "models", "a/ft-gguf", "a/ft-gguf") in edges(db)


def test_a_renamed_target_keeps_the_edges_that_name_it_by_its_old_id(db, engine):
    write(engine, "models", *FAMILY)
    write(engine, "models", model("org/base-v1", hub_id="b" * 24, downloads=100))  # a/base, renamed
    assert ("a/ft", "base_model", "finetune", "models", "a/base", "org/base-v1") in edges(db)
    runner = CliRunner()
    out = runner.invoke(main, ["tree", "org/base-v1", "--db", db.url, "--json"])
    assert out.exit_code == 0, out.output
    children = {child["id"] for child in json.loads(out.output)["children"]}
    assert children == {"a/ft", "a/lora"}
    assert runner.invoke(main, ["tree", "a/base", "--db", db.url, "--json"]).output == out.output, \
        "the old id finds the repo too"
    assert db.rows("SELECT base_id, derivatives FROM base_model_counts WHERE base_id = 'org/base-v1'") == [
        ("org/base-v1", 2)]


def family_edges(node: dict, branch: str) -> set[tuple[str, str, str]]:
    return {(node["id"], child["id"], child["relation"]) for child in node[branch]} | {
        edge for child in node[branch] if not child.get("repeat") for edge in family_edges(child, branch)}


def test_tree_shows_every_edge_of_a_family_once_and_ends_on_cycles(db, engine):
    write(engine, "models", *FAMILY)
    out = CliRunner().invoke(main, ["tree", "a/base", "--db", db.url, "--json"])
    assert out.exit_code == 0, out.output
    tree = json.loads(out.output)
    assert family_edges(tree, "children") == {
        ("a/base", "a/ft", "finetune"), ("a/base", "a/lora", "adapter"), ("a/lora", "a/lora", "adapter"),
        ("a/ft", "a/ft-gguf", "quantized"), ("a/ft", "a/merge", "base_model"), ("a/ft-gguf", "a/merge", "base_model"),
        ("a/ft", "c/one", "finetune"), ("c/one", "c/two", "finetune"), ("c/two", "c/one", "finetune")}
    assert [child["id"] for child in tree["children"]] == ["a/ft", "a/lora"], "most downloaded first"
    shallow = json.loads(CliRunner().invoke(main, ["tree", "a/base", "--db", db.url, "--json", "--depth", "1"]).output)
    assert family_edges(shallow, "children") == {("a/base", "a/ft", "finetune"), ("a/base", "a/lora", "adapter")}
    cycle = json.loads(CliRunner().invoke(main, ["tree", "c/two", "--db", db.url, "--json"]).output)
    assert family_edges(cycle, "children") == {("c/two", "c/one", "finetune"), ("c/one", "c/two", "finetune")}


def test_tree_up_gives_the_ancestors_and_names_bases_not_in_the_catalog(db, engine):
    write(engine, "models", *FAMILY)
    out = CliRunner().invoke(main, ["tree", "a/merge", "--up", "--db", db.url, "--json"])
    assert out.exit_code == 0, out.output
    tree = json.loads(out.output)
    assert family_edges(tree, "parents") == {
        ("a/merge", "a/ft", "base_model"), ("a/merge", "a/ft-gguf", "base_model"),
        ("a/merge", "gone/model", "base_model"), ("a/ft-gguf", "a/ft", "quantized"), ("a/ft", "a/base", "finetune")}
    assert [parent.get("in_catalog", True) for parent in tree["parents"] if parent["id"] == "gone/model"] == [False]
    text = CliRunner().invoke(main, ["tree", "a/merge", "--up", "--db", db.url])
    assert "gone/model" in text.output and "not in the catalog" in text.output and "4 ancestors" in text.output


def test_uses_lists_what_points_at_a_dataset_a_model_or_a_paper(db, engine):
    write(engine, "models", *FAMILY, model("a/cites", "arxiv:1706.03762", downloads=5))
    write(engine, "spaces", {"_id": "s" * 24, "id": "s/demo", "tags": ["arxiv:1706.03762"], "likes": 3,
                             "models": ["a/ft", "a/base"], "datasets": ["d/set"]})
    runner = CliRunner()

    def used(*args: str) -> list[tuple]:
        out = runner.invoke(main, ["uses", *args, "--db", db.url, "--json"])
        assert out.exit_code == 0, out.output
        return [(use["kind"], use["id"], use["relation"]) for use in map(json.loads, out.output.splitlines())]

    assert used("d/set") == [("models", "a/ft", "trained_on"), ("spaces", "s/demo", "uses")]
    assert used("a/ft") == [("models", "a/ft-gguf", "quantized"), ("models", "a/merge", "base_model"),
                            ("models", "c/one", "finetune"), ("spaces", "s/demo", "uses")]
    assert used("a/ft", "--kind", "spaces") == [("spaces", "s/demo", "uses")]
    assert used("arxiv:1706.03762") == [("models", "a/cites", "cites"), ("spaces", "s/demo", "cites")]
    assert db.rows("SELECT model_id, spaces FROM model_space_counts ORDER BY model_id") == [
        ("a/base", 1), ("a/ft", 1)]
    assert db.rows("SELECT paper, models, datasets, spaces FROM paper_citations") == [("arxiv:1706.03762", 1, 0, 1)]


def test_a_repo_neither_in_the_catalog_nor_named_is_one_line_and_exit_1(db, engine):
    write(engine, "models", *FAMILY)
    for args in (["tree", "nobody/model"], ["uses", "nobody/model"], ["tree", "gone/model"]):
        out = CliRunner().invoke(main, [*args, "--db", db.url])
        assert out.exit_code == 1, out.output
        assert len(out.output.strip().splitlines()) == 1 and "in the catalog" in out.output
    assert CliRunner().invoke(main, ["uses", "gone/model", "--db", db.url]).exit_code == 0, "named, if not synced"


def test_ranked_counts_add_up_a_bases_derivatives_by_derivation(db, engine):
    write(engine, "models", *FAMILY)
    assert db.rows("SELECT base_id, in_catalog, derivatives, finetunes, quantizations, adapters, merges, unspecified "
                   "FROM base_model_counts ORDER BY derivatives DESC, base_id LIMIT 3") == [
        ("a/ft", 1, 3, 1, 1, 0, 0, 1), ("a/base", 1, 2, 1, 0, 1, 0, 0), ("a/ft-gguf", 1, 1, 0, 0, 0, 0, 1)]
    assert db.rows("SELECT dataset_id, in_catalog, models FROM dataset_model_counts") == [("d/set", 0, 1)]


def writing_as_of_0012(monkeypatch) -> None:
    """Make today's writer write a catalog of revision 0012: no edges (0013), and none of revision
    0016's field-group columns, facets or choice."""
    from harvester.hub.expand import Expand
    from harvester.kinds import KINDS as SPECS
    from harvester.store import schema

    monkeypatch.setattr(harvester.store.repos, "write_links", lambda *args, **kwargs: None)
    monkeypatch.setattr(harvester.store.repos, "write_facets", lambda *args, **kwargs: None)
    then = {"models": {"parameters", "safetensors", "config", "architecture", "model_type", "auto_model", "processor",
                       "gguf_architecture", "gguf_context_length", "gguf_parameters", "gguf_file_size", "inference",
                       "spaces_using", "used_storage"}, "datasets": {"used_storage"}, "spaces": {"used_storage"}}
    for kind, names in then.items():  # listing upserts leave these alone, as they did detail columns
        monkeypatch.setitem(schema.DETAIL_COLUMNS, kind, schema.DETAIL_COLUMNS[kind] | names)
    monkeypatch.setattr(harvester.sync, "walk_expand", lambda engine, config: Expand(SPECS[config.kind].core_fields))
    harvester.store.repos._repo_upsert.cache_clear()
    harvester.store.repos._compared_columns.cache_clear()


def test_the_revision_builds_the_edges_of_an_existing_catalog_from_its_rows(db, monkeypatch):
    engine = create_catalog_engine(db.url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0012")
    # A catalog written at revision 0012 holds the rows and tags (written as today), not the edges.
    writing_as_of_0012(monkeypatch)
    with engine.begin() as conn:
        upsert_repos(conn, "models", [map_item("models", item) for item in FAMILY], now=NOW)
    engine.dispose()
    monkeypatch.undo()
    harvester.store.repos._repo_upsert.cache_clear()
    harvester.store.repos._compared_columns.cache_clear()
    open_catalog(db.url).dispose()  # upgrades to head
    expected = {(item["id"], *link) for item in FAMILY
                for link in item_links("models", item, list(dict.fromkeys(item["tags"])))}
    stored = set(db.rows("SELECT s.id, l.relation, t.kind, t.name FROM model_links l "
                         "JOIN models s ON s.row_key = l.model_key JOIN link_targets t ON t.id = l.target_id"))
    assert stored == expected and len(expected) == 11


# -- against the emulator's graph, over real HTTP ------------------------------------------------

KINDS = ("models", "datasets", "spaces")


GRAPH_CORPUS = {"models": 1_200, "datasets": 150, "spaces": 120, "seed": 18}


@pytest.fixture(scope="module")
def graph_hub(make_module_hub):
    """The module's emulator of a graph, for the tests that only read it."""
    return make_module_hub(**GRAPH_CORPUS)


def sync_all(hub, db, **overrides) -> None:
    for kind in KINDS:
        sync(config(hub, db, kind=kind, page_size=200, **overrides))


def resolved(hub, kind: str, name: str) -> str | None:
    """The live repo of ``kind`` that ``name`` names now: the one holding it, else the one renamed from it."""
    corpus = hub.corpora.get(kind)
    if corpus is None:
        return None
    held = corpus.find(name)
    if held is not None:
        return corpus.ids[held]
    renamed = [(when, j) for j, former in corpus.former.items() for when, old in former if old == name]
    return corpus.ids[max(renamed)[1]] if renamed and corpus.listed(max(renamed)[1]) else None


def emulator_edges(hub) -> set[tuple]:
    """Every edge the emulator's live repos state, as the view ``links`` reads."""
    return {(kind, corpus.ids[j], relation, detail, target_kind, target, resolved(hub, target_kind, target))
            for kind, corpus in hub.corpora.items() for j in corpus.live()
            for relation, detail, target_kind, target in corpus.statement(j).edges()}


def catalog_edges(db) -> set[tuple]:
    return set(db.rows("SELECT source_kind, source_id, relation, detail, target_kind, target_id, target_repo_id "
                       "FROM links"))


def test_a_crawl_stores_exactly_the_emulators_graph_and_keeps_it_through_commits_renames_and_deletions(
        make_hub, db):
    graph_hub = make_hub(**GRAPH_CORPUS)  # its own: it renames and deletes
    models = graph_hub.corpora["models"]
    sync_all(graph_hub, db)
    expected = emulator_edges(graph_hub)
    assert catalog_edges(db) == expected
    details = {detail for _, _, relation, detail, *_ in expected if relation == "base_model"}
    assert details == {"finetune", "quantized", "adapter", "merge", None}
    assert any(edge[1] == edge[5] for edge in expected), "a model that names itself"
    assert any(edge[6] is None for edge in expected), "dangling targets"
    assert {edge[0] for edge in expected if edge[2] == "uses"} == {"spaces"}
    # Lineage rewritten by card commits, bases renamed (the children's cards keep the old names),
    # repos deleted: incremental runs, then a full walk that finds the deletions.
    derived = [models.ids[j] for j in models.live() if any(
        edge[0] == "base_model" for edge in models.statement(j).edges())]
    models.relineage(ids=derived[:40])
    bases = {models.find(edge[3]) for j in models.live() for edge in models.statement(j).edges()
             if edge[0] == "base_model"} - {None}
    renamed = models.rename(ids=[models.ids[j] for j in sorted(bases)[:25]])
    graph_hub.corpora["datasets"].rename(5)
    models.delete(ids=[models.ids[j] for j in sorted(bases)[25:40]])
    models.modify(30)
    sync_all(graph_hub, db)
    sync_all(graph_hub, db, full=True)
    expected = emulator_edges(graph_hub)
    assert catalog_edges(db) == expected
    olds = {old for old, _ in renamed}
    assert any(edge[5] in olds and edge[6] is not None for edge in expected), "old names resolve to renamed repos"


def descendants_in_emulator(hub, root: str, depth: int) -> set[tuple[str, str, str]]:
    """``(parent, child, derivation)`` for each edge of ``root``'s family to ``depth``, from the emulator."""
    models = hub.corpora["models"]
    children: dict[str, set[tuple[str, str]]] = {}
    for j in models.live():
        for relation, detail, _, target in models.statement(j).edges():
            parent = resolved(hub, "models", target) if relation == "base_model" else None
            if parent is not None:
                children.setdefault(parent, set()).add((models.ids[j], detail or "base_model"))
    edges, level = set(), {root}
    for _ in range(depth):
        following = set()
        for parent in level:
            for child, derivation in children.get(parent, ()):
                if (parent, child, derivation) not in edges:
                    edges.add((parent, child, derivation))
                    following.add(child)
        level = following
    return edges


def test_tree_and_uses_give_the_emulators_answer(graph_hub, db):
    sync_all(graph_hub, db)
    [(root, derivatives)] = db.rows("SELECT base_id, derivatives FROM base_model_counts WHERE in_catalog = 1 "
                                    "ORDER BY derivatives DESC, base_id LIMIT 1")
    runner = CliRunner()
    for depth in (1, 3, 10):
        out = runner.invoke(main, ["tree", root, "--db", db.url, "--json", "--depth", str(depth)])
        assert out.exit_code == 0, out.output
        assert family_edges(json.loads(out.output), "children") == descendants_in_emulator(graph_hub, root, depth)
    deep = max(db.rows("SELECT source_id FROM links WHERE relation = 'base_model' AND target_repo_id IS NOT NULL"),
               key=lambda row: len(json.dumps(json.loads(runner.invoke(
                   main, ["tree", row[0], "--up", "--db", db.url, "--json"]).output))))[0]
    up = json.loads(runner.invoke(main, ["tree", deep, "--up", "--db", db.url, "--json"]).output)
    assert _depth(up, "parents") >= 4, "the emulator's lineage goes deep"
    datasets = graph_hub.corpora["datasets"]
    dataset = max((datasets.ids[j] for j in datasets.live()),
                  key=lambda name: (sum(1 for edge in emulator_edges(graph_hub) if edge[6] == name), name))
    out = runner.invoke(main, ["uses", dataset, "--db", db.url, "--json"])
    assert out.exit_code == 0, out.output
    found = {(use["kind"], use["id"], use["relation"]) for use in map(json.loads, out.output.splitlines())}
    assert found == {(edge[0], edge[1], edge[2]) for edge in emulator_edges(graph_hub) if edge[6] == dataset}
    assert len(found) >= 2


def _depth(node: dict, branch: str) -> int:
    return 1 + max((_depth(child, branch) for child in node[branch]), default=-1)


def test_the_revision_builds_the_emulators_graph_for_a_catalog_synced_before_it(graph_hub, db):
    sync_all(graph_hub, db)
    engine = create_catalog_engine(db.url)
    config_ = alembic_config()
    with engine.begin() as conn:  # back to revision 0012, as a harvester of then left it: rows, tags, no links
        config_.attributes["connection"] = conn
        command.downgrade(config_, "0012")
    engine.dispose()
    assert db.rows("SELECT version_num FROM alembic_version") == [("0012",)]
    open_catalog(db.url).dispose()  # the upgrade: revision 0013 builds the links from the tags and cards
    assert catalog_edges(db) == emulator_edges(graph_hub)


def test_the_python_api_gives_the_families_and_uses_the_commands_print(db, engine):
    write(engine, "models", *FAMILY)
    runner = CliRunner()
    with Catalog(db.url) as catalog:
        assert catalog.family("a/base").as_json() == json.loads(
            runner.invoke(main, ["tree", "a/base", "--db", db.url, "--json"]).output)
        assert catalog.family("a/merge", up=True, depth=1).as_json("parents") == json.loads(
            runner.invoke(main, ["tree", "a/merge", "--up", "--depth", "1", "--db", db.url, "--json"]).output)
        assert [use.as_json() for use in catalog.uses("a/ft", kind="models")] == [
            json.loads(line) for line in runner.invoke(
                main, ["uses", "a/ft", "--kind", "models", "--db", db.url, "--json"]).output.splitlines()]
        with pytest.raises(RepoNotFound, match="nobody/model"):
            catalog.family("nobody/model")


def test_an_old_name_means_the_repo_of_its_latest_rename_in_every_view_and_command(db, engine):
    """A was renamed from o/X to o/Y, then B took o/X and was renamed to o/W: o/X is W's now, as
    the Hub's redirect goes; once B is gone, it is nobody's."""
    a, b = model("o/X", hub_id="a" * 24), model("o/X", hub_id="c" * 24)
    write(engine, "models", a, model("k/child", "base_model:finetune:o/X"))
    write(engine, "models", {**a, "id": "o/Y"}, now=NOW + timedelta(hours=1))
    write(engine, "models", b, now=NOW + timedelta(hours=2))
    write(engine, "models", {**b, "id": "o/W"}, now=NOW + timedelta(hours=3))
    runner = CliRunner()

    def children(repo: str) -> list[str]:
        out = runner.invoke(main, ["tree", repo, "--db", db.url, "--json"])
        assert out.exit_code == 0, out.output
        return [child["id"] for child in json.loads(out.output)["children"]]

    def users(repo: str) -> list[str]:
        out = runner.invoke(main, ["uses", repo, "--db", db.url, "--json"])
        return [json.loads(line)["id"] for line in out.output.splitlines()] if out.exit_code == 0 else []

    assert db.rows("SELECT target_repo_id FROM links WHERE source_id = 'k/child'") == [("o/W",)]
    assert children("o/W") == ["k/child"] and children("o/Y") == []
    assert users("o/W") == ["k/child"] and users("o/Y") == [] and users("o/X") == ["k/child"]
    assert db.rows("SELECT base_id, derivatives FROM base_model_counts") == [("o/W", 1)]
    with engine.begin() as conn:
        upsert_repos(conn, "models", [map_item("models", {**a, "id": "o/Y"}), map_item("models", FAMILY[0])],
                     now=NOW + timedelta(hours=4))
        sweep_deleted(conn, "models", since=NOW + timedelta(hours=3, minutes=30), now=NOW + timedelta(hours=5))
    assert db.rows("SELECT target_repo_id FROM links WHERE source_id = 'k/child'") in ([], [(None,)])
    assert children("o/Y") == [] and users("o/Y") == []
    assert db.rows("SELECT base_id, in_catalog FROM base_model_counts") in ([], [("o/X", 0)])


def test_a_tree_has_one_shape_on_every_backend(db, engine):
    """A merge of two parents at the same depth goes under the parent shown first (the most
    downloaded); a model the Hub gives no downloads for comes last."""
    write(engine, "models", model("p/base", downloads=9),
          model("p/one", "base_model:finetune:p/base", downloads=5),
          model("p/two", "base_model:finetune:p/base", downloads=7),
          {"_id": "d" * 24, "id": "p/none", "tags": ["base_model:adapter:p/base"], "likes": 0},
          model("p/merge", "base_model:merge:p/one", "base_model:merge:p/two", downloads=1),
          model("p/zero", "base_model:merge:p/one", downloads=0))
    out = CliRunner().invoke(main, ["tree", "p/base", "--db", db.url, "--json"])

    def shape(node: dict) -> list:
        return [node["id"], node.get("repeat", False), [shape(child) for child in node["children"]]]

    assert shape(json.loads(out.output)) == ["p/base", False, [
        ["p/two", False, [["p/merge", False, []]]],
        ["p/one", False, [["p/merge", True, []], ["p/zero", False, []]]],
        ["p/none", False, []]]]
    with Catalog(db.url) as catalog:
        assert catalog.family("p/base", depth=0).children == [], "depth 0: the model alone"


def test_the_ranked_counts_are_integers_in_json_on_every_backend(db, engine):
    write(engine, "models", *FAMILY, model("a/cites", "arxiv:1706.03762", downloads=5))
    for view in ("base_model_counts", "paper_citations"):
        out = CliRunner().invoke(main, ["query", f"SELECT * FROM {view}", "--db", db.url, "--format", "json"])
        assert out.exit_code == 0, out.output
        rows = json.loads(out.output)
        assert rows and all(isinstance(value, int) for row in rows for key, value in row.items()
                            if key not in ("base_id", "paper"))
    out = CliRunner().invoke(main, ["query", "SELECT sum(downloads) AS total FROM models", "--db", db.url,
                                    "--format", "json"])
    assert json.loads(out.output) == [{"total": sum(item["downloads"] for item in FAMILY) + 5}]


def test_edges_are_rewritten_only_for_rows_whose_tags_or_card_changed(db, engine):
    write(engine, "models", *FAMILY)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, sql, *args: statements.append(sql))
    write(engine, "models", *({**item, "downloads": item["downloads"] + 1} for item in FAMILY))
    assert not [sql for sql in statements if "model_links" in sql], "counters moved: the edges stay"
    write(engine, "models", {**FAMILY[3], "cardData": {"base_model": "a/base"}})
    assert [sql for sql in statements if sql.startswith("DELETE FROM model_links")]
    assert {edge for edge in edges(db) if edge[0] == "a/merge"} == {
        ("a/merge", "base_model", None, "models", "a/base", "a/base")}
