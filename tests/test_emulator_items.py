"""The emulator serves the whole item and the repo cards the way the Hub does, to the real client."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx2
import pytest
import yaml
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import HFValidationError, get_session, parse_ratelimit_headers, validate_repo_id

from harvester.cards import body_of
from harvester.emulator import HubEmulator, parse_fault, parse_quota
from harvester.emulator import files as emulator_files
from harvester.emulator.cards import TOPICS, card_body
from harvester.emulator.vocab import LFS_SUFFIXES

RICH = ["safetensors", "gguf", "siblings", "library_name", "pipeline_tag", "config", "transformersInfo",
        "inferenceProviderMapping", "inference", "spaces", "model-index", "evalResults", "cardData", "sha"]


def get(hub: HubEmulator, path: str, params=None, **kwargs) -> httpx2.Response:
    return get_session().get(f"{hub.url}{path}", params=params, timeout=10, **kwargs)


@pytest.fixture(scope="module")
def rich(hub) -> list[dict]:
    """Every model of the shared hub with the rich fields, as huggingface_hub's ModelInfo attributes."""
    return [vars(m) for m in HfApi(endpoint=hub.url).list_models(expand=RICH)]


def raw_models(hub: HubEmulator, expand: list[str]) -> list[dict]:
    rows, response = [], get(hub, "/api/models", [("limit", "1000"), *(("expand", e) for e in expand)])
    while True:
        assert response.status_code == 200, response.text
        rows += response.json()
        if "next" not in response.links:
            return rows
        response = get_session().get(response.links["next"]["url"], timeout=10)


def clean_id(corpus, j: int) -> bool:
    """Whether huggingface_hub accepts the repo's id (it refuses some the Hub holds)."""
    try:
        validate_repo_id(corpus.ids[j])
    except HFValidationError:
        return False
    return True


# -- what only a repo's page answers ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["baseModels", "childrenModelCount", "usedStorage"])
def test_listings_refuse_what_only_a_repo_page_answers(hub, value):
    assert get(hub, "/api/models", {"expand": value}).status_code == 400
    with pytest.raises(HfHubHTTPError) as refused:
        next(iter(HfApi(endpoint=hub.url).list_models(expand=[value])))
    assert refused.value.response.status_code == 400
    assert get(hub, "/api/datasets", {"expand": "usedStorage"}).status_code == 200, "only models refuse it"


def test_a_repo_page_answers_base_models_children_and_storage(hub):
    corpus = hub.corpora["models"]
    api = HfApi(endpoint=hub.url)
    flagship = corpus.ids[7]
    children = [j for j in corpus.live() if j != 7 and flagship in {b.name for b in corpus.statement(j).bases}]
    info = api.model_info(flagship, expand=["childrenModelCount", "usedStorage", "siblings"])
    assert info.children_model_count == len(children) > 20
    assert isinstance(info.used_storage, int) and info.used_storage > 0
    child = corpus.ids[children[0]]
    bases = api.model_info(child, expand=["baseModels"]).base_models
    assert bases["relation"] in ("finetune", "quantized", "adapter", "merge")
    assert {"_id": corpus.hub_id(7), "id": flagship} in bases["models"]
    full = api.model_info(child, files_metadata=True)
    assert full.used_storage >= sum(s.size for s in full.siblings), "at least the files it holds now"


def test_base_models_name_repos_that_exist_under_their_current_ids(fresh_hub):
    corpus = fresh_hub.corpora["models"]
    stating = [j for j in corpus.live() if corpus.statement(j).bases]
    [(old, new)] = corpus.rename(ids=[next(b.name for j in stating for b in corpus.statement(j).bases
                                           if corpus.find(b.name) is not None)])
    served = {corpus.ids[j]: get(fresh_hub, f"/api/models/{corpus.ids[j]}", {"expand": "baseModels"}).json()
              .get("baseModels") for j in stating}
    named = {m["id"] for bases in served.values() if bases for m in bases["models"]}
    assert new in named and old not in named, "a card's old name is given as the repo's id now"
    assert all(corpus.find(name) is not None for name in named), "names no repo holds are left out"
    dangling = [j for j in stating if all(corpus.find(b.name) is None and corpus.renamed_from(b.name) is None
                                          for b in corpus.statement(j).bases)]
    assert dangling and all(served[corpus.ids[j]] is None for j in dangling), "no base left: no field"


