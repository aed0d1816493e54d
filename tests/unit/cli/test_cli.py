"""The sealog command line, driven through main() so the real error boundary is exercised."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sealog.cli import main
from sealog.cli._common import exit_code_for
from sealog.crypto import SigningKey
from sealog.errors import EntryRejected


class Run:
    """Runs `sealog ...` in a folder and captures exit code, stdout and stderr."""

    def __init__(self, capsys, monkeypatch, folder: Path) -> None:
        self.capsys = capsys
        self.folder = folder
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
    return Run(capsys, monkeypatch, tmp_path)


@pytest.fixture
def ready(run):
    """A home with an owner 'acme' and a registered agent 'bot'."""
    assert run("init", "--origin", "example.com/cli")[0] == 0
    assert run("keys", "new", "acme")[0] == 0
    assert run("keys", "new", "bot")[0] == 0
    assert run("agents", "register", "bot", "--owner", "acme")[0] == 0
    return run


def test_init_creates_home_with_log_key(run, tmp_path):
    """`init` makes ./.sealog with a 0600 log key and prints the log's verifier key."""
    info = run.json("init", "--origin", "example.com/cli")
    assert info["origin"] == "example.com/cli"
    assert info["log_vkey"].startswith("example.com/cli+")
    key = tmp_path / ".sealog" / "log.key"
    assert key.stat().st_mode & 0o777 == 0o600


def test_init_twice_is_a_usage_error(run):
    """A second `init` in the same place refuses with exit 2 and keeps the first ledger."""
    run("init")
    code, _, err = run("init")
    assert code == 2
    assert "already lives" in err


def test_keys_new_list_show(run, tmp_path):
    """Keys are created 0600, listed by name, and shown with address, key and vkey line."""
    run("init", "--origin", "example.com/cli")
    made = run.json("keys", "new", "alice")
    assert made["address"].startswith("sl1")
    assert (tmp_path / ".sealog/keys/alice.key").stat().st_mode & 0o777 == 0o600
    assert run.json("keys", "list") == [{"name": "alice", "address": made["address"]}]
    shown = run.json("keys", "show", "alice")
    assert shown["vkey"].startswith("alice+")
    log = run.json("keys", "show", "log")
    assert log["name"] == "example.com/cli"


def test_keys_new_refuses_reserved_bad_and_duplicate_names(run):
    """'log', names with slashes and existing names are refused with exit 2."""
    run("init")
    assert run("keys", "new", "log")[0] == 2
    assert run("keys", "new", "../evil")[0] == 2
    run("keys", "new", "bob")
    code, _, err = run("keys", "new", "bob")
    assert code == 2
    assert "exists already" in err


def test_agents_register_and_show(ready):
    """A registered agent shows its owner and entry count; an unknown address exits 1."""
    bot = ready.json("agents", "show", "bot")
    acme = ready.json("keys", "show", "acme")
    assert bot["role"] == "agent"
    assert bot["owner"] == acme["address"]
    code, _, err = ready("agents", "show", "sl1" + "0" * 40)
    assert code == 1
    assert "no agent or owner" in err


def test_log_appends_and_prints_receipt(ready, tmp_path):
    """`log` hashes the content file, stores only the hash, and returns a durable receipt."""
    content = tmp_path / "reply.txt"
    content.write_text("Our pricing is confidential.")
    receipt = ready.json(
        "log", "post_reply", "--as", "bot", "--target", "forum://t/1",
        "--content-file", str(content), "--meta", "model=gpt", "--meta-json", '{"tokens": 12}',
    )  # fmt: skip
    assert receipt["index"] == 2
    assert receipt["tree_size"] == 3
    entries = ready.json("entries", "--agent", "bot")
    assert entries[0]["content_hash"].startswith("sha256:")
    assert entries[0]["metadata"] == {"model": "gpt", "tokens": 12}
    assert "confidential" not in (tmp_path / ".sealog/ledger.db").read_bytes().decode("latin-1")


def test_log_rejects_bad_input_with_exit_2(ready):
    """Bad content hashes, metadata and conflicting options exit 2 and store nothing."""
    before = ready.json("checkpoint")
    assert ready("log", "x", "--as", "bot", "--content-hash", "md5:abc")[0] == 2
    assert ready("log", "x", "--as", "bot", "--meta", "novalue")[0] == 2
    assert ready("log", "x", "--as", "bot", "--meta-json", "[1]")[0] == 2
    assert (
        ready("log", "x", "--as", "bot", "--content", "a", "--content-hash", "sha256:" + "0" * 64)[
            0
        ]
        == 2
    )
    assert ready("log", "x", "--as", "bot", "--content-file", "/nonexistent")[0] == 2
    assert ready("log", "x", "--as", "bot", "--meta-json", '{"price": 1.5}')[0] == 2
    assert ready.json("checkpoint") == before


def test_log_by_unregistered_key_is_refused(ready):
    """An identity that was never registered cannot write: exit 1, a one-line reason."""
    ready("keys", "new", "stranger")
    code, out, err = ready("log", "x", "--as", "stranger")
    assert code == 1
    assert "not registered" in err
    assert "Traceback" not in out + err


def test_checkpoint_prove_and_verify(ready, tmp_path):
    """Proofs print with their roots, and verify passes on an untouched ledger."""
    for n in range(5):
        ready("log", "trade", "--as", "bot", "--target", f"T{n}")
    cp = ready.json("checkpoint", "--out", str(tmp_path / "cp.txt"))
    assert cp["size"] == 7
    assert (tmp_path / "cp.txt").read_text() == cp["note"]
    inc = ready.json("prove", "inclusion", "3")
    assert inc["tree_size"] == 7
    assert inc["root"] == cp["root"]
    con = ready.json("prove", "consistency", "2", "7")
    assert con["new_root"] == cp["root"]
    report = ready.json("verify")
    assert report["ok"] is True
    assert report["total_entries"] == 7
    assert ready("verify", "--since-checkpoint", str(tmp_path / "cp.txt"))[0] == 0
    assert ready("prove", "inclusion", "99")[0] == 2


