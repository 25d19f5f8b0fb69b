"""Helpers shared by the sync tests: a config against the emulator, and the catalog read back."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from catalog import Catalog, sqlite_shaped
from harvester.config import SyncConfig
from harvester.emulator import HubEmulator

PAGE = 50

MakeHub = Callable[..., HubEmulator]  # the `make_hub` fixture: corpus sizes, seed, faults -> a started emulator


def config(hub: HubEmulator, db: Catalog, **overrides) -> SyncConfig:
    values = {"db_url": db.url, "endpoint": hub.url, "page_size": PAGE, "retry_wait": 0.01}
    return SyncConfig(**(values | overrides))


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _runtime(c, j: int) -> dict:
    from harvester.emulator.items import PROPERTIES

    return PROPERTIES["runtime"](c, j)


# Per kind: catalog column -> its value computed from the emulator's corpus (not from our mapping).
COMMON = {
    "hub_id": lambda c, j: c.hub_id(j), "author": lambda c, j: c.author(j), "sha": lambda c, j: c.sha(j),
    "created_at": lambda c, j: iso(c.created[j]), "last_modified": lambda c, j: iso(c.modified[j]),
    "disabled": lambda c, j: bool(c.disabled[j]), "likes": lambda c, j: c.likes[j],
    "trending_score": lambda c, j: float(c.trending[j]), "license": lambda c, j: c.license_value(j),
}
DOWNLOADS = {
    "gated": lambda c, j: c.gated_value(j) or None, "downloads": lambda c, j: c.downloads[j],
    "downloads_all_time": lambda c, j: c.downloads_all[j],
}
COLUMNS = {
    "models": {**COMMON, **DOWNLOADS, "pipeline_tag": lambda c, j: c.category_value(j),
               "library_name": lambda c, j: c.library_value(j)},
    "datasets": {**COMMON, **DOWNLOADS,
                 "description": lambda c, j: f"{c.ids[j].rsplit('/', 1)[-1]}: a synthetic dataset for offline trials."},
    "spaces": {**COMMON, "sdk": lambda c, j: c.category_value(j),
               "runtime_stage": lambda c, j: _runtime(c, j)["stage"],
               "hardware": lambda c, j: _runtime(c, j)["hardware"]["current"]},
}
TAG_KEYS = {"models": "model_id", "datasets": "dataset_id", "spaces": "space_id"}


def expected_catalog(hub: HubEmulator, kind: str = "models") -> dict[str, tuple]:
    """The corpus of one kind as catalog rows: the columns of COLUMNS[kind], then sorted tags."""
    c = hub.corpora[kind]
    columns = COLUMNS[kind]
    return {c.ids[j]: (*(value(c, j) for value in columns.values()), tuple(sorted(c.tags(j)))) for j in c.live()}


def catalog(db: Catalog, kind: str = "models") -> dict[str, tuple]:
    """The catalog's live rows of one kind, shaped like ``expected_catalog``."""
    names = list(COLUMNS[kind])
    tags: dict[str, list[str]] = {}
    for repo_id, tag in db.rows(f"SELECT {TAG_KEYS[kind]}, tag FROM {kind[:-1]}_tags"):
        tags.setdefault(repo_id, []).append(tag)
    return {
        row[0]: (*(bool(v) if name == "disabled" else v for name, v in zip(names, row[1:], strict=True)),
                 tuple(sorted(tags.get(row[0], []))))
        for row in db.rows(f"SELECT id, {', '.join(names)} FROM {kind} WHERE deleted_at IS NULL")
    }


def assert_catalog_equals_corpus(hub: HubEmulator, db: Catalog, kind: str = "models") -> None:
    expected, got = expected_catalog(hub, kind), catalog(db, kind)
    assert set(got) == set(expected)
    wrong = [key for key in expected if got[key] != expected[key]]
    assert not wrong, f"{len(wrong)} rows differ, e.g. {wrong[0]}: {got[wrong[0]]} != {expected[wrong[0]]}"


def assert_raw_agrees_with_columns(db: Catalog, kind: str = "models") -> None:
    """Every row's columns and tags are what its item (the view ``<kind>_raw``) maps to, in the
    item's tag order: no lane left them apart."""
    from harvester.mapping import map_item

    names = [name for name in COLUMNS[kind] if name != "disabled"] + ["disabled", "private", "card_data"]
    one = kind[:-1]
    tags: dict[str, list[str]] = {}
    for repo_id, tag in db.rows(f"SELECT r.id, n.tag FROM {one}_tag_keys t JOIN {kind} r ON r.row_key = t.{one}_key "
                                f"JOIN tag_names n ON n.id = t.tag_id ORDER BY r.id, t.position"):
        tags.setdefault(repo_id, []).append(tag)
    columns = ", ".join(f"r.{name}" for name in names)
    rows = db.records(f"SELECT r.id, CAST(v.raw AS TEXT) AS raw, {columns} "
                      f"FROM {kind} r JOIN {kind}_raw v ON v.id = r.id")
    assert rows
    for row in rows:
        mapped = map_item(kind, json.loads(row["raw"]))
        expected = {name: mapped.row[name] if name == "card_data" else sqlite_shaped(mapped.row[name])
                    for name in names}
        got = {name: json.loads(row[name]) if name == "card_data" and row[name] else row[name] for name in names}
        assert got == expected, f"{row['id']}: the columns contradict raw: {got} != {expected}"
        assert tags.get(row["id"], []) == mapped.tags, f"{row['id']}: the tags contradict raw"


def runs(db: Catalog) -> list[dict]:
    return db.records("SELECT * FROM sync_runs ORDER BY id")


def wait_for_pages(db: Catalog, pages: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if runs(db) and runs(db)[-1]["pages"] >= pages:
                return
        except SQLAlchemyError:  # not created yet, or busy
            pass
        time.sleep(0.02)
    raise AssertionError(f"the sync did not reach {pages} pages")


def sigkill_after(process, db: Catalog, pages: int) -> None:
    """SIGKILL a `harvester sync` subprocess once its run has committed ``pages`` pages."""
    import signal

    wait_for_pages(db, pages)
    process.send_signal(signal.SIGKILL)
    process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(path: Path, *, search_every: float = 0) -> Iterator[str]:
    """`harvester serve` on the catalog at ``path``, as a process of its own, until the block
    ends; its base URL, once it answers."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "harvester", "serve", "--db", str(path), "--port", str(port),
                                "--search-every", str(search_every)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/-/versions.json", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"harvester serve did not start: {process.stdout.read()}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
