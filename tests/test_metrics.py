"""`harvester status --format openmetrics`: the status report as Prometheus metrics, checked against
the run records of real syncs on both backends, and the README's Monitoring recipe run as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import text_string_to_metric_families as prometheus_text_families

from harvester.cli import main
from harvester.errors import HubUnavailable
from harvester.sync import sync, sync_kind
from helpers import config, runs

README = Path(__file__).resolve().parent.parent / "README.md"


def monitoring_section() -> str:
    text = README.read_text()
    start = text.index("## Monitoring")
    return text[start:text.index("\n## ", start + 1)]


@pytest.fixture
def hub(make_hub):
    """An emulator of each test's own: the tests here change its corpus or its faults."""
    return make_hub(models=300, seed=13)


def exposition(db) -> str:
    result = CliRunner().invoke(main, ["status", "--db", db.url, "--format", "openmetrics"])
    assert result.exit_code == 0, result.output
    return result.stdout


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(found: dict, name: str, **labels: str) -> float:
    [sample] = [s for s in found[name].samples if s.name == name and s.labels == labels]
    return sample.value


def seconds(stored: str) -> float:
    """A time as the catalog helper reads it back ('YYYY-MM-DD HH:MM:SS.ffffff', UTC) as a Unix time."""
    return datetime.strptime(stored, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()


def test_metrics_say_what_the_run_records_and_the_lap_say(hub, db):
    sync(config(hub, db))  # the first walk, a full one (6 pages of 50): it read everything, so it was a lap
    list(sync_kind(config(hub, db, verify_pages=2)))  # the walk, then 2 pages of the lap
    hub.faults.add("503")
    for _ in range(2):
        with pytest.raises(HubUnavailable):
            sync(config(hub, db, attempts=1))
    hub.faults.clear()
    acquired = datetime.now(UTC) - timedelta(seconds=90)
    db.execute("INSERT INTO sync_locks (scope, owner, host, pid, run_id, ttl_seconds, acquired_at, expires_at) "
               "VALUES ('models', 'someone-else', 'elsewhere', 1, 99, 120, :acquired, :expires)",
               acquired=acquired, expires=datetime.now(UTC) + timedelta(seconds=600))

    text = exposition(db)
    assert text.endswith("# EOF\n")
    found = families(text)
    records = runs(db)
    [first, walk, lap, failed, _] = records
    assert (walk["scope"], lap["scope"], failed["status"], records[-1]["status"]) == (
        "models", "models:verify", "failed", "failed")

    for run in (lap, records[-1]):  # each scope's last run, value for value
        scope = {"scope": run["scope"]}
        for name in ("pages", "requests", "retries"):
            assert value(found, f"harvester_last_run_{name}", **scope) == run[name]
        assert value(found, "harvester_last_run_rows_read", **scope) == run["rows_seen"]
        for outcome in ("inserted", "updated", "unchanged", "rejected", "renamed", "deleted"):
            assert value(found, "harvester_last_run_rows", **scope, outcome=outcome) == run[f"rows_{outcome}"]
        assert value(found, "harvester_last_run_start_timestamp_seconds", **scope) == pytest.approx(
            seconds(run["started_at"]), abs=1e-3)
        assert value(found, "harvester_last_run_duration_seconds", **scope) == pytest.approx(
            seconds(run["finished_at"]) - seconds(run["started_at"]), abs=1e-3)
        for state in ("running", "ok", "failed", "interrupted", "abandoned"):
            assert value(found, "harvester_last_run_status", **scope, status=state) == (state == run["status"])
    assert lap["requests"] == 2 and lap["rows_unchanged"] == 100
    assert records[-1]["requests"] == 1 and records[-1]["status"] == "failed"

    assert value(found, "harvester_last_success_timestamp_seconds", scope="models") == pytest.approx(
        seconds(walk["finished_at"]), abs=1e-3)
    assert value(found, "harvester_failures_since_success", scope="models") == 2
    assert value(found, "harvester_failures_since_success", scope="models:verify") == 0
    assert value(found, "harvester_locked", scope="models") == 1
    assert value(found, "harvester_locked", scope="models:verify") == 0
    assert 90 <= value(found, "harvester_lock_holder_age_seconds", scope="models") < 150
    assert [s.labels for s in found["harvester_lock_holder_age_seconds"].samples] == [{"scope": "models"}]

    assert value(found, "harvester_live_rows", scope="models") == 300
    assert value(found, "harvester_unverified_rows", scope="models") == 0
    assert 0 <= value(found, "harvester_oldest_verified_age_seconds", scope="models") < 120
    assert value(found, "harvester_lap_pages_done", scope="models") == 2
    assert value(found, "harvester_lap_pages_left", scope="models") == 4  # (300 - 100 rows) / 50 a page
    assert value(found, "harvester_lap_runs_to_finish", scope="models") == 2
    assert value(found, "harvester_walk_unfinished", scope="models:verify") == 1
    assert value(found, "harvester_walk_pages", scope="models:verify") == 2
    assert value(found, "harvester_last_lap_finished_timestamp_seconds", scope="models") == pytest.approx(
        seconds(first["finished_at"]), abs=1e-3), "the full walk was the last lap that finished"

    # Time metrics carry their unit; every family is a gauge, which the Prometheus text format
    # (node_exporter's textfile collector) reads as well as OpenMetrics does.
    assert all(family.type == "gauge" and name.startswith("harvester_") for name, family in found.items())
    assert all(family.unit == "seconds" for name, family in found.items() if name.endswith("_seconds"))
    assert {family.name for family in prometheus_text_families(text)} == set(found)


def test_a_finished_lap_and_a_success_after_failures_reset_what_they_should(hub, db):
    hub.faults.add("503")
    with pytest.raises(HubUnavailable):
        sync(config(hub, db, attempts=1))
    found = families(exposition(db))
    assert value(found, "harvester_failures_since_success", scope="models") == 1
    assert "harvester_last_success_timestamp_seconds" not in found, "never succeeded: no sample, not a 0"
    hub.faults.clear()
    list(sync_kind(config(hub, db)))  # a full walk that read everything: a lap
    list(sync_kind(config(hub, db, verify_pages=10)))  # and the whole lap of 6 pages in one run
    found = families(exposition(db))
    assert value(found, "harvester_failures_since_success", scope="models") == 0
    finished = [run for run in runs(db) if run["scope"] == "models:verify"][-1]["finished_at"]
    assert value(found, "harvester_last_lap_finished_timestamp_seconds", scope="models") == pytest.approx(
        seconds(finished), abs=1e-3)
    assert value(found, "harvester_lap_pages_done", scope="models") == 0
    assert value(found, "harvester_locked", scope="models") == 0


def test_status_formats_and_the_json_alias(hub, db):
    sync(config(hub, db, max_pages=1))
    invoke = CliRunner().invoke
    as_json = invoke(main, ["status", "--db", db.url, "--json"])
    formatted = invoke(main, ["status", "--db", db.url, "--format", "json"])
    strip = [{**s, "seconds_since_success": None} for s in json.loads(as_json.stdout)]
    assert strip == [{**s, "seconds_since_success": None} for s in json.loads(formatted.stdout)]
    assert invoke(main, ["status", "--db", db.url, "--json", "--format", "json"]).exit_code == 0
    text = invoke(main, ["status", "--db", db.url])

    def undated(out: str) -> str:  # "started 0 s ago" may read "1 s ago" a moment later
        return re.sub(r"\d+ (s|min|h|d) ago", "N ago", out)

    assert undated(text.stdout) == undated(invoke(main, ["status", "--db", db.url, "--format", "text"]).stdout)
    assert text.stdout.startswith("models\n  last run 1 ok")
    clash = invoke(main, ["status", "--db", db.url, "--json", "--format", "openmetrics"])
    assert clash.exit_code == 2 and "--json is --format json" in clash.stderr


def test_without_prometheus_client_openmetrics_says_what_to_install(hub, tmp_path):
    from catalog import Catalog as CatalogReader

    db = CatalogReader.sqlite(tmp_path / "hub.db")
    sync(config(hub, db, max_pages=1))
    hide = "import sys; sys.modules['prometheus_client'] = None; from harvester.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", hide, "status", "--db", db.url, "--format", "openmetrics"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "pip install 'hf-harvester[metrics]'" in done.stderr and done.stdout == ""
    db.dispose()


def test_the_readmes_textfile_recipe_and_alert_rules_use_what_status_exports(hub, tmp_path):
    from catalog import Catalog as CatalogReader

    db = CatalogReader.sqlite(tmp_path / "hub.db")
    list(sync_kind(config(hub, db)))  # the first walk, which was a lap
    list(sync_kind(config(hub, db, verify_pages=10)))  # and a whole lap, so that every per-kind metric is there
    section = monitoring_section()
    [cron] = re.findall(r"```cron\n(.*?)```", section, re.DOTALL)
    [line] = [line for line in cron.splitlines() if line.startswith("*")]
    command = line.split(None, 5)[5].replace("/var/lib/node_exporter/textfile", str(tmp_path / "textfile"))
    (tmp_path / "textfile").mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "HARVESTER_DB": str(tmp_path / "hub.db")}
    for _ in range(2):  # the second run replaces the first's file
        subprocess.run(["sh", "-c", command], env=env, check=True)
    assert os.listdir(tmp_path / "textfile") == ["harvester.prom"], "the temporary file was renamed over it"
    text = (tmp_path / "textfile" / "harvester.prom").read_text()
    assert text.endswith("# EOF\n")
    exported = set(families(text)) | {"harvester_lock_holder_age_seconds"}  # shown only while a run holds a lock
    named = set(re.findall(r"harvester_[a-z_]+", section))
    assert named and named <= exported, f"the README names metrics status does not export: {named - exported}"
    [rules] = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert "harvester_last_success_timestamp_seconds" in rules and "harvester_failures_since_success >= 3" in rules
    db.dispose()
