"""How fast `harvester serve` answers on a large catalog: each page a person opens, each chart's
query, and the dashboard in a real browser until every chart has drawn.

    python benchmarks/serve.py                          # 1,000,000 models (a few minutes to build)
    python benchmarks/serve.py --models 100000          # a quicker run
    python benchmarks/serve.py --db /tmp/big/hub.db     # reuse a catalog built by an earlier run (--keep)

Not a test. Builds a catalog from the emulator (its walk, then `sync --stats --top 10000` three
times with counters moved in between, so model_stats has samples), starts `harvester serve` as a
process of its own, and times each URL with a cold and a warm request (the first pays for
SQLite's page cache). Needs the [serve] extra, and Chromium for the browser row.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from harvester.emulator import HubEmulator
from harvester.serve import CHARTS, DASHBOARD, QUERIES, dashboard

STATS_RUNS = 3
TOP = 10_000


def build(db: Path, models: int) -> None:
    """A catalog of ``models`` models with ``STATS_RUNS`` counter samples of the busiest ``TOP``."""
    with HubEmulator(models=models, seed=1) as hub:
        started = time.perf_counter()
        harvester = [sys.executable, "-m", "harvester", "sync", "--db", str(db), "--endpoint", hub.url, "--quiet"]
        subprocess.run([*harvester, "--verify-pages", "0"], check=True)
        for _ in range(STATS_RUNS):
            subprocess.run([*harvester, "--stats", "--top", str(TOP)], check=True)
            hub.corpora["models"].bump_counters(TOP // 2)
        print(f"built {models:,} models in {time.perf_counter() - started:.0f} s "
              f"({db.stat().st_size / 1e6:,.0f} MB)", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        response.read()
        assert response.status == 200, url
    return time.perf_counter() - started


def browser_seconds(base: str) -> float | None:
    """Opening the dashboard in headless Chromium until every chart has drawn its marks."""
    chromium = shutil.which("chromium")
    if not chromium:
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        started = time.perf_counter()
        page.goto(f"{base}/-/dashboards/{DASHBOARD}")
        for slug in CHARTS:
            page.locator(f"#chart-{slug} svg g.role-mark path").first.wait_for(state="attached", timeout=120_000)
        seconds = time.perf_counter() - started
        browser.close()
    return seconds


def measure(db: Path) -> None:
    name = db.stem
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "harvester", "serve", "--db", str(db), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                timed(f"{base}/-/versions.json")
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit("harvester serve did not start") from None
                time.sleep(0.2)
        print(f"serve ready in {time.perf_counter() - started:.1f} s (search index built or refreshed)")
        pages = {
            "dashboard page (HTML)": f"/-/dashboards/{DASHBOARD}",
            "table models": f"/{name}/models",
            "table models_current": f"/{name}/models_current",
            "table model_stats": f"/{name}/model_stats",
            "view base_model_counts": f"/{name}/base_model_counts",
            "search models_current": f"/{name}/models_current?_search=llama",
            **{f"query {q}": f"/{name}/{q}" for q in QUERIES},
            **{f"chart {slug} (its query)": f"/{name}.json?" + urllib.parse.urlencode(
                {"sql": chart["query"], "_shape": "objects"}) for slug, chart in dashboard(name)["charts"].items()},
        }
        print(f"{'page':<58} {'cold s':>7} {'warm s':>7}")
        for label, path in pages.items():
            cold, warm = timed(base + path), timed(base + path)
            print(f"{label:<58} {cold:>7.2f} {warm:>7.2f}", flush=True)
        seconds = browser_seconds(base)
        if seconds is not None:
            print(f"{'dashboard in Chromium, until every chart has drawn':<58} {seconds:>7.2f}")
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="a catalog to serve; built there first if it does not exist")
    args = parser.parse_args()
    if args.db:
        if not args.db.exists():
            build(args.db, args.models)
        measure(args.db)
        return
    with tempfile.TemporaryDirectory(prefix="harvester-serve-") as tmp:
        db = Path(tmp) / "hub.db"
        build(db, args.models)
        measure(db)


if __name__ == "__main__":
    main()
