"""A token never shows up in any output, log, catalog file or error, however it was given."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PLANTED = "hf_PLANTEDsecretToken0123456789abcdef"


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harvester", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize("how", ["flag", "environment", "stored-login"])
def test_a_planted_token_never_leaks(tmp_path, db, how, make_hub):
    home = tmp_path / "hf-home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
    env |= {"HF_HOME": str(home), "HARVESTER_DB": str(db), "HF_DEBUG": "1"}
    token_args: list[str] = []
    if how == "flag":
        token_args = ["--token", PLANTED]
    elif how == "environment":
        env["HF_TOKEN"] = PLANTED
    else:
        (home / "token").write_text(PLANTED)

    hub = make_hub(models=300, seed=5, tokens={PLANTED})
    env["HF_ENDPOINT"] = hub.url
    outputs = [
        run_cli(["sync", "--page-size", "50", "--json", *token_args], env),
        run_cli(["status"], env),
        run_cli(["status", "--json"], env),
    ]
    hub.faults.add("truncate,after=1")
    outputs.append(run_cli(["sync", "--full", "--page-size", "50", "--retries", "2", *token_args], env))
    hub.faults.clear()
    hub.faults.add("foreign-link,times=1")
    outputs.append(run_cli(["sync", "--full", "--page-size", "50", *token_args], env))
    hub.faults.clear()
    outputs.append(run_cli(["sync", "--endpoint", "http://127.0.0.1:9", "--retries", "1", *token_args], env))
    sent_token = all(request.authorized for request in hub.listing_requests())

    assert sent_token, "the token was used"
    assert [o.returncode for o in outputs] == [0, 0, 0, 1, 1, 3], [o.stderr for o in outputs]
    assert "another host" in outputs[4].stderr
    for output in outputs:
        assert PLANTED not in output.stdout and PLANTED not in output.stderr
    assert not db.holds(PLANTED)


def test_credentials_in_an_endpoint_url_are_refused_without_echo(tmp_path):
    env = {**os.environ, "HARVESTER_DB": str(tmp_path / "hub.db")}
    result = run_cli(["sync", "--endpoint", f"https://user:{PLANTED}@hub.example"], env)
    assert result.returncode == 2 and "bad Hub endpoint" in result.stderr
    assert PLANTED not in result.stdout + result.stderr


def test_a_database_password_is_hidden_in_messages(tmp_path):
    env = {**os.environ}
    result = run_cli(["status", "--db", f"postgresql+psycopg://user:{PLANTED}@127.0.0.1:9/hub"], env)
    assert result.returncode == 1 and "user:***@127.0.0.1" in result.stderr
    assert PLANTED not in result.stdout + result.stderr
