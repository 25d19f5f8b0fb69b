"""`harvester serve`: every table, view and column is described; a real browser (the OS's headless
Chromium through Playwright) finds the tables, canned queries, search and dashboard charts
working, with no request leaving this machine and no JavaScript error.

One catalog, one server and one browser serve the whole module. Screenshots of the dashboard go
to ``test-artifacts/`` (gitignored)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog import Catalog
from harvester.cli import main
from harvester.serve import CHARTS, DASHBOARD, QUERIES, datasette_metadata, described_tables, is_loopback
from harvester.store.engine import open_catalog
from harvester.sync import sync
from helpers import config, serving

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("HARVESTER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SEARCH_EVERY = 0.5  # seconds between the server's refreshes of its search index
FTS_SHADOWS = re.compile(r"_search_(data|idx|content|docsize|config)$")

pytestmark = pytest.mark.sqlite_only


def catalog_objects(path: Path) -> dict[str, list[str]]:
    """Every table and view of the SQLite file at ``path`` (FTS5's own shadow tables aside) and its columns."""
    with sqlite3.connect(path) as conn:
        names = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
                 if not FTS_SHADOWS.search(name)]
        return {name: [row[1] for row in conn.execute(f"PRAGMA table_info({name})")] for name in names}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """A catalog migrated to head, with nothing synced."""
    path = tmp_path_factory.mktemp("fresh") / "hub.db"
    open_catalog(f"sqlite:///{path}").dispose()
    return path


def test_every_table_view_and_column_of_a_migrated_catalog_has_a_description(fresh):
    served = datasette_metadata("hub")["databases"]["hub"]["tables"]
    for name, columns in catalog_objects(fresh).items():
        assert name in served, f"{name} is not described in store/schema.py"
        assert served[name]["title"] and served[name]["description"], name
        if name == "alembic_version" or name.endswith("_search"):
            continue  # Alembic's and FTS5's: described as a whole (store.schema.OTHER_TABLES)
        docs = served[name]["columns"]
        assert set(docs) == set(columns), f"{name}: described {list(docs)}, has {columns}"
        assert all(doc and doc.strip() for doc in docs.values()), f"{name}: a column has no description"


def test_nothing_is_described_that_the_catalog_does_not_have(fresh):
    assert set(described_tables()) <= set(catalog_objects(fresh))


def test_the_readmes_schema_section_names_every_table_and_view(fresh):
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The catalog's schema"):text.index("## Tests")]
    named = set(re.findall(r"`([a-z_]+)`", section))
    missing = {name for name in catalog_objects(fresh) if name not in named and name != "alembic_version"}
    assert not missing, f"README's schema section does not name {sorted(missing)}"


def test_serve_refuses_postgresql_in_one_line():
    result = CliRunner().invoke(main, ["serve", "--db", "postgresql+psycopg://u@localhost/hub"])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert "SQLite" in line and "postgresql" in line


def test_serve_without_the_extra_names_it_in_one_line(fresh):
    hide = "import sys; sys.modules['datasette'] = sys.modules['datasette.app'] = None"
    done = subprocess.run([sys.executable, "-c", f"{hide}; from harvester.__main__ import run; run()",
                           "serve", "--db", str(fresh)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode != 0
    [line] = done.stderr.strip().splitlines()
    assert "pip install 'hf-harvester[serve]'" in line


@pytest.mark.parametrize("content", [None, b"not a catalog, " * 100])
def test_serve_refuses_a_missing_or_unreadable_catalog_in_one_line_before_it_starts(tmp_path, monkeypatch, content):
    import uvicorn

    path = tmp_path / "typo.db"
    if content is not None:
        path.write_bytes(content)
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(options))
    result = CliRunner().invoke(main, ["serve", "--db", str(path)])
    assert result.exit_code == 1 and not served
    [line] = result.stderr.strip().splitlines()
    assert str(path) in line
    if content is None:
        assert "run `harvester sync` to create one" in line and not path.exists()


def test_binding_beyond_loopback_warns(fresh, monkeypatch):
    import uvicorn

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(options))
    result = CliRunner().invoke(main, ["serve", "--db", str(fresh), "--host", "0.0.0.0", "--port", "9"])
    assert result.exit_code == 0, result.output
    assert served == [{"host": "0.0.0.0", "port": 9, "log_level": "warning", "lifespan": "on"}]
    assert "reachable from other machines" in result.stderr
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_serve_announces_a_rebuild_of_the_search_index_only_when_it_rebuilds(hub, tmp_path, monkeypatch):
    import uvicorn

    from harvester import search

    path = tmp_path / "hub.db"
    db = Catalog.sqlite(path)
    sync(config(hub, db))
    db.dispose()
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    monkeypatch.setattr(search, "CHUNK", 500)  # 2,500 models: a rebuild of five transactions, as 100,000 would be
    monkeypatch.setattr(search, "PAUSE", 0)
    starts = [CliRunner().invoke(main, ["serve", "--db", str(path), "--search-every", "0"]) for _ in range(2)]
    assert [start.exit_code for start in starts] == [0, 0]
    assert "rebuilding the search index of models" in starts[0].stderr
    assert "search index" not in starts[1].stderr


