"""The graph: the edges items state, kept in step with their rows, and the families and uses read from them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from click.testing import CliRunner

import harvester.store.upsert
from harvester.cli import main
from harvester.mapping import Link, item_links, map_item
from harvester.store.engine import alembic_config, create_catalog_engine, open_catalog
from harvester.store.upsert import sweep_deleted, upsert_repos

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


def test_the_revision_builds_the_edges_of_an_existing_catalog_from_its_rows(db, monkeypatch):
    engine = create_catalog_engine(db.url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0012")
    # A catalog written at revision 0012 holds the rows and tags (written as today), not the edges.
    monkeypatch.setattr(harvester.store.upsert, "write_links", lambda *args, **kwargs: None)
    with engine.begin() as conn:
        upsert_repos(conn, "models", [map_item("models", item) for item in FAMILY], now=NOW)
    engine.dispose()
    monkeypatch.undo()
    open_catalog(db.url).dispose()  # upgrades to head
    expected = {(item["id"], *link) for item in FAMILY
                for link in item_links("models", item, list(dict.fromkeys(item["tags"])))}
    stored = set(db.rows("SELECT s.id, l.relation, t.kind, t.name FROM model_links l "
                         "JOIN models s ON s.row_key = l.model_key JOIN link_targets t ON t.id = l.target_id"))
    assert stored == expected and len(expected) == 11
