"""Reading a catalog on a read-only mount: every reading command works where nothing beside the
file can be written, whether or not a writer left its ``-shm`` there.

The mounts are real (tmpfs, remounted read-only): root ignores file permissions, so a chmod would
prove nothing under CI, which runs as root. Run as another user, these tests skip; run as root,
a mount that cannot be made fails them.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from catalog import Catalog
from harvester.cli import main
from harvester.sync import sync
from helpers import config, serving

pytestmark = pytest.mark.sqlite_only
TOTALS = "SELECT count(*) AS n, sum(likes) AS likes FROM models"


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs at tmp_path/ro; the test copies a catalog in, then `remount` makes it read-only."""
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only file system needs root")
    where = tmp_path / "ro"
    where.mkdir()
    try:
        _run("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(where))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"running as root, but could not mount a tmpfs at {where}: {getattr(exc, 'stderr', exc)}")
    try:
        yield where
    finally:
        # lazily: a catalog engine of the in-process CLI may still hold the file open
        subprocess.run(["umount", "--lazy", str(where)], check=False)


def remount_read_only(where: Path) -> None:
    _run("mount", "-o", "remount,ro", str(where))
    with pytest.raises(OSError):
        (where / "probe").write_text("")


@pytest.fixture
def synced(hub, tmp_path: Path) -> Path:
    """A catalog synced from the emulator, its search index built."""
    path = tmp_path / "hub.db"
    db = Catalog.sqlite(path)
    sync(config(hub, db))
    db.dispose()
    assert CliRunner().invoke(main, ["search", "--db", str(path), "x"]).exit_code == 0
    with closing(sqlite3.connect(path)) as conn:  # all of it in the file itself, which the first test copies alone
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _one(path: Path, sql: str) -> tuple:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return conn.execute(sql).fetchone()


class Facts(NamedTuple):
    """What the reading commands should find, read from the writable original."""

    models: int
    likes: int
    repo_id: str
    author: str

    @classmethod
    def of(cls, path: Path) -> Facts:
        repo_id, author = _one(path, "SELECT id, author FROM models_current WHERE id GLOB '*/*' "
                                     "ORDER BY downloads DESC LIMIT 1")
        return cls(*_one(path, TOTALS), repo_id, author)


def assert_every_reading_command_works(path: Path, facts: Facts) -> None:
    db = ["--db", str(path)]
    commands = {
        "status": ["status", *db],
        "changes": ["changes", *db, "--limit", "3"],
        "query": ["query", *db, TOTALS, "--format", "json"],
        "export": ["export", *db, "models"],
        "search": ["search", *db, facts.author, "--json"],
        "tree": ["tree", *db, facts.repo_id],
        "uses": ["uses", *db, facts.repo_id],
    }
    out = {}
    for name, args in commands.items():
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, f"{name}: {result.stderr}"
        out[name] = result.stdout
    assert json.loads(out["query"]) == [{"n": facts.models, "likes": facts.likes}]
    assert out["export"].count("\n") == facts.models
    assert any(row["id"].startswith(facts.author + "/") for row in json.loads(out["search"]))


def assert_serve_answers(path: Path, facts: Facts) -> None:
    with serving(path) as base:
        for page in ("/hub/models", "/hub/models_current", "/-/dashboards/catalog"):
            with urllib.request.urlopen(base + page, timeout=30) as response:
                assert response.status == 200, page
        with urllib.request.urlopen(f"{base}/hub.json?sql={urllib.parse.quote(TOTALS)}&_shape=array",
                                    timeout=30) as response:
            assert json.load(response) == [{"n": facts.models, "likes": facts.likes}]


def test_every_reading_command_works_on_a_read_only_mount_with_no_shm_beside_the_file(synced, read_only_dir):
    facts = Facts.of(synced)
    shutil.copy(synced, read_only_dir / "hub.db")
    remount_read_only(read_only_dir)
    assert not (read_only_dir / "hub.db-shm").exists()
    assert_every_reading_command_works(read_only_dir / "hub.db", facts)
    assert_serve_answers(read_only_dir / "hub.db", facts)


def test_every_reading_command_works_on_a_read_only_mount_beside_a_writers_wal_and_shm(synced, read_only_dir):
    writer = sqlite3.connect(synced)  # holds the WAL open: its -wal and -shm stay beside the file
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("UPDATE models SET likes = likes + 1")  # a commit that is in the WAL alone
        writer.commit()
        facts = Facts.of(synced)
        for suffix in ("", "-wal", "-shm"):
            shutil.copy(f"{synced}{suffix}", read_only_dir / f"hub.db{suffix}")
    finally:
        writer.close()
    remount_read_only(read_only_dir)
    assert_every_reading_command_works(read_only_dir / "hub.db", facts)
    assert_serve_answers(read_only_dir / "hub.db", facts)
