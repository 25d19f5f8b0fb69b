"""Hostile listing items: each is stored faithfully or rejected with a reason; pages survive them."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from harvester import jsontext
from harvester.mapping import RejectedItem, map_model, map_page
from harvester.store.engine import open_catalog
from harvester.store.repos import upsert_repos
from harvester.store.schema import model_tags, models, models_raw

NOW = datetime(2026, 11, 25, tzinfo=UTC)

# Any Unicode, unpaired surrogates and control characters (NUL included) too.
wild_text = st.text(alphabet=st.characters(codec=None, categories=None), max_size=40)
hostile_text = st.one_of(
    wild_text,
    st.sampled_from(["emoji-🤗/模型", "עברית/‮evil", "a\x00b", "x" * 100_000, "", " ", "../../etc/passwd"]),
)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                        st.floats(allow_nan=True, allow_infinity=True), hostile_text)
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)), max_leaves=30)



def mostly(strategy):
    """Usually well typed, so that most examples get as far as the database."""
    return st.integers(0, 4).flatmap(lambda roll: json_value if roll == 0 else strategy)


timestamp = mostly(st.datetimes(timezones=st.just(UTC)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"))


hostile_item = st.fixed_dictionaries(
    {"id": mostly(hostile_text), "_id": mostly(hostile_text)},
    optional={
        "author": mostly(hostile_text), "sha": mostly(hostile_text), "lastModified": timestamp,
        "createdAt": timestamp, "private": mostly(st.booleans()), "gated": mostly(st.sampled_from([False, "auto"])),
        "disabled": mostly(st.booleans()), "downloads": mostly(st.integers(min_value=-(2**70), max_value=2**70)),
        "downloadsAllTime": mostly(st.integers(min_value=0, max_value=2**70)), "likes": mostly(st.integers()),
        "trendingScore": mostly(st.floats()), "tags": mostly(st.lists(hostile_text, max_size=6)),
        "pipeline_tag": mostly(hostile_text), "library_name": mostly(hostile_text), "cardData": json_value,
        "unexpected": json_value,
    },
)


@pytest.fixture
def engine(db):
    engine = open_catalog(db.url)
    yield engine
    engine.dispose()


def same_json(a, b) -> bool:
    """JSON equality: NaN equals NaN, and a float equals the int of the same value."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if {type(a), type(b)} == {int, float}:  # jsonb keeps numbers, not their type: 1e16 comes back as an int
        return float(a) == float(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b)


FUZZ = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.large_base_example]


@settings(max_examples=300, deadline=None, suppress_health_check=FUZZ)
@given(item=hostile_item)
def test_an_item_is_stored_faithfully_or_rejected_with_a_reason(engine, item):
    try:
        mapped = map_model(item)
    except RejectedItem as reason:
        assert str(reason)
        return
    with engine.connect() as conn, conn.begin() as transaction:
        assert upsert_repos(conn, "models", [mapped], now=NOW) == (1, 0, 0, 0, 0)
        row = conn.execute(select(models).where(models.c.id == item["id"])).mappings().one()
        raw = conn.execute(select(models_raw.c.raw).where(models_raw.c.id == item["id"])).scalar_one()
        tags = set(conn.execute(select(model_tags.c.tag).where(model_tags.c.model_id == item["id"])).scalars())
        transaction.rollback()
    assert row["id"] == item["id"] and row["hub_id"] == item["_id"]
    assert same_json(raw, item), "the view gives back the item exactly"
    assert tags == set(item.get("tags") or [])
    for column, key in [("downloads", "downloads"), ("likes", "likes"), ("sha", "sha")]:
        assert row[column] == item.get(key)


@settings(max_examples=500, deadline=None)
@given(value=json_value)
def test_the_fast_json_text_means_what_the_standard_librarys_means(value):
    """The engines' JSON serializer takes orjson's text only where it cannot differ in meaning:
    NaN, infinity, unpaired surrogates and huge integers come out as ``json.dumps`` has them."""
    text = jsontext.dumps(value)
    assert same_json(json.loads(text), json.loads(json.dumps(value)))
    fast = jsontext.fast_dumps(value)
    if fast is not None:
        assert same_json(json.loads(fast), value) and fast.encode("utf-8")