# --- in a real browser ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synced(tmp_path_factory, make_module_hub) -> Path:
    """hub.db synced from the emulator: every kind with its cards (one carries a script tag and an
    onerror image), and three `--stats` runs between counter moves."""
    path = tmp_path_factory.mktemp("serve") / "hub.db"
    db = Catalog.sqlite(path)
    hub = make_module_hub(models=800, datasets=200, spaces=100, seed=3)
    for kind in ("models", "datasets", "spaces"):
        sync(config(hub, db, kind=kind))
        sync(config(hub, db, kind=kind, lane="cards", where="1=1"))
    for _ in range(3):
        sync(config(hub, db, lane="stats", top=200))
        hub.corpora["models"].bump_counters(300)
    db.dispose()
    return path


@pytest.fixture(scope="module")
def server(synced) -> Iterator[str]:
    with serving(synced, search_every=SEARCH_EVERY) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: apt-get install chromium (or set HARVESTER_CHROMIUM)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


class Visit:
    """A page of the browser that allows only requests to the server, and keeps every JavaScript
    error, every console warning and every request it refused."""

    def __init__(self, browser, base: str) -> None:
        self.base, self.errors, self.refused = base, [], []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.route("**/*", self._route)
        self.page.on("console", lambda message: message.type in ("error", "warning") and
                     self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", lambda dialog: (self.errors.append(f"a {dialog.type}: {dialog.message}"),
                                               dialog.dismiss()))

    def _route(self, route) -> None:
        if route.request.url.startswith(self.base + "/"):
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort()

    def go(self, path: str):
        response = self.page.goto(self.base + path)
        assert response.status == 200, f"{path}: HTTP {response.status}"
        return self.page

    def close(self) -> None:
        self.page.close()
        assert not self.errors, f"JavaScript errors and warnings: {self.errors}"
        assert not self.refused, f"requests beyond the server: {self.refused}"


@pytest.fixture
def visit(browser, server) -> Iterator[Visit]:
    page = Visit(browser, server)
    yield page
    page.close()


def test_every_table_and_view_page_loads_with_its_descriptions(visit, synced):
    tables = datasette_metadata("hub")["databases"]["hub"]["tables"]
    for name, entry in tables.items():
        if entry.get("hidden"):
            continue
        page = visit.go(f"/hub/{name}")
        assert entry["description"] in page.inner_text(".metadata-description"), name
    page = visit.go("/hub/models")
    assert page.locator("table.rows-and-columns tbody tr").count() > 0


@pytest.mark.parametrize("name", ["models", "models_current", "datasets", "spaces", "model_stats"])
def test_a_table_page_shows_rows_on_its_first_screen_and_each_column_description_on_hover(visit, name):
    page = visit.go(f"/hub/{name}")
    first = page.locator("table.rows-and-columns tbody tr").first.bounding_box()
    assert first["y"] + first["height"] <= page.viewport_size["height"], f"the first row starts at {first['y']} px"
    column = next(iter(described_tables()[name].c))
    header = page.locator(f"table.rows-and-columns th[data-column='{column.name}']")
    header.hover()
    shown = header.evaluate("th => getComputedStyle(th, '::after').content")
    assert shown == json.dumps(column.doc, ensure_ascii=False)


def _sqlite_rows(path: Path, sql: str) -> list[list]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return [list(row) for row in conn.execute(sql, {"model_id": ""})]


@pytest.mark.parametrize("name", list(QUERIES))
def test_each_canned_query_returns_what_sqlite3_returns(visit, synced, name):
    page = visit.go(f"/hub/{name}")
    assert QUERIES[name].title in page.inner_text("h1")
    shown = page.locator("table.rows-and-columns tbody tr").count()
    expected = _sqlite_rows(synced, QUERIES[name].sql)
    assert shown == len(expected)
    response = visit.page.request.get(f"{visit.base}/hub/{name}.json?_shape=array&model_id=")
    got = [list(row.values()) for row in response.json()]
    assert got == expected
    if name != "new_text_generation_models_this_week":  # the emulator's repos are older than a week
        assert expected, f"{name} answers nothing on the emulator's catalog"


def test_search_finds_a_known_repo_through_the_index(visit, synced):
    [(repo_id, author)] = _sqlite_rows(synced, "SELECT id, author FROM models_current WHERE id GLOB '*/*' "
                                               "AND id NOT GLOB '*[^a-z0-9/-]*' ORDER BY downloads DESC LIMIT 1")
    page = visit.go("/hub/models_current")
    page.fill("input[name=_search]", repo_id.split("/")[1])
    page.locator("input[name=_search]").press("Enter")
    page.wait_for_load_state()
    assert "_search=" in page.url
    assert repo_id in page.inner_text("table.rows-and-columns")
    page = visit.go(f"/hub/models?_search={author}")
    ids = page.locator("table.rows-and-columns tbody td.col-id").all_inner_texts()
    assert any(i.startswith(author + "/") for i in ids), f"no repo of {author} among {ids}"


