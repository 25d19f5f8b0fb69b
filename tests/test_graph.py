"""The graph's edges, as items state them and as the catalog keeps them in step with the rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from harvester.emulator import items
from harvester.links import Link, item_links
from harvester.mapping import EXPAND, map_model
from harvester.store.engine import open_catalog
from harvester.store.schema import links, models
from harvester.store.upsert import upsert_repos
from harvester.sync import sync
from helpers import config

NOW = datetime(2026, 11, 29, tzinfo=UTC)


@pytest.fixture
def engine(db):
    engine = open_catalog(db.url)
    yield engine
    engine.dispose()


def model(repo_id: str, tags: list[str], card: dict | None = None) -> dict:
    item = {"_id": f"hub-{repo_id}", "id": repo_id, "sha": "a" * 40, "lastModified": "2024-05-13T17:47:06.000Z",
            "tags": tags}
    return item | ({"cardData": card} if card is not None else {})


def test_an_item_states_its_bases_datasets_and_papers_once_each():
    tags = ["transformers", "base_model:acme/base", "base_model:finetune:acme/base", "base_model:quantized:",
            "dataset:acme/data", "arxiv:2310.16944", "doi:10.57967/hf/1", "license:mit"]
    card = {"base_model": ["acme/base", "other/merge-parent"], "datasets": "acme/data"}
    assert item_links("models", model("a/m", tags, card), tags) == [
        Link("base_model", "finetune", "models", "acme/base"),
        Link("trained_on", None, "datasets", "acme/data"),
        Link("cites", None, "papers", "arxiv:2310.16944"),
        Link("cites", None, "papers", "doi:10.57967/hf/1"),
        Link("base_model", None, "models", "other/merge-parent"),
    ]
    space = {"id": "a/s", "models": ["acme/base"], "datasets": "acme/data"}
    assert item_links("spaces", space, []) == [Link("uses", None, "models", "acme/base"),
                                              Link("uses", None, "datasets", "acme/data")]


def stored_links(engine) -> set[tuple]:
    with engine.connect() as conn:
        return set(conn.execute(select(models.c.id, links.c.relation, links.c.detail, links.c.target_id)
                                .join(models, models.c.row_key == links.c.source_key)
                                .where(links.c.source_kind == "models")).all())


def test_edges_are_written_with_their_row_and_replaced_when_the_item_changes(engine):
    first = model("a/ft", ["base_model:finetune:acme/base", "dataset:acme/data"])
    other = model("a/q", ["base_model:quantized:a/ft"])
    with engine.begin() as conn:
        upsert_repos(conn, "models", [map_model(first), map_model(other)], now=NOW)
    assert stored_links(engine) == {("a/ft", "base_model", "finetune", "acme/base"),
                                    ("a/ft", "trained_on", None, "acme/data"),
                                    ("a/q", "base_model", "quantized", "a/ft")}
    changed = model("a/ft", ["base_model:adapter:acme/other"], card={"base_model": "acme/other"})
    with engine.begin() as conn:
        upsert_repos(conn, "models", [map_model(changed), map_model(other)], now=NOW)
    assert stored_links(engine) == {("a/ft", "base_model", "adapter", "acme/other"),
                                    ("a/q", "base_model", "quantized", "a/ft")}


def test_after_a_sync_the_edges_are_those_the_hubs_items_state(hub, db, engine):
    sync(config(hub, db, verify_pages=0))
    corpus = hub.corpora["models"]
    fields = items.field_set("models", expand=EXPAND["models"], full=False, card_data=False)
    served = [items.render(corpus, j, fields) for j in corpus.live()]
    expected = {(item["id"], link.relation, link.detail, link.target_id)
                for item in served for link in item_links("models", item, list(dict.fromkeys(item["tags"])))}
    assert expected, "the emulator's cards name base models and datasets"
    assert stored_links(engine) == expected