# -- weights, files and what the Hub reads from them ---------------------------------------------------


def test_safetensors_and_gguf_have_the_hubs_shapes(hub):
    items = raw_models(hub, ["safetensors", "gguf", "siblings", "library_name"])
    with_safetensors = [i for i in items if "safetensors" in i]
    assert all(i["safetensors"]["total"] == sum(i["safetensors"]["parameters"].values()) for i in with_safetensors)
    assert Counter(len(i["safetensors"]["parameters"]) for i in with_safetensors).keys() >= {1, 2}
    ggufs = [i for i in items if "gguf" in i]
    assert ggufs and not any("safetensors" in i for i in ggufs), "GGUF-only repos have no safetensors"
    assert all(any(s["rfilename"].endswith(".gguf") for s in i["siblings"]) for i in ggufs)
    names = {s["rfilename"] for i in ggufs for s in i["siblings"]}
    assert all(any(f"-{quant}" in name for name in names) for quant in ("Q4_K_M", "Q5_K_S", "Q8_0", "IQ2_XS"))
    assert any(set(i["gguf"]) == {"total"} for i in ggufs), "any key may be missing"
    assert any(len(i["gguf"].get("chat_template", "")) > 2_000 for i in ggufs)
    assert {i["gguf"]["architecture"] for i in ggufs if "architecture" in i["gguf"]} >= {"llama", "qwen2"}
    counts = sorted(len(i["siblings"]) for i in items)
    assert counts[0] >= 3 and counts[-1] >= 200


def test_listings_name_files_and_a_repo_page_sizes_the_same_files(hub):
    corpus = hub.corpora["models"]
    api = HfApi(endpoint=hub.url)
    picked = [next(j for j in corpus.live() if emulator_files.is_gguf(corpus, j) and corpus.has_card(j)
                   and clean_id(corpus, j) and not corpus.disabled[j]),
              next(j for j in corpus.live() if emulator_files.has_safetensors(corpus, j) and not corpus.disabled[j]
                   and clean_id(corpus, j))]
    listed = {item["id"]: item for item in raw_models(hub, ["siblings"])}
    for j in picked:
        assert all(set(s) == {"rfilename"} for s in listed[corpus.ids[j]]["siblings"]), "names only"
        info = api.model_info(corpus.ids[j], files_metadata=True)
        assert [s.rfilename for s in info.siblings] == [s["rfilename"] for s in listed[corpus.ids[j]]["siblings"]]
        assert {s.rfilename for s in info.siblings if s.lfs} == {
            s.rfilename for s in info.siblings if s.rfilename.endswith(LFS_SUFFIXES)}
        readme = [s for s in info.siblings if s.rfilename == "README.md"]
        assert [s.size for s in readme] == ([len(corpus.card(corpus.ids[j]).encode())] if corpus.has_card(j) else [])


def test_config_and_transformers_info_agree(rich):
    transformers = [m for m in rich if m["config"] is not None]
    assert transformers and all(m["transformers_info"] is not None for m in transformers)
    auto_models: dict[str, set[str]] = {}
    for m in transformers:
        assert m["config"]["model_type"] and m["config"]["architectures"]
        head = m["config"]["architectures"][0]
        auto_models.setdefault(head[head.find("For"):] if "For" in head else "Model", set()).add(
            m["transformers_info"]["auto_model"])
        assert m["transformers_info"].get("pipeline_tag") == m["pipeline_tag"]
    assert all(len(names) == 1 for head, names in auto_models.items() if head != "ForConditionalGeneration")
    assert any(m["config"]["architectures"] == ["LlamaForCausalLM"] for m in transformers)


def test_model_index_is_the_cards_and_eval_results_derive_from_it(hub, rich):
    evaluated = [m for m in rich if m["model_index"] is not None]
    assert 0 < len(evaluated) < len(rich) / 4
    for m in evaluated:
        assert m["card_data"].to_dict()["model-index"] == m["model_index"]
        types = [result["dataset"]["type"] for result in m["model_index"][0]["results"]]
        assert [entry.dataset_id for entry in m["eval_results"]] == types
    raw = [i["evalResults"] for i in raw_models(hub, ["evalResults"]) if "evalResults" in i]
    assert any("filename" in entries[0] for entries in raw) and any("filename" not in e[0] for e in raw)