def test_verify_exits_1_on_tampering_and_names_the_entry(ready, tmp_path):
    """A byte changed in the database makes verify exit 1 with the entry located."""
    ready("log", "trade", "--as", "bot", "--target", "AAPL")
    db = sqlite3.connect(tmp_path / ".sealog/ledger.db")
    data = db.execute("SELECT data FROM entries WHERE idx = 2").fetchone()[0]
    db.execute("UPDATE entries SET data = ? WHERE idx = 2", (data.replace(b"AAPL", b"AAPX"),))
    db.commit()
    db.close()
    code, out, _ = ready("verify", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["chain_intact"] is False
    assert any(g["kind"] == "altered" and g["index"] == 2 for g in report["gaps"])


def test_export_and_verify_bundle_offline(ready, tmp_path):
    """A bundle verifies with no ledger, pinned to the log key; a wrong key fails."""
    ready("log", "trade", "--as", "bot", "--target", "AAPL")
    vkey = ready.json("keys", "show", "log")["vkey"]
    ready.json("export", "--agent", "bot", "--out", str(tmp_path / "b.json"))
    elsewhere = tmp_path / "auditor"
    elsewhere.mkdir()
    os.chdir(elsewhere)
    assert ready("verify", str(tmp_path / "b.json"), "--log-key", vkey)[0] == 0
    other = SigningKey.generate().public_key.vkey("example.com/cli")
    code, out, _ = ready("verify", str(tmp_path / "b.json"), "--log-key", other)
    assert code == 1
    assert "bad-checkpoint" in out
    malformed = "example.com/cli+00000000+AWqgsr8xXt0b4GlPOzl6vh9dwmSiMBtMlkhvFWJXQsfb"
    assert ready("verify", str(tmp_path / "b.json"), "--log-key", malformed)[0] == 2


def test_verify_bad_files_exit_2(ready, tmp_path):
    """Missing, binary, non-bundle and directory inputs exit 2 with a specific message."""
    (tmp_path / "junk.bin").write_bytes(os.urandom(512))
    (tmp_path / "list.json").write_text("[1, 2]")
    for path, words in [
        ("missing.json", "no bundle file"),
        ("junk.bin", "not a sealog bundle"),
        ("list.json", "not a sealog bundle"),
        (str(tmp_path), "directory"),
    ]:
        code, out, err = ready("verify", path)
        assert code == 2, path
        assert words in err
        assert "Traceback" not in out + err
    code, _, err = ready("verify", "--since-checkpoint", "missing.txt")
    assert code == 2


def test_commands_without_a_home_say_how_to_make_one(run):
    """With no ledger anywhere up the tree, commands exit 1 and suggest `sealog init`."""
    code, _, err = run("entries")
    assert code == 1
    assert "sealog init" in err


def test_home_option_and_env_var_select_the_ledger(run, tmp_path, monkeypatch):
    """--home and SEALOG_HOME point commands at a ledger elsewhere."""
    home = tmp_path / "elsewhere"
    assert run("--home", str(home), "init")[0] == 0
    assert run("--home", str(home), "verify")[0] == 0
    monkeypatch.setenv("SEALOG_HOME", str(home))
    assert run("verify")[0] == 0


def test_debug_shows_traceback(run):
    """--debug adds the traceback to the one-line error."""
    code, _, err = run("--debug", "entries")
    assert code == 1
    assert "Traceback" in err


def test_unknown_command_is_usage_error(run):
    """An unknown command exits 2."""
    assert run("bogus")[0] == 2


def test_demo_runs_every_story(run):
    """`sealog demo` completes with every check held."""
    code, out, _ = run("demo")
    assert code == 0, out
    assert "every check held" in out


def test_console_script_runs_in_a_subprocess(tmp_path):
    """The installed `sealog` entry point works as a real process (exit codes included)."""
    exe = Path(sys.executable).parent / "sealog"
    env = {**os.environ, "SEALOG_HOME": str(tmp_path / ".sealog")}
    made = subprocess.run([exe, "init"], env=env, capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    shown = subprocess.run(
        [exe, "agents", "show", "sl1" + "1" * 40],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 1
    assert shown.stderr.count("\n") == 1


def test_verify_one_entry(ready):
    """`verify --entry` checks one entry's signature, chain and inclusion, by index or id."""
    receipt = ready.json("log", "trade", "--as", "bot", "--target", "AAPL")
    by_index = ready.json("verify", "--entry", str(receipt["index"]))
    assert by_index["ok"] is True
    assert by_index["proof"]["tree_size"] == receipt["tree_size"]
    assert ready.json("verify", "--entry", receipt["id"])["index"] == receipt["index"]
    assert ready("verify", "--entry", "999")[0] == 1
    assert ready("verify", "--entry", "not-an-id")[0] == 2


def test_refusals_of_well_formed_entries_exit_1_malformed_exit_2():
    """Every code the log uses to refuse a well-formed entry maps to 1; malformed input to 2."""
    for code in ("time-regressed", "policy-version", "replayed-seq", "not-allowed"):
        assert exit_code_for(EntryRejected("no", code=code)) == 1
    for code in ("not-canonical", "bad-field", "too-large", "unknown-kind"):
        assert exit_code_for(EntryRejected("bad", code=code)) == 2