@pytest.mark.parametrize("kind", ["models", "datasets", "spaces"])
def test_a_card_with_a_script_and_an_onerror_image_shows_as_text_and_runs_nothing(visit, synced, kind):
    """Card text is untrusted: searched and shown, its markup is text. `close` fails on any
    console error or dialog (alert(1) would open one)."""
    [(repo_id, card)] = _sqlite_rows(synced, f"SELECT repo_id, card FROM {kind}_search WHERE card LIKE '%<script>%'")
    assert "<img src=x onerror=alert(1)>" in card
    page = visit.go(f"/hub/{kind}_search?_search=onerror")
    shown = page.inner_text("table.rows-and-columns")
    assert "<script>alert(1)</script>" in shown and "<img src=x onerror=alert(1)>" in shown
    assert page.locator("table.rows-and-columns script, table.rows-and-columns img").count() == 0
    page = visit.go(f"/hub/{kind}?_search=onerror+alert")
    assert repo_id in page.inner_text("table.rows-and-columns")
    page.wait_for_timeout(300)  # time for an injected script or image error to fire, if one had got in


def test_every_dashboard_chart_renders_marks(visit):
    page = visit.go("/-/dashboards")
    assert page.locator(f"a[href$='/-/dashboards/{DASHBOARD}']").count() == 1
    page = visit.go(f"/-/dashboards/{DASHBOARD}")
    for slug in CHARTS:
        marks = page.locator(f"#chart-{slug} svg g.role-mark path")
        marks.first.wait_for(state="attached", timeout=15_000)
        assert marks.count() > 0, f"chart {slug} drew nothing"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)
    for slug in CHARTS:
        page.locator(f"#chart-{slug}").screenshot(path=ARTIFACTS / f"chart-{slug}.png")


SAMPLE_TIME = re.compile(r"[A-Z][a-z]{2} \d{2}, \d{2}:\d{2}")  # Dec 07, 13:09


def x_axis_labels(page, slug: str, title: str) -> list[str]:
    axis = page.locator(f"#chart-{slug} svg g.role-axis").filter(has_text=title)
    axis.first.wait_for(state="attached", timeout=15_000)
    return axis.first.locator("g.role-axis-label text").all_text_contents()


def test_downloads_over_time_labels_its_samples_with_a_date_and_a_time(visit):
    page = visit.go(f"/-/dashboards/{DASHBOARD}")
    labels = x_axis_labels(page, "downloads-over-time", "sampled at")
    assert labels and all(SAMPLE_TIME.fullmatch(label) for label in labels), labels


@pytest.fixture(scope="module")
def one_sample(tmp_path_factory, make_module_hub) -> Iterator[str]:
    """`harvester serve` on a catalog with a single `--stats` run: one sample per model."""
    path = tmp_path_factory.mktemp("one-sample") / "hub.db"
    db = Catalog.sqlite(path)
    hub = make_module_hub(models=100, seed=5)
    sync(config(hub, db))
    sync(config(hub, db, lane="stats", top=20))
    db.dispose()
    with serving(path, search_every=SEARCH_EVERY) as url:
        yield url


def test_the_dashboard_draws_from_a_single_sample_with_sensible_axes_and_no_warning(browser, one_sample):
    visit = Visit(browser, one_sample)
    page = visit.go(f"/-/dashboards/{DASHBOARD}")
    labels = x_axis_labels(page, "downloads-over-time", "sampled at")
    assert labels and all(SAMPLE_TIME.fullmatch(label) for label in labels), labels
    for slug in CHARTS:
        page.locator(f"#chart-{slug} svg g.role-mark path").first.wait_for(state="attached", timeout=15_000)
    visit.close()


def test_a_sync_committed_while_serving_shows_on_the_next_page_and_in_search_soon_after(visit, synced, make_hub):
    """Read-only, not immutable: Datasette reads through SQLite's locks and WAL, so what a sync
    commits meanwhile shows at once; search finds it after the server's next refresh of the
    index (every SEARCH_EVERY seconds here). Last in the module: it changes the catalog."""
    count = "/hub.json?sql=SELECT+count(*)+AS+n+FROM+models_current&_shape=array"
    before = visit.page.request.get(visit.base + count).json()[0]["n"]
    hub = make_hub(models=800, datasets=200, spaces=100, seed=3)  # the corpus `synced` read
    added = hub.corpora["models"].add(25)
    sync(config(hub, Catalog.sqlite(synced)))
    assert visit.page.request.get(visit.base + count).json()[0]["n"] == before + 25
    visit.go("/hub/models_current")
    new = next(repo_id for repo_id in added if "/" in repo_id)
    searched = f"{visit.base}/hub/models.json?_search={urllib.parse.quote(new)}&_shape=array&_col=id"
    deadline = time.monotonic() + 30
    while new not in (found := [row["id"] for row in visit.page.request.get(searched).json()]):
        assert time.monotonic() < deadline, f"search never found {new!r} (last answer {found})"
        time.sleep(0.2)
