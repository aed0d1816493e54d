"""`sealog policy check` and `sealog policy explain`, through main()."""

from __future__ import annotations

import json
from pathlib import Path

from sealog.cli import main

FULL = Path(__file__).parents[2] / "assets" / "policies" / "native" / "full.yaml"


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_accepts_a_valid_policy(capsys):
    """A valid policy exits 0 and reports its shape, rule count and hash."""
    code, out, _ = run(capsys, "policy", "check", str(FULL), "--json")
    info = json.loads(out)
    assert code == 0
    assert info["ok"] is True
    assert info["shape"] == "native"
    assert info["hash"].startswith("sha256:")


def test_check_lists_every_problem_with_file_line_and_key(capsys, tmp_path):
    """An invalid policy exits 2 and names each problem's file, line and key path."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("forbiden_tools: [Bash]\nbudget:\n  max_cost_per_session: ten\n")
    code, _, err = run(capsys, "policy", "check", str(bad))
    assert code == 2
    assert "bad.yaml:1: forbiden_tools: unknown key; did you mean forbidden_tools?" in err
    assert "bad.yaml:3: budget.max_cost_per_session" in err
    assert "Traceback" not in err


def test_check_json_reports_problems(capsys, tmp_path):
    """With --json, the problems are listed in the JSON answer as well."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"allowed_actions": ["post"], "max_actions_per_hour": "lots"}')
    code, out, _ = run(capsys, "policy", "check", str(bad), "--json")
    assert code == 2
    assert json.loads(out)["ok"] is False


def test_check_missing_file_is_bad_input(capsys, tmp_path):
    """A missing file exits 2 with a one-line reason."""
    code, _, err = run(capsys, "policy", "check", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "cannot read policy" in err


def test_explain_says_every_limit_in_words(capsys):
    """`explain` prints the policy's limits in plain words, budget included."""
    code, out, _ = run(capsys, "policy", "explain", str(FULL))
    assert code == 0
    assert "Cost at most $10.00 per session" in out
    explained = json.loads(run(capsys, "policy", "explain", str(FULL), "--json")[1])
    assert explained["explanation"][0].startswith("Policy 3")


def test_set_show_and_history_through_the_cli(capsys, tmp_path, monkeypatch):
    """`policy set` seals versions; `show` prints one as sealed; `history` lists them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEALOG_HOME", raising=False)
    for args in (["init"], ["keys", "new", "acme"], ["keys", "new", "bot"]):
        assert run(capsys, *args)[0] == 0
    assert run(capsys, "agents", "register", "bot", "--owner", "acme")[0] == 0
    code, out, _ = run(
        capsys, "policy", "set", str(FULL), "--agent", "bot", "--owner", "acme", "--json"
    )
    assert code == 0
    assert json.loads(out)["version"] == 1
    assert run(capsys, "policy", "set", str(FULL), "--agent", "bot", "--owner", "bot")[0] == 2
    shown = json.loads(run(capsys, "policy", "show", "bot", "--json")[1])
    assert shown["document"] == FULL.read_text()
    history = json.loads(run(capsys, "policy", "history", "bot", "--json")[1])
    assert [v["version"] for v in history] == [1]
    assert run(capsys, "policy", "show", "bot", "--version", "7")[0] == 1
    assert json.loads(run(capsys, "agents", "show", "bot", "--json")[1])["policy_version"] == 1