def test_full_listings_and_the_config_flag(hub):
    full = get(hub, "/api/models", {"limit": 20, "full": "true"}).json()
    assert all("usedStorage" not in item and "siblings" in item for item in full)
    with_config = get(hub, "/api/models", {"limit": 200, "config": "true"}).json()
    assert any("config" in item for item in with_config)


# -- what moves without a commit: providers, spaces -----------------------------------------------------


def test_inference_providers_come_in_both_shapes(hub, rich):
    items = raw_models(hub, ["inferenceProviderMapping", "inference"])
    shapes = Counter(type(i["inferenceProviderMapping"]).__name__ for i in items if "inferenceProviderMapping" in i)
    assert shapes["dict"] > 5 and shapes["list"] > 5
    assert all("provider" in entry for i in items if isinstance(i.get("inferenceProviderMapping"), list)
               for entry in i["inferenceProviderMapping"])
    assert {i["inference"] for i in items if "inference" in i} == {"warm"}
    served = [m for m in rich if m["inference_provider_mapping"]]
    assert all(p.provider and p.provider_id and p.status in ("live", "staging", "error") and p.task
               for m in served for p in m["inference_provider_mapping"])


def test_reprovide_moves_providers_without_a_commit(fresh_hub):
    corpus = fresh_hub.corpora["models"]
    api = HfApi(endpoint=fresh_hub.url)
    repos = [corpus.ids[j] for j in corpus.live()
             if corpus.category_value(j) == "text-generation" and clean_id(corpus, j) and not corpus.disabled[j]][:30]
    expand = ["inferenceProviderMapping", "inference", "sha", "lastModified"]
    before = {repo: api.model_info(repo, expand=expand) for repo in repos}
    corpus.reprovide(ids=repos)
    after = {repo: api.model_info(repo, expand=expand) for repo in repos}
    assert all(after[r].sha == before[r].sha and after[r].last_modified == before[r].last_modified for r in repos)
    assert all(after[r].inference_provider_mapping != before[r].inference_provider_mapping for r in repos)


def test_a_models_spaces_are_the_spaces_naming_it_and_move_with_them():
    with HubEmulator(models=300, spaces=400, seed=4) as hub:
        api = HfApi(endpoint=hub.url)
        using = {}
        for space in api.list_spaces(expand=["models"]):
            for model in space.models or ():
                using.setdefault(model, set()).add(space.id)
        models = {m.id: set(m.spaces or ()) for m in api.list_models(expand=["spaces"])}
        assert any(models.values()) and all(models[m] == using.get(m, set()) for m in models)
        spaces = hub.corpora["spaces"]
        moved = spaces.modify(200)
        model = next(m for m in models if models[m] & set(moved) and clean_id(hub.corpora["models"],
                                                                                hub.corpora["models"].position(m)))
        sha = api.model_info(model).sha
        after = api.model_info(model, expand=["spaces", "sha"])
        assert after.sha == sha and set(after.spaces or ()) != models[model]


# -- the refuse-expand switch ----------------------------------------------------------------------------


def test_a_fault_refuses_chosen_expand_values_and_the_set_can_change(fresh_hub):
    plan = fresh_hub.faults
    plan.refuse_expand("gguf", "spaces")
    assert get(fresh_hub, "/api/models", {"expand": "gguf"}).status_code == 400
    assert get(fresh_hub, "/api/models", [("expand", "sha"), ("expand", "spaces")]).status_code == 400
    assert get(fresh_hub, "/api/models", {"expand": "sha"}).status_code == 200
    assert get(fresh_hub, f"/api/models/{fresh_hub.corpora['models'].ids[0]}", {"expand": "gguf"}).status_code == 200
    plan.allow_expand("gguf")
    assert get(fresh_hub, "/api/models", {"expand": "gguf"}).status_code == 200
    assert get(fresh_hub, "/api/models", {"expand": "spaces"}).status_code == 400
    plan.clear()
    plan.add("refuse-expand=safetensors+config,times=2")
    statuses = [get(fresh_hub, "/api/models", {"expand": "config"}).status_code for _ in range(4)]
    assert statuses == [400, 400, 200, 200]
    with pytest.raises(ValueError, match="refuse-expand needs the values"):
        parse_fault("refuse-expand")


