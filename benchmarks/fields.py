"""What each field group costs: listing bytes per page and per row, and crawl CPU and catalog
bytes per row for core only, the default groups and every group.

    python benchmarks/fields.py                    # 200,000 models
    python benchmarks/fields.py --models 20000     # a quick run

Not a test. One emulator serves every contender. Bytes: each group's fields on top of core, over
a walk of the whole corpus in creation order (pages of 1,000). Crawl: `harvester sync --fields
<choice> --verify-pages 0` into a new SQLite file, a process of its own, CPU (user + system)
read with ``wait4``; bytes per row: the file after its final checkpoint, over the rows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from huggingface_hub.utils import get_session

from harvester.emulator import HubEmulator
from harvester.kinds import KINDS


def page_bytes(endpoint: str, kind: str, fields: tuple[str, ...]) -> tuple[int, int, int]:
    """Bytes, pages and rows of a walk of ``kind`` asking for ``fields``."""
    session = get_session()
    params = [("sort", "createdAt"), *(("expand", name) for name in fields), ("limit", "1000")]
    response = session.get(f"{endpoint}/api/{kind}", params=params, timeout=300)
    total = pages = rows = 0
    while True:
        response.raise_for_status()
        total, pages, rows = total + len(response.content), pages + 1, rows + len(response.json())
        url = response.links.get("next", {}).get("url")
        if not url:
            return total, pages, rows
        response = session.get(url, timeout=300)


def crawl(endpoint: str, fields: str, where: Path) -> tuple[float, float, int]:
    """CPU seconds, wall seconds and catalog bytes per row of a crawl asking for ``fields``."""
    db = where / f"{fields.replace(',', '_')}.db"
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "harvester", "sync", "--db", str(db), "--endpoint", endpoint,
                                "--fields", fields, "--verify-pages", "0", "--quiet"])
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    assert status == 0, f"the crawl with --fields {fields} failed"
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT count(*) FROM models").fetchone()[0]
    return usage.ru_utime + usage.ru_stime, wall, db.stat().st_size // max(rows, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200_000)
    parser.add_argument("--others", type=int, default=20_000, help="datasets and spaces each, for their bytes")
    args = parser.parse_args()
    with HubEmulator(models=args.models, datasets=args.others, spaces=args.others, seed=1) as hub:
        print(f"listing bytes ({args.models:,} models, {args.others:,} datasets and spaces; pages of 1,000)")
        for kind, spec in KINDS.items():
            core, pages, rows = page_bytes(hub.url, kind, spec.core_fields)
            print(f"  {kind} core: {core / pages:,.0f} B per page, {core / rows:,.0f} B per row")
            for name, group in spec.field_groups.items():
                if name == "core":
                    continue
                total, pages, rows = page_bytes(hub.url, kind, (*spec.core_fields, *group.fields))
                print(f"  {kind} +{name}: {total / pages:,.0f} B per page, +{(total - core) / rows:,.0f} B per row"
                      f" ({'default' if group.default else 'not default'})")
            total, pages, rows = page_bytes(hub.url, kind, spec.fields_of(tuple(spec.field_groups)))
            print(f"  {kind} every group: {total / pages:,.0f} B per page, {total / rows:,.0f} B per row")
        print(f"crawl of {args.models:,} models")
        with tempfile.TemporaryDirectory() as where:
            for fields in ("core", "default", "all"):
                cpu, wall, per_row = crawl(hub.url, fields, Path(where))
                print(f"  --fields {fields}: {cpu:.1f} s CPU, {wall:.1f} s wall, {per_row:,} B per row")


if __name__ == "__main__":
    main()
