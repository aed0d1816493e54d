"""`sealog apps`: apps, API keys shown once and stored hashed, owners bound; exit codes 0/1/2."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from sealog.cli import main
from sealog.errors import VerificationError
from sealog.tenancy import Tenants


class Run:
    """Runs `sealog ...` in a folder and captures exit code, stdout and stderr."""

    def __init__(self, capsys, monkeypatch, folder: Path) -> None:
        self.capsys = capsys
        monkeypatch.chdir(folder)
        monkeypatch.delenv("SEALOG_HOME", raising=False)

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(list(args))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def json(self, *args: str):
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def run(capsys, monkeypatch, tmp_path):
    """A home with an owner 'acme' and its registered agent 'bot'."""
    runner = Run(capsys, monkeypatch, tmp_path)
    assert runner("init", "--origin", "example.com/apps")[0] == 0
    for name in ("acme", "bot"):
        assert runner("keys", "new", name)[0] == 0
    assert runner("agents", "register", "bot", "--owner", "acme")[0] == 0
    return runner


def store(tmp_path: Path) -> Tenants:
    return Tenants(tmp_path / ".sealog" / "tenants.db")


def test_create_prints_a_working_key_once(run, tmp_path):
    """`apps create` prints the first key (shown once, hashed in a 0600 tenants.db) that works."""
    code, out, err = run("apps", "create", "shop")
    assert code == 0
    token = out.split()[-1]
    assert token.startswith("slk_")
    assert "shown once" in err
    path = tmp_path / ".sealog" / "tenants.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert token.split("_", 2)[2].encode() not in path.read_bytes()
    with store(tmp_path) as tenants:
        assert tenants.authenticate(token)[0].name == "shop"


def test_list_keys_and_revoke_as_json(run, tmp_path):
    """--json: create, keys new, keys list, revoke; a revoked key no longer authenticates."""
    made = run.json("apps", "create", "shop")
    extra = run.json("apps", "keys", "new", "shop")
    assert extra["api_key"].startswith(f"slk_{extra['id']}_")
    keys = run.json("apps", "keys", "list", made["id"])
    assert [k["id"] for k in keys] == [made["key_id"], extra["id"]]
    listed = run.json("apps", "list")
    assert [(a["name"], a["active_keys"]) for a in listed] == [("shop", 2)]
    revoked = run.json("apps", "keys", "revoke", extra["id"])
    assert revoked["revoked_at"] is not None
    assert run.json("apps", "list")[0]["active_keys"] == 1
    with store(tmp_path) as tenants, pytest.raises(VerificationError):
        tenants.authenticate(extra["api_key"])


def test_owners_add_by_key_name_or_address(run):
    """`apps owners add` binds an owner named by key or by address; its listing shows it."""
    run.json("apps", "create", "shop")
    run.json("apps", "create", "other")
    bound = run.json("apps", "owners", "add", "shop", "acme")
    assert bound["app"]["name"] == "shop"
    address = bound["owner"]
    assert run.json("apps", "owners", "list", "shop") == [address]
    assert run("apps", "owners", "add", "shop", address)[0] == 0
    code, _, err = run("apps", "owners", "add", "other", address)
    assert code == 2
    assert "belongs to" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("apps", "keys", "new", "nope"), 1),
        (("apps", "keys", "revoke", "0123456789abcdef"), 1),
        (("apps", "owners", "add", "nope", "acme"), 1),
        (("apps", "create", "bad name!"), 2),
        (("apps", "owners", "add", "shop", "bot"), 2),
        (("apps", "owners", "add", "shop", "sl1zz"), 2),
        (("apps", "owners", "add", "shop", "nobody"), 1),
    ],
)
def test_unknown_is_1_and_bad_input_is_2_in_one_line(run, args, code):
    """Unknown apps and keys exit 1; bad names, an agent as owner, a bad address exit 2."""
    run.json("apps", "create", "shop")
    got, _, err = run(*args)
    assert got == code, err
    assert len(err.strip().splitlines()) == 1


def test_a_taken_name_is_refused(run):
    """Creating an app under a taken name exits 2 and leaves one app."""
    run.json("apps", "create", "shop")
    assert run("apps", "create", "shop")[0] == 2
    assert len(run.json("apps", "list")) == 1


def test_plain_output_lists_apps(run):
    """Without --json, `apps list` prints a table naming each app."""
    assert "no apps yet" in run("apps", "list")[1]
    run.json("apps", "create", "shop")
    code, out, _ = run("apps", "list")
    assert code == 0
    assert "shop" in out
