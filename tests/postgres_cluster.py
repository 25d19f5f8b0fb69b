"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temp directory, a free
port on 127.0.0.1, trust auth, stopped and deleted at the end.

PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` user (the OS
package creates it). Durability is off (``fsync``, ``synchronous_commit``, ``full_page_writes``):
a test kills harvester, never the server, so the server's own crash safety is not under test.

    with ThrowawayCluster() as cluster:
        url = cluster.create_database("test_1")  # postgresql+psycopg://postgres@127.0.0.1:PORT/test_1
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class ClusterError(RuntimeError):
    """The cluster could not be set up; the message says which step failed and why."""


def find_initdb() -> Path:
    """``initdb`` on PATH, else the newest under /usr/lib/postgresql (where Debian puts it)."""
    found = shutil.which("initdb")
    if found:
        return Path(found)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not candidates:
        raise ClusterError("initdb not found: install PostgreSQL (apt-get install -y postgresql)")
    return Path(candidates[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayCluster:
    """One PostgreSQL server of its own, for the length of a ``with`` block."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable  # benchmarks measure with the server's defaults: fsync on
        self.bin = find_initdb().parent
        self.user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="harvester-pg-"))
        self.port = _free_port()

    def _run(self, *args: str) -> None:
        try:
            subprocess.run(args, check=True, capture_output=True, text=True,
                           user=self.user.pw_uid if self.user else None,
                           group=self.user.pw_gid if self.user else None, cwd=self.root)
        except subprocess.CalledProcessError as exc:
            log = self.root / "server.log"
            detail = log.read_text()[-2000:] if log.exists() else ""
            raise ClusterError(f"{Path(args[0]).name} failed: {exc.stderr.strip()} {detail}") from None

    def start(self) -> ThrowawayCluster:
        if self.user:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        data = self.root / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--no-instructions")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.root / "server.log"),
                  "-w", "-t", "60", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh empty database; its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(ClusterError):
                self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ThrowawayCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
