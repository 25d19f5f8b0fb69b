"""Helpers shared by the sync tests: a config against the emulator, and the catalog read back."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from harvester.config import SyncConfig
from harvester.emulator import HubEmulator

PAGE = 50


def config(hub: HubEmulator, db: Path, **overrides) -> SyncConfig:
    values = {"db_url": f"sqlite:///{db}", "endpoint": hub.url, "page_size": PAGE, "retry_wait": 0.01}
    return SyncConfig(**(values | overrides))


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def expected_catalog(hub: HubEmulator) -> dict[str, tuple]:
    """The corpus as catalog rows, computed from the emulator's columns, not from our mapping."""
    c = hub.corpora["models"]
    return {
        c.ids[j]: (c.hub_id(j), c.author(j), c.sha(j), iso(c.created[j]), iso(c.modified[j]), c.gated_value(j) or None,
                   bool(c.disabled[j]), c.downloads[j], c.downloads_all[j], c.likes[j], float(c.trending[j]),
                   c.category_value(j), c.library_value(j), c.license_value(j), tuple(sorted(c.tags(j))))
        for j in c.live()
    }


def catalog(db: Path) -> dict[str, tuple]:
    with sqlite3.connect(db) as conn:
        tags: dict[str, list[str]] = {}
        for model_id, tag in conn.execute("SELECT model_id, tag FROM model_tags"):
            tags.setdefault(model_id, []).append(tag)
        rows = conn.execute(
            "SELECT id, hub_id, author, sha, created_at, last_modified, gated, disabled, downloads, downloads_all_time,"
            " likes, trending_score, pipeline_tag, library_name, license FROM models WHERE deleted_at IS NULL")
        return {row[0]: (*row[1:7], bool(row[7]), *row[8:], tuple(sorted(tags.get(row[0], [])))) for row in rows}


def assert_catalog_equals_corpus(hub: HubEmulator, db: Path) -> None:
    expected, got = expected_catalog(hub), catalog(db)
    assert set(got) == set(expected)
    wrong = [key for key in expected if got[key] != expected[key]]
    assert not wrong, f"{len(wrong)} rows differ, e.g. {wrong[0]}: {got[wrong[0]]} != {expected[wrong[0]]}"


def runs(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM sync_runs ORDER BY id")]


def wait_for_pages(db: Path, pages: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if runs(db) and runs(db)[-1]["pages"] >= pages:
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"the sync did not reach {pages} pages")
