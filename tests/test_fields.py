"""Field groups: what the listing walks ask for (`sync --fields`, kept in the catalog), the typed
columns and tables they fill, equal to what the emulator serves on every backend, and a sync
that survives the Hub refusing an `expand` value."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from harvester.config import SyncConfig
from harvester.emulator import files as emulated_files
from harvester.emulator import hubinfo, items
from harvester.errors import ConfigError
from harvester.kinds import KINDS, parse_groups
from harvester.mapping.fields import evaluations, providers
from harvester.store import fields as field_store
from harvester.store.engine import open_catalog
from harvester.sync import sync, sync_kind
from helpers import PAGE, assert_raw_agrees_with_columns, config

MODELS = 300


@pytest.fixture
def hub(make_hub):
    return make_hub(models=MODELS, datasets=60, spaces=80, seed=27)


def _expand(request) -> set[str]:
    return {value for key, value in request.params if key == "expand"}


def listing_requests(hub, kind="models"):
    return [r for r in hub.requests if r.path == f"/api/{kind}"]


def served(hub, kind, groups) -> dict[str, dict]:
    corpus = hub.corpora[kind]
    fields = items.field_set(kind, expand=KINDS[kind].fields_of(groups), full=False, card_data=False)
    return {corpus.ids[j]: items.render(corpus, j, fields) for j in corpus.live()}


def test_every_group_fills_its_columns_and_tables_as_the_emulator_serves_them(hub, db):
    sync(config(hub, db, fields="all"))
    corpus = hub.corpora["models"]
    expected = served(hub, "models", tuple(KINDS["models"].field_groups))
    rebuilt = {repo_id: json.loads(raw) for repo_id, raw in db.rows("SELECT id, CAST(raw AS TEXT) FROM models_raw")}
    assert rebuilt == expected, "models_raw rebuilds every item with every group's fields, as served"
    assert_raw_agrees_with_columns(db)
    rows = {r["id"]: r for r in db.records("SELECT * FROM models WHERE deleted_at IS NULL")}
    seen = {"gguf": 0, "providers": 0, "evaluations": 0, "config": 0}
    for j in corpus.live():
        row, item = rows[corpus.ids[j]], expected[corpus.ids[j]]
        safetensors, gguf = emulated_files.safetensors(corpus, j), emulated_files.gguf(corpus, j) or {}
        conf, info = hubinfo.config(corpus, j), hubinfo.transformers_info(corpus, j) or {}
        assert row["parameters"] == (safetensors["total"] if safetensors else None)
        assert (row["gguf_architecture"], row["gguf_context_length"], row["gguf_parameters"],
                row["gguf_file_size"]) == (gguf.get("architecture"), gguf.get("context_length"), gguf.get("total"),
                                           gguf.get("totalFileSize"))
        assert (row["architecture"], row["model_type"]) == ((conf["architectures"][0], conf["model_type"]) if conf
                                                            else (None, None))
        assert (row["auto_model"], row["processor"]) == (info.get("auto_model"), info.get("processor"))
        assert row["inference"] == hubinfo.inference(corpus, j)
        assert row["spaces_using"] == len(item.get("spaces", []))
        seen["gguf"] += bool(gguf)
        seen["config"] += bool(conf)
        seen["providers"] += bool(item.get("inferenceProviderMapping"))
        seen["evaluations"] += bool(item.get("evalResults"))
    assert all(seen.values()), f"the corpus exercises every group: {seen}"
    by_key = dict(db.rows("SELECT row_key, id FROM models"))

    def table(sql):
        found: dict[str, list] = {}
        for key, *values in db.rows(sql):
            found.setdefault(by_key[key], []).append(tuple(values))
        return found

    dtypes = table("SELECT model_key, dtype, parameters FROM model_dtypes ORDER BY model_key, dtype")
    assert dtypes == {repo_id: sorted(item["safetensors"]["parameters"].items())
                      for repo_id, item in expected.items() if item.get("safetensors")}
    served_providers = table("SELECT model_key, provider, provider_id, task, status FROM model_providers "
                             "ORDER BY model_key, provider")
    mapping = {repo_id: item["inferenceProviderMapping"] for repo_id, item in expected.items()
               if item.get("inferenceProviderMapping")}
    assert {type(value) for value in mapping.values()} == {dict, list}, "both of the Hub's shapes are served"
    assert served_providers == {repo_id: sorted(
        (p["provider"] if isinstance(mapping[repo_id], list) else name, p["providerId"], p["task"], p["status"])
        for name, p in (enumerate(value) if isinstance(value, list) else value.items()))
        for repo_id, value in mapping.items()}
    results = table("SELECT model_key, source, task, dataset, metric, value FROM model_evaluations "
                    "ORDER BY model_key, position")
    assert results == {repo_id: found for repo_id, item in expected.items()
                       if (found := evaluations(item.get("cardData"), item.get("evalResults")))}
    assert any(source == "model-index" and metric for rows_ in results.values() for source, _, _, metric, _ in rows_)
    names = table("SELECT (SELECT row_key FROM models m WHERE m.id = f.model_id), path, size FROM model_files f "
                  "ORDER BY model_id, path")
    assert names == {repo_id: sorted((s["rfilename"], None) for s in item["siblings"])
                     for repo_id, item in expected.items() if item.get("siblings")}, "names only, sizes NULL"


def test_the_default_groups_are_asked_and_the_choice_is_kept_per_kind(hub, db):
    sync(config(hub, db, verify_pages=0))
    assert _expand(listing_requests(hub)[-1]) == set(KINDS["models"].listing_fields)
    assert "gguf" not in KINDS["models"].listing_fields and "siblings" not in KINDS["models"].listing_fields
    assert sorted(db.rows("SELECT group_name FROM field_groups WHERE kind = 'models'")) == sorted(
        (name,) for name in KINDS["models"].default_groups)
    sync(config(hub, db, fields="+gguf,-usage", verify_pages=0))
    sync(config(hub, db, verify_pages=0))  # no --fields: the catalog's choice
    asked = _expand(listing_requests(hub)[-1])
    assert "gguf" in asked and "spaces" not in asked
    sync(config(hub, db, fields="core", verify_pages=0))
    assert _expand(listing_requests(hub)[-1]) == set(KINDS["models"].core_fields)


def test_a_group_added_is_filled_by_the_lap_and_status_shows_how_far(hub, db):
    for _ in sync_kind(config(hub, db, fields="core")):
        pass
    assert db.rows("SELECT count(*) FROM models WHERE gguf_architecture IS NOT NULL") == [(0,)]
    requests = len(hub.requests)
    for run in sync_kind(config(hub, db, fields="+gguf", verify_pages=2)):
        assert run["mode"] in ("incremental", "verify")
    assert len(hub.requests) - requests <= 3, "no extra walk: the incremental run and two pages of the lap"
    engine = open_catalog(db.url)
    [core, gguf] = field_store.group_progress(engine, "models")
    assert (core.group, gguf.group) == ("core", "gguf") and 0 < gguf.read < gguf.live == MODELS
    for _ in range(MODELS // PAGE + 1):
        for _ in sync_kind(config(hub, db, verify_pages=2)):
            pass
    [_, gguf] = field_store.group_progress(engine, "models")
    engine.dispose()
    assert gguf.read == gguf.live
    corpus = hub.corpora["models"]
    assert sorted(db.rows("SELECT id, gguf_architecture FROM models WHERE gguf_architecture IS NOT NULL")) == sorted(
        (corpus.ids[j], (emulated_files.gguf(corpus, j) or {}).get("architecture")) for j in corpus.live()
        if (emulated_files.gguf(corpus, j) or {}).get("architecture"))


def test_a_refused_field_is_found_dropped_recorded_and_asked_again_a_day_later(hub, db, monkeypatch):
    hub.faults.refuse_expand("inferenceProviderMapping")
    run = sync(config(hub, db))
    assert run["status"] == "ok" and run["complete"]
    assert [field for field, _ in db.rows("SELECT field, refused_at FROM refused_fields")] == [
        "inferenceProviderMapping"]
    assert db.rows("SELECT count(*) FROM models WHERE inference IS NOT NULL")[0][0] > 0, "the rest of the group"
    pages = [r for r in listing_requests(hub) if dict(r.params).get("limit") != "1"]
    assert "inferenceProviderMapping" not in _expand(pages[-1])
    hub.faults.allow_expand("inferenceProviderMapping")
    hub.faults.refuse_expand("spaces", "gguf")  # the refused set changes during a run; gguf is not asked
    hub.corpora["models"].modify(3)
    assert sync(config(hub, db))["status"] == "ok"
    assert "inferenceProviderMapping" not in _expand(listing_requests(hub)[-1]), "not asked again within a day"
    assert sorted(f for (f,) in db.rows("SELECT field FROM refused_fields")) == ["inferenceProviderMapping", "spaces"]
    hub.faults.allow_expand("spaces", "gguf")
    monkeypatch.setattr(field_store, "RETRY_REFUSED", timedelta(0))
    assert sync(config(hub, db))["status"] == "ok"
    assert {"inferenceProviderMapping", "spaces"} <= _expand(listing_requests(hub)[-1])
    assert db.rows("SELECT count(*) FROM refused_fields") == [(0,)], "answered again: forgotten"


def test_a_400_that_no_expand_value_explains_still_fails(hub, db):
    from harvester.errors import HubError

    state_url = f"{hub.url}/api/models?sort=lastModified&cursor=not-a-cursor"
    sync(config(hub, db, verify_pages=0))
    db.execute("UPDATE sync_state SET cursor = :url, walk_mode = 'full' WHERE scope = 'models'", url=state_url)
    with pytest.raises(HubError):
        sync(config(hub, db, verify_pages=0))


def test_providers_that_move_without_a_commit_are_caught_by_the_lap_and_named(hub, db):
    sync(config(hub, db, verify_pages=0))
    corpus = hub.corpora["models"]
    moved = corpus.reprovide(ids=[corpus.ids[j] for j in corpus.live()
                                  if hubinfo.provider_mapping(corpus, j)][:3])
    seq = db.rows("SELECT coalesce(max(seq), 0) FROM changes")[0][0]
    for _ in range(MODELS // PAGE + 1):
        sync(config(hub, db, lane="verify", max_pages=PAGE))
    logged = {repo_id: json.loads(fields) for repo_id, fields in db.rows(
        "SELECT repo_id, CAST(fields AS TEXT) FROM changes WHERE seq > :seq AND change = 'update'", seq=seq)}
    assert set(moved) <= set(logged)
    assert all("inferenceProviderMapping" in logged[repo_id] for repo_id in moved)
    by_key = dict(db.rows("SELECT id, row_key FROM models"))
    for repo_id in moved:
        j = corpus.position(repo_id)
        assert sorted(db.rows("SELECT provider, status FROM model_providers WHERE model_key = :key",
                              key=by_key[repo_id])) == sorted(
            (name, status) for name, _, _, status in providers(hubinfo.provider_mapping(corpus, j)))


def test_datasets_and_spaces_keep_their_storage_and_file_names(hub, db):
    for kind in ("datasets", "spaces"):
        sync(config(hub, db, kind=kind, fields="+files", verify_pages=0))
        expected = served(hub, kind, ("core", "storage", "files"))
        rows = dict(db.rows(f"SELECT id, used_storage FROM {kind} WHERE deleted_at IS NULL"))
        assert rows == {repo_id: item.get("usedStorage") for repo_id, item in expected.items()}
        one = KINDS[kind].singular
        count = db.rows(f"SELECT count(*) FROM {one}_files")[0][0]
        assert count == sum(len(item.get("siblings", [])) for item in expected.values()) > 0


def test_field_choices_are_parsed_and_checked():
    assert parse_groups("models", "core,gguf", ()) == ("core", "gguf")
    assert parse_groups("models", "+files,-usage", ("core", "usage", "parameters")) == ("core", "parameters", "files")
    assert parse_groups("datasets", "gguf,files", ()) == ("core", "files"), "another kind's group is left out"
    assert parse_groups("models", "-core", ("core",)) == ("core",)
    assert set(parse_groups("spaces", "all", ())) == set(KINDS["spaces"].field_groups)
    for bad in ("nonsense", "gguf,+files", ""):
        with pytest.raises(ValueError):
            parse_groups("models", bad, ())
    with pytest.raises(ConfigError, match="--fields"):
        SyncConfig(db_url="sqlite://", endpoint="http://x", fields="+gguf", lane="stats")
    with pytest.raises(ConfigError, match="no field group"):
        SyncConfig(db_url="sqlite://", endpoint="http://x", fields="parameter")


@pytest.mark.parametrize("value, expected", [
    ({"fal-ai": {"status": "live", "providerId": "fal-ai/x", "task": "text-to-image"}},
     [("fal-ai", "fal-ai/x", "text-to-image", "live")]),
    ([{"provider": "together", "providerId": "a/b", "task": "conversational", "status": "staging"},
      {"provider": "together", "status": "live"}, {"no": "provider"}, "junk"],
     [("together", "a/b", "conversational", "staging")]),
    ("warm", []), (None, []), ({"x": "not an object"}, []),
])
def test_both_shapes_of_the_provider_mapping_are_read_and_junk_is_not(value, expected):
    assert providers(value) == expected


def test_status_shows_the_groups_filling_in_and_the_refused_fields(hub, db):
    from click.testing import CliRunner

    from harvester.cli import main

    sync(config(hub, db, verify_pages=0))
    hub.faults.refuse_expand("spaces")
    sync(config(hub, db, fields="+gguf", verify_pages=0))
    text = CliRunner().invoke(main, ["status", "--db", str(db)]).output
    assert "fields: core, parameters, gguf, providers" in text and "filling in: gguf 0% (added" in text
    assert "refused by the Hub, asked again a day later: spaces (" in text
    report = json.loads(CliRunner().invoke(main, ["status", "--db", str(db), "--json"]).output)
    [models] = [scope for scope in report if scope["scope"] == "models"]
    assert [r["field"] for r in models["refused_fields"]] == ["spaces"]
    read = {g["group"]: g["rows_read"] for g in models["field_groups"]}
    assert read["gguf"] < read["parameters"] == models["live_rows"], "only the rows read since it was added hold it"


def test_a_walk_with_every_group_goes_on_through_504s_at_its_heaviest_pages(make_hub, db):
    hub = make_hub(models=MODELS, seed=27, max_page_size=40)  # a page over 40 rows times out, as heavy ones do
    run = sync(config(hub, db, fields="all", page_size=1000, verify_pages=0))
    assert run["status"] == "ok" and run["complete"] and run["retries"] >= 1
    assert db.rows("SELECT count(*) FROM models WHERE deleted_at IS NULL") == [(MODELS,)]
    limits = {dict(r.params)["limit"] for r in listing_requests(hub)}
    assert {"1000", "500", "250", "125", "62", "31"} <= limits, "each 504 halved the page"
