"""The emulator answers the real huggingface_hub client the way the Hub does."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
from huggingface_hub import HfApi
from huggingface_hub.utils import get_session, parse_ratelimit_headers

from harvester.emulator import Corpus, FaultPlan, HubEmulator, parse_fault, parse_quota
from harvester.emulator.corpus import PLACEHOLDER_MS, SORT_COLUMNS
from harvester.emulator.items import PROPERTIES
from harvester.emulator.vocab import LFS_SUFFIXES

SORTS = ["lastModified", "createdAt", "downloads", "likes", "trendingScore"]
CLIENT_SORTS = {"lastModified": "last_modified", "createdAt": "created_at", "downloads": "downloads",
                "likes": "likes", "trendingScore": "trending_score"}


def get(hub: HubEmulator, path: str, params: list[tuple[str, str]] | dict | None = None) -> httpx2.Response:
    return get_session().get(f"{hub.url}{path}", params=params, timeout=10)


def walk(hub: HubEmulator, kind: str = "models", params: list[tuple[str, str]] | None = None,
         between_pages=None) -> list[dict]:
    """Follow Link headers by hand, calling ``between_pages(n)`` after each page."""
    response = get(hub, f"/api/{kind}", params or [])
    rows, pages = [], 0
    while True:
        assert response.status_code == 200, response.text
        rows.extend(response.json())
        pages += 1
        if between_pages:
            between_pages(pages)
        next_url = response.links.get("next", {}).get("url")
        if next_url is None:
            return rows
        response = get_session().get(next_url, timeout=10)


# -- the corpus ---------------------------------------------------------------------------------


def test_same_seed_same_hub_other_seed_other_hub():
    a, b, c = (Corpus.generate("models", 500, seed) for seed in (3, 3, 4))
    assert a.ids == b.ids and list(a.modified) == list(b.modified) and a.sha(42) == b.sha(42)
    assert a.ids != c.ids


def test_corpus_looks_like_the_hub():
    corpus = Corpus.generate("models", 20_000, seed=1)
    downloads = sorted(corpus.downloads, reverse=True)
    assert sum(downloads[:200]) > 0.5 * sum(downloads), "downloads should be heavy-tailed"
    assert downloads[len(downloads) // 2] < 100 < downloads[0]
    authors = Counter(corpus.author(j) for j in range(len(corpus.ids)))
    assert len(authors) > 1_000 and authors.most_common(1)[0][1] > 50
    assert len({x.lower() for x in corpus.ids}) == len(corpus.ids), "ids are unique, ignoring case"
    assert any(not x.isascii() for x in corpus.ids)
    assert any("." in x.split("/")[-1] for x in corpus.ids) and any("_" in x for x in corpus.ids)
    assert max(len(corpus.author(j) or "") for j in range(len(corpus.ids))) >= 40
    years = {time.gmtime(ms / 1000).tm_year for ms in corpus.created}
    assert years >= {2022, 2023, 2025, 2026} and min(corpus.created) == PLACEHOLDER_MS
    # a repo older than the Hub's creation times may have been modified before its placeholder createdAt
    assert all(c <= m or c == PLACEHOLDER_MS for c, m in zip(corpus.created, corpus.modified, strict=True))
    assert len({corpus.library_value(j) for j in range(2000)}) > 8
    assert len({corpus.category_value(j) for j in range(2000)}) > 10


# -- listings through the real client -----------------------------------------------------------


@pytest.mark.parametrize("sort", SORTS)
def test_every_model_comes_back_exactly_once_for_each_sort(hub, sort):
    api = HfApi(endpoint=hub.url)
    models = list(api.list_models(sort=CLIENT_SORTS[sort], expand=["lastModified", "downloads", "likes",
                                                                    "trendingScore", "createdAt"]))
    ids = [m.id for m in models]
    corpus = hub.corpora["models"]
    assert len(ids) == len(set(ids)) == len(corpus)
    assert set(ids) == {corpus.ids[j] for j in corpus.live()}
    column = getattr(corpus, SORT_COLUMNS[sort])
    values = [column[corpus.position(i)] for i in ids]
    assert values == sorted(values, reverse=True), "listings come biggest/newest first"


@pytest.mark.parametrize("sort", SORTS)
def test_ties_are_broken_by_id_ascending_under_a_descending_sort_as_on_the_hub(hub, sort):
    rows = walk(hub, params=[("sort", sort), ("expand", "createdAt"), ("limit", "37")])
    corpus = hub.corpora["models"]
    column = getattr(corpus, SORT_COLUMNS[sort])
    order = [(-column[corpus.position(row["id"])], row["_id"]) for row in rows]
    assert order == sorted(order) and len(order) == len(corpus)


def test_repos_older_than_the_hubs_creation_times_share_its_placeholder_created_at(hub):
    created = Counter(row["createdAt"] for row in walk(hub, params=[("sort", "createdAt"), ("expand", "createdAt")]))
    [(placeholder, count)] = created.most_common(1)
    assert placeholder == "2022-03-02T23:29:04.000Z" and count > 37, "a tie longer than the pages of the test above"
    assert min(created) == placeholder, "none older"


def test_datasets_and_spaces_have_their_own_corpora(hub):
    api = HfApi(endpoint=hub.url)
    datasets = [d.id for d in api.list_datasets()]
    spaces = list(api.list_spaces(expand=["sdk", "runtime", "author", "lastModified"]))
    assert len(datasets) == len(set(datasets)) == 600
    assert len({s.id for s in spaces}) == 400
    assert {s.sdk for s in spaces} <= {"gradio", "streamlit", "docker", "static"}
    assert all(s.runtime is not None for s in spaces)


def test_ascending_direction_reverses_the_order(hub):
    rows = walk(hub, params=[("sort", "likes"), ("direction", "1"), ("expand", "likes")])
    likes = [r["likes"] for r in rows]
    assert len(rows) == len(hub.corpora["models"]) and likes == sorted(likes)


def test_filters_match_a_brute_force_scan(hub):
    corpus = hub.corpora["models"]
    author = Counter(corpus.author(j) for j in corpus.live()).most_common(1)[0][0]
    api = HfApi(endpoint=hub.url)
    live = list(corpus.live())
    cases = [
        (api.list_models(author=author), {corpus.ids[j] for j in live if corpus.author(j) == author}),
        (api.list_models(search="LLAMA"), {corpus.ids[j] for j in live if "llama" in corpus.ids[j].lower()}),
        (api.list_models(pipeline_tag="text-generation"),
         {corpus.ids[j] for j in live if corpus.category_value(j) == "text-generation"}),
        (api.list_models(filter=["transformers", "safetensors"]),
         {corpus.ids[j] for j in live if {"transformers", "safetensors"} <= set(corpus.tags(j))}),
    ]
    for listing, expected in cases:
        got = [m.id for m in listing]
        assert len(got) == len(set(got)) and set(got) == expected
        assert expected, "each case should match something"


def test_default_fields_are_as_small_as_the_hubs(hub):
    item = get(hub, "/api/models", {"limit": 1}).json()[0]
    assert {"_id", "id", "modelId", "downloads", "likes", "tags", "createdAt"} <= set(item)
    assert "lastModified" not in item and "sha" not in item and "siblings" not in item


def test_expand_returns_exactly_the_asked_properties(hub):
    item = get(hub, "/api/models", [("limit", "1"), ("expand", "sha"), ("expand", "lastModified")]).json()[0]
    assert set(item) == {"_id", "id", "sha", "lastModified"}
    assert len(item["_id"]) == 24 and len(item["sha"]) == 40
    assert item["lastModified"].endswith("Z") and len(item["lastModified"]) == len("2024-05-13T17:47:06.000Z")


def test_full_and_card_data(hub):
    full = get(hub, "/api/models", {"limit": 5, "full": "True"}).json()
    assert all({"sha", "lastModified", "siblings", "author"} <= set(item) for item in full)
    assert all(s["rfilename"] for item in full for s in item["siblings"])
    assert all("cardData" not in item for item in full)
    card = get(hub, "/api/models", {"limit": 100, "cardData": "true"}).json()
    with_card = [item for item in card if "cardData" in item]
    assert 50 < len(with_card) < 100, "most repos have a card; a few have none, and then no cardData"
    assert all(isinstance(item["cardData"], dict) for item in with_card)
    models = list(HfApi(endpoint=hub.url).list_models(full=True, cardData=True, limit=5))
    assert all(m.sha and m.last_modified and m.siblings is not None for m in models)


def test_link_header_is_absolute_and_keeps_every_parameter(hub):
    params = [("sort", "downloads"), ("limit", "7"), ("filter", "transformers"), ("expand", "downloads")]
    response = get(hub, "/api/models", params)
    link = response.headers["Link"]
    assert link.startswith(f"<{hub.url}/api/models?") and link.endswith('>; rel="next"')
    next_url = response.links["next"]["url"]
    query = parse_qsl(urlsplit(next_url).query)
    assert [p for p in query if p[0] != "cursor"] == params
    assert [k for k, _ in query].count("cursor") == 1


def test_last_page_has_no_link(hub):
    response = get(hub, "/api/spaces", {"limit": 1000})
    assert len(response.json()) == 400 and "Link" not in response.headers


def test_limit_is_capped_at_the_hubs_maximum(make_hub):
    hub = make_hub(models=1_500, seed=2)
    assert len(get(hub, "/api/models", {"limit": 5000}).json()) == 1000
    assert len(get(hub, "/api/models").json()) == 1000


@pytest.mark.parametrize("params", [
    {"sort": "bogus"}, {"direction": "up"}, {"limit": "ten"}, {"limit": "0"}, {"expand": "nonsense"},
    {"expand": "sha", "full": "true"}, {"cursor": "not-a-cursor"}, {"full": "maybe"},
])
def test_bad_parameters_answer_400_with_a_json_error(hub, params):
    response = get(hub, "/api/models", params)
    assert response.status_code == 400
    assert response.json()["error"]


def test_a_cursor_from_another_sort_is_refused(hub):
    cursor = dict(parse_qsl(urlsplit(get(hub, "/api/models", {"sort": "likes"}).links["next"]["url"]).query))["cursor"]
    assert get(hub, "/api/models", {"sort": "downloads", "cursor": cursor}).status_code == 400


def test_spaces_have_no_downloads_sort(hub):
    assert get(hub, "/api/spaces", {"sort": "downloads"}).status_code == 400


# -- mutations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", SORTS)
def test_mutations_during_a_walk_never_skip_or_repeat_unchanged_rows(fresh_hub, sort):
    corpus = fresh_hub.corpora["models"]
    before = {corpus.ids[j] for j in corpus.live()}
    touched: set[str] = set()

    def mutate(page: int) -> None:
        if page in (2, 5, 8):
            touched.update(corpus.modify(15), corpus.bump_counters(15), corpus.delete(5), corpus.add(10))

    rows = walk(fresh_hub, params=[("sort", sort)], between_pages=mutate)
    seen = Counter(r["id"] for r in rows)
    unchanged = before - touched
    assert touched and unchanged
    assert all(seen[i] == 1 for i in unchanged), "an unchanged row was skipped or repeated"


def test_modify_moves_lastmodified_and_sha_but_counters_do_not():
    corpus = Corpus.generate("models", 200, seed=5)
    j = 17
    repo = corpus.ids[j]
    sha, modified, downloads = corpus.sha(j), corpus.modified[j], corpus.downloads[j]
    corpus.bump_counters(ids=[repo])
    assert corpus.sha(j) == sha and corpus.modified[j] == modified and corpus.downloads[j] > downloads
    corpus.modify(ids=[repo])
    assert corpus.sha(j) != sha and corpus.modified[j] > max(m for i, m in enumerate(corpus.modified) if i != j)


def test_drift_changes_what_the_hub_changes_without_a_commit():
    corpus = Corpus.generate("models", 400, seed=5)
    repos = corpus.ids[:300]
    before = {repo: _listed(corpus, repo) for repo in repos}
    corpus.drift(ids=repos)
    after = {repo: _listed(corpus, repo) for repo in repos}
    assert all(after[r]["sha"] == before[r]["sha"] and after[r]["lastModified"] == before[r]["lastModified"]
               and after[r].get("cardData") == before[r].get("cardData") for r in repos), "no commit: same card"
    changed = Counter(name for r in repos for name in after[r] if after[r][name] != before[r].get(name))
    assert changed["tags"] == 300 and changed["downloads"] == 300
    assert changed["gated"] > 50 and changed["pipeline_tag"] > 30 and changed["disabled"] >= 1
    hub_tags = set(corpus.profile.hub_computed)
    assert all(set(after[r]["tags"]) ^ set(before[r]["tags"]) <= hub_tags | {after[r].get("pipeline_tag"),
                                                                            before[r].get("pipeline_tag")}
               for r in repos)


def _listed(corpus: Corpus, repo: str) -> dict:
    from harvester.emulator.items import render
    from harvester.kinds import KINDS

    return render(corpus, corpus.position(repo), ("id", *KINDS["models"].listing_fields))


def test_a_private_repo_vanishes_from_listings_and_pages_until_public_again(fresh_hub):
    from huggingface_hub.errors import RepositoryNotFoundError

    corpus = fresh_hub.corpora["models"]
    api = HfApi(endpoint=fresh_hub.url)
    hidden = corpus.make_private(ids=[next(i for i in corpus.ids if i.isascii() and ".." not in i and "--" not in i)])
    assert not {m.id for m in api.list_models()} & set(hidden) and len(corpus) == 599
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(hidden[0])
    sha = corpus.sha(corpus.position(hidden[0]))
    corpus.make_public(hidden)
    assert set(hidden) <= {m.id for m in api.list_models()} and api.model_info(hidden[0]).sha == sha


def test_deleted_and_added_repos_show_in_listings(fresh_hub):
    corpus = fresh_hub.corpora["models"]
    gone = corpus.delete(20)
    new = corpus.add(7)
    ids = {m.id for m in HfApi(endpoint=fresh_hub.url).list_models()}
    assert not ids & set(gone) and set(new) <= ids and len(ids) == 600 - 20 + 7


# -- faults -------------------------------------------------------------------------------------


def test_status_faults_fire_every_nth_request(fresh_hub):
    fresh_hub.faults.add("502,every=3")
    statuses = [get(fresh_hub, "/api/models", {"limit": 5}).status_code for _ in range(9)]
    assert statuses == [200, 200, 502] * 3
    assert [r.status for r in fresh_hub.listing_requests()] == statuses
    assert [r.fault for r in fresh_hub.listing_requests()][2] == "502"


def test_429_carries_retry_after(fresh_hub):
    fresh_hub.faults.add("429,retry_after=2,times=1")
    response = get(fresh_hub, "/api/models")
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert get(fresh_hub, "/api/models").status_code == 200


def test_large_pages_time_out_with_504(fresh_hub):
    fresh_hub.faults.max_page_size = 100
    assert get(fresh_hub, "/api/models", {"limit": 101}).status_code == 504
    assert get(fresh_hub, "/api/models", {"limit": 100}).status_code == 200


def test_dropped_connection(fresh_hub):
    fresh_hub.faults.add("drop,times=1")
    with pytest.raises(httpx2.TransportError):
        get(fresh_hub, "/api/models")
    assert get(fresh_hub, "/api/models").status_code == 200


def test_truncated_and_malformed_bodies(fresh_hub):
    fresh_hub.faults.add("truncate,times=1")
    fresh_hub.faults.add("malformed,after=1,times=1")
    for _ in range(2):
        response = get(fresh_hub, "/api/models")
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            response.json()


def test_slow_response(fresh_hub):
    fresh_hub.faults.add("slow=0.5,times=1")
    started = time.monotonic()
    get(fresh_hub, "/api/models", {"limit": 1})
    assert time.monotonic() - started >= 0.5
    with pytest.raises(httpx2.TimeoutException):
        fresh_hub.faults.add("slow=1,times=1")
        get_session().get(f"{fresh_hub.url}/api/models", timeout=0.2)


def test_hostile_links_and_items(fresh_hub):
    fresh_hub.faults.add("foreign-link,times=1")
    assert "hub.evil.invalid" in get(fresh_hub, "/api/models").links["next"]["url"]
    first = get(fresh_hub, "/api/models")
    fresh_hub.faults.add("repeat-cursor,times=1")
    repeated = get_session().get(first.links["next"]["url"], timeout=10)
    assert repeated.links["next"]["url"] == first.links["next"]["url"]
    fresh_hub.faults.add("missing-field,times=1")
    assert "id" not in get(fresh_hub, "/api/models").json()[0]


def test_quota_paces_like_the_hub(fresh_hub):
    fresh_hub.faults.quota = parse_quota("3/60")
    responses = [get(fresh_hub, "/api/models", {"limit": 1}) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    info = [parse_ratelimit_headers(r.headers) for r in responses]
    assert [i.remaining for i in info] == [2, 1, 0, 0]
    assert info[0].limit == 3 and info[0].window_seconds == 60
    assert 0 < int(responses[3].headers["Retry-After"]) <= 60


def test_the_real_clients_own_backoff_rides_over_transient_faults(fresh_hub):
    fresh_hub.faults.add("503,every=4,times=2")
    ids = [m.id for m in HfApi(endpoint=fresh_hub.url).list_models()]
    assert len(ids) == len(set(ids)) == 600
    assert Counter(r.status for r in fresh_hub.listing_requests())[503] == 2


def test_fault_specs_parse_and_reject_nonsense():
    fault = parse_fault("429,retry_after=1.5,rate=0.25,times=3")
    assert (fault.status, fault.retry_after, fault.rate, fault.times) == (429, 1.5, 0.25, 3)
    assert parse_fault("slow=2").seconds == 2.0 and parse_fault("drop").every == 1
    for bad in ("explode", "status", "502,often=2", "200", "slow=fast", "502,every=0", "502,rate=1.5",
                "drop,times=0", "slow=-1", "429,retry_after=-2"):
        with pytest.raises(ValueError, match="bad fault spec"):
            parse_fault(bad)
    with pytest.raises(ValueError, match="an HTTP status such as 502, or one of drop,"):
        parse_fault("explode")
    for bad in ("lots", "0/1", "5/0"):
        with pytest.raises(ValueError, match="bad quota"):
            parse_quota(bad)
    plan = FaultPlan(faults=[parse_fault("500,every=2")])
    assert [plan.next_fault() is not None for _ in range(4)] == [False, True, False, True]


def test_tokens_are_checked_but_never_logged(make_hub):
    hub = make_hub(models=10, tokens={"hf_good"})
    good = get_session().get(f"{hub.url}/api/models", headers={"Authorization": "Bearer hf_good"})
    bad = get_session().get(f"{hub.url}/api/models", headers={"Authorization": "Bearer hf_bad"})
    assert (good.status_code, bad.status_code) == (200, 401)
    assert all(r.authorized for r in hub.requests)
    assert "hf_good" not in repr(list(hub.requests))


def test_unknown_paths_are_404(hub):
    assert get(hub, "/api/nothing").status_code == 404


# -- single repos -----------------------------------------------------------------------------------


def test_a_repo_page_serves_what_model_info_reads(fresh_hub):
    corpus = fresh_hub.corpora["models"]
    j = next(j for j in corpus.live() if corpus.library_value(j) == "transformers")
    info = HfApi(endpoint=fresh_hub.url).model_info(corpus.ids[j], files_metadata=True)
    assert (info.id, info.sha, info.last_modified is not None) == (corpus.ids[j], corpus.sha(j), True)
    assert info.safetensors is not None and info.config["model_type"]
    assert info.card_data is not None
    assert all(s.size is not None for s in info.siblings), "blobs=true gives every file's size"
    assert {s.rfilename for s in info.siblings if s.lfs} == {
        s.rfilename for s in info.siblings if s.rfilename.endswith(LFS_SUFFIXES)}


def test_a_repos_files_change_with_its_commit_only(fresh_hub):
    corpus = fresh_hub.corpora["models"]
    repo_id = corpus.ids[3]
    files = lambda: get(fresh_hub, f"/api/models/{repo_id}", {"blobs": "true"}).json()["siblings"]  # noqa: E731
    before = files()
    corpus.bump_counters(ids=[repo_id])
    assert files() == before
    corpus.modify(ids=[repo_id])
    assert files() != before


def test_blobs_sizes_the_files_that_expand_asks_for_unless_a_fault_refuses_the_pair(fresh_hub):
    corpus = fresh_hub.corpora["models"]
    repo_id = corpus.ids[5]
    asked = [("blobs", "true"), ("expand", "sha"), ("expand", "siblings")]
    item = get(fresh_hub, f"/api/models/{repo_id}", asked).json()
    assert set(item) == {"_id", "id", "sha", "siblings"}
    assert item["siblings"] == get(fresh_hub, f"/api/models/{repo_id}", {"blobs": "true"}).json()["siblings"]
    assert all("size" in sibling for sibling in item["siblings"])
    assert all("size" not in s for s in get(fresh_hub, f"/api/models/{repo_id}", asked[1:]).json()["siblings"])
    fresh_hub.faults.add("refuse-blobs-expand")
    assert get(fresh_hub, f"/api/models/{repo_id}", asked).status_code == 400
    assert get(fresh_hub, f"/api/models/{repo_id}", asked[1:]).status_code == 200, "expand alone"
    assert get(fresh_hub, f"/api/models/{repo_id}", asked[:1]).status_code == 200, "blobs alone"
    fresh_hub.faults.clear()
    fresh_hub.faults.add("ignore-blobs-expand")
    assert all("size" not in s for s in get(fresh_hub, f"/api/models/{repo_id}", asked).json()["siblings"])
    assert all("size" in s for s in get(fresh_hub, f"/api/models/{repo_id}", asked[:1]).json()["siblings"])


def test_a_gone_repo_is_the_hubs_repository_not_found(fresh_hub):
    from huggingface_hub.errors import RepositoryNotFoundError

    corpus = fresh_hub.corpora["models"]
    [gone] = corpus.delete(ids=[next(i for i in corpus.ids if i.isascii() and ".." not in i and "--" not in i)])
    api = HfApi(endpoint=fresh_hub.url)
    for repo_id in (gone, "nobody/nothing"):
        with pytest.raises(RepositoryNotFoundError):
            api.model_info(repo_id)


def test_repo_pages_validate_parameters_and_suffer_faults(fresh_hub):
    repo_id = fresh_hub.corpora["models"].ids[0]
    assert get(fresh_hub, f"/api/models/{repo_id}", [("expand", "nonsense")]).status_code == 400
    assert get(fresh_hub, f"/api/models/{repo_id}", [("blobs", "maybe")]).status_code == 400
    assert set(get(fresh_hub, f"/api/models/{repo_id}", [("expand", "sha")]).json()) == {"_id", "id", "sha"}
    fresh_hub.faults.add("503,every=2")
    statuses = [get(fresh_hub, f"/api/models/{repo_id}").status_code for _ in range(4)]
    assert sorted(statuses) == [200, 200, 503, 503]
    assert [r.status for r in fresh_hub.repo_requests()][-4:] == statuses


# -- the command ----------------------------------------------------------------------------------


def test_emulator_command_prints_its_url_first_and_serves():
    process = subprocess.Popen(
        [sys.executable, "-m", "harvester", "emulator", "--models", "300", "--port", "0", "--fault", "502,every=2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        statuses = [get_session().get(f"{url}/api/models", timeout=10).status_code for _ in range(2)]
        assert statuses == [200, 502]
        ids = [m.id for m in HfApi(endpoint=url).list_models(sort="likes")]
        assert len(ids) == len(set(ids)) == 300
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_emulator_command_rejects_a_bad_fault_spec():
    result = subprocess.run([sys.executable, "-m", "harvester", "emulator", "--fault", "explode"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "bad fault spec 'explode'" in result.stderr


def test_emulator_command_on_a_busy_port_is_a_clear_error(hub):
    port = hub.host_port.rsplit(":", 1)[1]
    result = subprocess.run([sys.executable, "-m", "harvester", "emulator", "--port", port],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1 and f"cannot serve on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_repos_card_does_not_change_when_other_repos_come_go_or_are_renamed(make_hub):
    corpus = make_hub(models=2_000, seed=3).corpora["models"]
    card = PROPERTIES["cardData"]
    before = {corpus.hub_id(j): card(corpus, j) for j in corpus.live()}
    corpus.delete(20)
    corpus.add(50)
    renamed = {corpus.hub_id(corpus.position(new)) for _, new in corpus.rename(10)}
    after = {corpus.hub_id(j): card(corpus, j) for j in corpus.live()}
    assert renamed and {hub_id for hub_id in before.keys() & after.keys() if before[hub_id] != after[hub_id]} == set()
