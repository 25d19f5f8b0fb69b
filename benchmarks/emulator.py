"""How fast the emulator serves, and how much memory it needs, as a separate process.

    python benchmarks/emulator.py --models 1000000

Starts `harvester emulator`, reads its resident memory once the corpus is built, then walks the
whole listing at page size 1000 with the huggingface_hub client's session (default fields, then
the fields the catalog asks for) and reports rows/s. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from huggingface_hub.utils import get_session

CATALOG_EXPAND = ["author", "sha", "lastModified", "createdAt", "private", "gated", "disabled", "downloads",
                  "downloadsAllTime", "likes", "trendingScore", "tags", "pipeline_tag", "library_name"]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


def crawl(url: str, params: list[tuple[str, str]]) -> tuple[int, int, float]:
    session = get_session()
    started = time.perf_counter()
    response = session.get(f"{url}/api/models", params=params, timeout=120)
    rows = pages = 0
    while True:
        response.raise_for_status()
        rows += len(response.json())
        pages += 1
        next_url = response.links.get("next", {}).get("url")
        if not next_url:
            return rows, pages, time.perf_counter() - started
        response = session.get(next_url, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    emulator = subprocess.Popen([sys.executable, "-m", "harvester", "emulator", "--models", str(args.models)],
                                stdout=subprocess.PIPE, text=True)
    try:
        url = emulator.stdout.readline().strip()
        ready = time.perf_counter() - started
        print(f"emulator with {args.models:,} models ready in {ready:.1f} s, RSS {rss_mb(emulator.pid):.0f} MB")
        for label, params in [("default fields", [("limit", "1000")]),
                              ("catalog expand", [("limit", "1000")] + [("expand", e) for e in CATALOG_EXPAND])]:
            rows, pages, seconds = crawl(url, params)
            print(f"{label:>15}: {rows:,} rows in {pages:,} pages, {seconds:.1f} s, {rows / seconds:,.0f} rows/s")
        print(f"emulator peak RSS {rss_mb(emulator.pid, 'VmHWM'):.0f} MB (indexes built for the sorts used)")
    finally:
        emulator.terminate()
        emulator.wait()


if __name__ == "__main__":
    main()