@settings(max_examples=500, deadline=None)
@given(value=json_value)
def test_a_page_decodes_as_the_standard_library_reads_it(value):
    """Pages are decoded by orjson where it accepts them, else by the standard library: NaN,
    infinity, huge integers and unpaired surrogates come out exactly as before."""
    import httpx2

    from harvester.hub.pages import _decoded

    body = json.dumps([value]).encode("utf-8", "surrogatepass")
    response = httpx2.Response(200, content=body, headers={"Content-Type": "application/json"})
    assert same_json(_decoded(response), json.loads(body.decode("utf-8", "surrogatepass")))


@settings(max_examples=60, deadline=None, suppress_health_check=FUZZ)
@given(bad=st.lists(hostile_item, max_size=8))
def test_bad_items_never_lose_their_page(engine, bad):
    good = [{"_id": f"{i:024x}", "id": f"good/model-{i}", "downloads": i, "tags": ["ok"]} for i in range(20)]
    assume(not {b.get("id") for b in bad if isinstance(b.get("id"), str)} & {g["id"] for g in good})
    page = good[:10] + bad + good[10:]
    rows, rejected = map_page("models", page)
    with engine.connect() as conn, conn.begin() as transaction:
        upsert_repos(conn, "models", rows, now=NOW)
        stored = set(conn.execute(select(models.c.id)).scalars())
        transaction.rollback()
    assert {item["id"] for item in good} <= stored
    assert len(rows) + len(rejected) == len(page)


def test_duplicate_ids_in_one_page_keep_the_later_and_are_counted():
    rows, rejected = map_page("models", [{"_id": "a", "id": "x/y", "likes": 1}, {"_id": "a", "id": "x/y", "likes": 9}])
    assert len(rejected) == 1 and [row.row["likes"] for row in rows] == [9]


@pytest.mark.parametrize(("item", "reason"), [
    ({"_id": "a", "id": "x/y", "downloads": 2**63}, "out of the 64-bit range"),
    ({"_id": "a", "id": "x/y", "downloads": "12"}, "not an integer"),
    ({"_id": "a", "id": "x/y", "likes": True}, "not an integer"),
    ({"_id": "a", "id": "x/\ud800"}, "unpaired surrogate"),
    ({"_id": "a", "id": "x/y", "tags": ["ok", "\udfff"]}, "unpaired surrogate"),
    ({"_id": "a", "id": "x/y", "private": "yes"}, "not a boolean"),
    ({"_id": 5, "id": "x/y"}, "not a string"),
])
def test_rejections_name_the_field_and_the_problem(item, reason):
    with pytest.raises(RejectedItem, match=reason):
        map_model(item)


def test_emoji_and_right_to_left_ids_are_stored_as_they_are_and_nul_is_refused(engine):
    ids = ["🤗/模型-ü", "עברית/‮gnp.exe", "a\x00b/c", "nul/in-card"]
    items = [{"_id": str(i), "id": repo_id} for i, repo_id in enumerate(ids)]
    items[3]["cardData"] = {"x": "\x00"}  # PostgreSQL cannot store NUL in text or jsonb: no backend does
    rows, rejected = map_page("models", items)
    with engine.begin() as conn:
        upsert_repos(conn, "models", rows, now=NOW)
    with engine.connect() as conn:
        assert set(conn.execute(select(models.c.id)).scalars()) == set(ids[:2]) and len(rejected) == 2


def test_deeply_nested_card_data_is_stored_whole(engine):
    deep: dict = {"leaf": "🤗"}
    for level in range(400):
        deep = {f"level{level}": deep}
    rows, rejected = map_page("models", [{"_id": "a", "id": "deep/model", "cardData": deep}])
    with engine.begin() as conn:
        upsert_repos(conn, "models", rows, now=NOW)
    with engine.connect() as conn:
        assert conn.execute(select(models.c.card_data)).scalar_one() == deep and rejected == []