def test_repo_pages_refuse_chosen_expand_values_apart_from_listings(fresh_hub):
    plan, repo_id = fresh_hub.faults, fresh_hub.corpora["models"].ids[0]
    plan.add("refuse-repo-expand=childrenModelCount")
    assert get(fresh_hub, f"/api/models/{repo_id}", {"expand": "childrenModelCount"}).status_code == 400
    assert get(fresh_hub, f"/api/models/{repo_id}", {"expand": "baseModels"}).status_code == 200
    assert get(fresh_hub, "/api/models", {"expand": "sha"}).status_code == 200
    plan.refuse_expand("sha", repo_pages=True)
    assert get(fresh_hub, f"/api/models/{repo_id}", {"expand": "sha"}).status_code == 400
    assert get(fresh_hub, "/api/models", {"expand": "sha"}).status_code == 200, "listings still answer it"
    plan.allow_expand("childrenModelCount", "sha")
    both = [("expand", "sha"), ("expand", "childrenModelCount")]
    assert get(fresh_hub, f"/api/models/{repo_id}", both).status_code == 200


def test_emulator_command_takes_a_refuse_expand_fault():
    process = subprocess.Popen(
        [sys.executable, "-m", "harvester", "emulator", "--models", "50", "--fault", "refuse-expand=gguf"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert get_session().get(f"{url}/api/models?expand=gguf", timeout=10).status_code == 400
        assert get_session().get(f"{url}/api/models?expand=safetensors", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- cards --------------------------------------------------------------------------------------------


def readable(corpus, j: int) -> bool:
    return corpus.has_card(j) and corpus.gated_value(j) != "manual" and not corpus.disabled[j] and clean_id(corpus, j)


def test_hf_hub_download_fetches_the_card_at_main_and_at_its_sha(hub, tmp_path):
    corpus = hub.corpora["models"]
    repo = corpus.ids[next(j for j in corpus.live() if readable(corpus, j))]
    sha = corpus.sha(corpus.position(repo))
    for revision in ("main", sha):
        path = hf_hub_download(repo, "README.md", revision=revision, endpoint=hub.url, cache_dir=tmp_path / revision)
        assert Path(path).read_bytes().decode() == corpus.card(repo)
    front = corpus.card(repo).split("---\n")[1]
    assert yaml.safe_load(front) == get(hub, f"/api/models/{repo}", {"expand": "cardData"}).json()["cardData"]
    assert [r.method for r in hub.card_requests()][-2:] == ["HEAD", "GET"]
    head = get_session().head(f"{hub.url}/{repo}/resolve/main/README.md", timeout=10)
    assert head.headers["X-Repo-Commit"] == sha and head.headers["ETag"].strip('"')
    assert int(head.headers["Content-Length"]) == len(corpus.card(repo).encode()) and not head.content


def test_datasets_and_spaces_serve_their_cards_too(hub, tmp_path):
    for kind, repo_type in (("datasets", "dataset"), ("spaces", "space")):
        corpus = hub.corpora[kind]
        repo = corpus.ids[next(j for j in corpus.live() if readable(corpus, j))]
        path = hf_hub_download(repo, "README.md", repo_type=repo_type, endpoint=hub.url, cache_dir=tmp_path)
        assert Path(path).read_bytes().decode() == corpus.card(repo)
        assert hub.card_requests(kind)[-1].path.startswith(f"/{kind}/")


def test_a_card_changes_with_a_commit_only(fresh_hub, tmp_path):
    corpus = fresh_hub.corpora["models"]
    repo = corpus.ids[next(j for j in corpus.live() if readable(corpus, j))]
    text, sha = corpus.card(repo), corpus.sha(corpus.position(repo))
    corpus.bump_counters(ids=[repo])
    corpus.drift(ids=[repo])
    corpus.reprovide(ids=[repo])
    assert get(fresh_hub, f"/{repo}/resolve/main/README.md").text == text
    corpus.modify(ids=[repo])
    assert corpus.card(repo) != text
    assert get(fresh_hub, f"/{repo}/resolve/main/README.md").text == corpus.card(repo)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo, "README.md", revision=sha, endpoint=fresh_hub.url, cache_dir=tmp_path)


def test_cards_are_refused_the_way_the_hub_refuses_them(fresh_hub, tmp_path):
    corpus = fresh_hub.corpora["models"]
    download = lambda repo, **kw: hf_hub_download(repo, "README.md", endpoint=fresh_hub.url,  # noqa: E731
                                                  cache_dir=tmp_path, **kw)
    without = corpus.ids[next(j for j in corpus.live() if not corpus.has_card(j) and clean_id(corpus, j))]
    with pytest.raises(RemoteEntryNotFoundError):
        download(without)
    gated = corpus.ids[next(j for j in corpus.live() if corpus.gated_value(j) == "manual" and clean_id(corpus, j))]
    assert get(fresh_hub, f"/{gated}/resolve/main/README.md").status_code == 401
    assert get(fresh_hub, f"/{gated}/resolve/main/README.md", headers={"Authorization": "Bearer x"}).status_code == 403
    with pytest.raises(GatedRepoError):
        download(gated)
    readable_ids = [corpus.ids[j] for j in corpus.live() if readable(corpus, j)]
    assert get(fresh_hub, f"/{readable_ids[0]}/resolve/main/config.json").status_code == 404
    [gone] = corpus.delete(ids=readable_ids[1:2])
    with pytest.raises(RepositoryNotFoundError):
        download(gone)
    [(old, new)] = corpus.rename(ids=readable_ids[2:3])
    moved = get(fresh_hub, f"/{old}/resolve/main/README.md", follow_redirects=False)
    assert moved.status_code == 307 and moved.headers["Location"] == f"/{new}/resolve/main/README.md"
    assert Path(download(old)).read_bytes().decode() == corpus.card(new)


def test_cards_use_a_searchable_vocabulary_and_sizes_of_real_cards(hub):
    corpus = hub.corpora["models"]
    cards = [corpus.card_text(j) for j in corpus.live() if corpus.has_card(j)]
    for phrase in ("medical", "Japanese", "function calling", "not for commercial use"):
        found = sum(phrase in card for card in cards)
        assert 0 < found < len(cards) / 5, phrase
    assert set(TOPICS) >= {"medical", "Japanese", "function calling", "not for commercial use"}
    sizes = sorted(len(card.encode()) for card in cards)
    assert sizes[0] < 1_000 and sizes[len(sizes) // 2] < 10_000 and sizes[-1] > 50_000
    assert 0.2 < sum("generated automatically" in card for card in cards) / len(cards) < 0.45


def test_a_card_body_is_what_the_lane_stores_below_the_front_matter(hub):
    corpus = hub.corpora["models"]
    with_card = [j for j in corpus.live() if corpus.has_card(j)][:50]
    for j in with_card:
        readme = corpus.card_text(j)
        card_data = yaml.safe_load(readme.split("---\n")[1])
        assert body_of(readme.encode()) == ("\n" + card_body(corpus, j, card_data)).encode()
    without = next(j for j in corpus.live() if not corpus.has_card(j))
    assert corpus.card_text(without) is None and card_body(corpus, without, None).startswith("# ")


def test_some_cards_are_hostile_and_served_byte_for_byte(hub):
    corpus = hub.corpora["models"]
    hostile = corpus.hostile_cards()
    assert 1 <= len(hostile) <= 5
    for repo in hostile:
        card = corpus.card(repo)
        assert "<script>alert(1)</script>" in card and "<img src=x onerror=alert(1)>" in card
        assert max(map(len, card.splitlines())) > 10_000 and "\x00" in card and "\x1b[31m" in card
        if clean_id(corpus, corpus.position(repo)) and corpus.gated_value(corpus.position(repo)) != "manual":
            assert get(hub, f"/{repo}/resolve/main/README.md").content == card.encode()


def test_card_downloads_have_a_quota_of_their_own(fresh_hub):
    corpus = fresh_hub.corpora["models"]
    repo = corpus.ids[next(j for j in corpus.live() if readable(corpus, j))]
    fresh_hub.faults.resolver_quota = parse_quota("2/60", bucket="resolvers")
    fresh_hub.faults.quota = parse_quota("100/60")
    responses = [get(fresh_hub, f"/{repo}/resolve/main/README.md") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[0].headers["RateLimit"].startswith('"resolvers";r=1;')
    assert parse_ratelimit_headers(responses[0].headers).limit == 2
    assert get(fresh_hub, "/api/models", {"limit": 1}).headers["RateLimit"].startswith('"api";r=99;')
    assert [r.status for r in fresh_hub.card_requests()] == [200, 200, 429]
