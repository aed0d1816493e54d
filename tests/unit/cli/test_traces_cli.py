"""`sealog import`, `inspect` and `guard` through main(), on the real tools' fixtures."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sealog.cli import main
from sealog.ledger import Ledger

TRACES = Path(__file__).parents[2] / "assets/traces"
CODEX = TRACES / "codex/workspace_write.jsonl"
CLAUDE = TRACES / "claude_code/session_tools_denials_hooks.jsonl"
TRACEGATE = Path(__file__).parents[2] / "assets/policies/tracegate/policy.yaml"
FIXTURES = sorted(
    p
    for p in TRACES.rglob("*")
    if p.suffix in {".jsonl", ".json"} and ".meta." not in p.name and "exec-json" not in p.name
)
"""Every trace fixture (the subagent's .meta.json is not a trace; ``codex exec --json`` output
is kept for reference and not read: the rollout is Codex's record)."""


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_inspects_with_its_format_detected(capsys, path):
    """Each real fixture is detected, read without malformed lines, and has events."""
    code, out, err = run(capsys, "inspect", str(path), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["run"]["format"] == path.parent.name or path.parent.name == "generic"
    assert data["figures"]["events"] > 0
    assert data["input"]["malformed_lines"] == 0


def test_inspect_json_is_sanitized_and_include_raw_is_a_forensic_export(capsys):
    """--json carries no command text or evidence; --include-raw adds both and the events."""
    code, out, _ = run(capsys, "inspect", str(CODEX), "--json")
    assert code == 0
    assert "cat notes.txt" not in out
    assert all("evidence" not in f for f in json.loads(out)["findings"])
    code, out, _ = run(capsys, "inspect", str(CODEX), "--json", "--include-raw")
    data = json.loads(out)
    assert any(e.get("command") == "cat notes.txt" for e in data["events"])
    assert any("raw" in e for e in data["events"])


def test_inspect_text_names_access_counts_and_findings(capsys):
    """The terminal view shows the observed access, the shell count and the findings."""
    code, out, _ = run(capsys, "describe", str(CLAUDE))
    assert code == 0
    assert "observed access:" in out
    assert "shell commands" in out
    assert "findings" in out or "no findings" in out


def test_guard_fails_a_run_that_breaks_the_policy_in_every_output(capsys, tmp_path):
    """Exit 1 with text, JSON, SARIF 2.1.0 and GitHub annotations; the HTML page is written."""
    code, out, _ = run(capsys, "guard", str(CLAUDE), str(TRACEGATE))
    assert code == 1
    assert "FAIL" in out
    code, out, _ = run(capsys, "check", str(CLAUDE), str(TRACEGATE), "--json")
    verdict = json.loads(out)["guard"]
    assert (code, verdict["passed"]) == (1, False)
    assert verdict["violations"]
    code, out, _ = run(capsys, "guard", str(CLAUDE), str(TRACEGATE), "--sarif")
    sarif = json.loads(out)
    assert code == 1
    assert sarif["version"] == "2.1.0"
    (sarif_run,) = sarif["runs"]
    ids = {r["id"] for r in sarif_run["tool"]["driver"]["rules"]}
    for result in sarif_run["results"]:
        assert result["ruleId"] in ids
        assert result["level"] in {"error", "warning", "note", "none"}
        assert result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == str(CLAUDE)
        assert location.get("region", {"startLine": 1})["startLine"] >= 1
    code, out, _ = run(capsys, "guard", str(CLAUDE), str(TRACEGATE), "--github")
    assert code == 1
    assert out.splitlines()[0].startswith("::error file=")
    page = tmp_path / "report.html"
    code, _, _ = run(capsys, "policy", str(CLAUDE), str(TRACEGATE), "--html", str(page))
    assert code == 1
    text = page.read_text()
    assert "<table id=violations>" in text
    assert "<script" not in text


def test_guard_passes_a_run_within_its_policy(capsys, tmp_path):
    """A policy allowing everything the run did, with no limits it cannot check: exit 0."""
    policy = tmp_path / "open.yaml"
    policy.write_text("actions: {allow: ['*']}\n")
    code, out, err = run(capsys, "guard", str(CODEX), str(policy))
    assert code == 0, err
    assert "PASS" in out


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty"), (b"\x00\x01\x02\x03", "binary"), (b"just words\n", "JSON")],
)
def test_bad_traces_exit_2_with_the_reason(capsys, tmp_path, content, reason):
    """Empty files, binary garbage and non-JSON text: one line, exit 2, no traceback."""
    path = tmp_path / "t.jsonl"
    path.write_bytes(content)
    code, _, err = run(capsys, "inspect", str(path))
    assert code == 2
    assert reason in err
    assert "Traceback" not in err


def test_a_directory_a_wrong_format_and_a_bad_policy_exit_2(capsys, tmp_path):
    """Each is refused with a specific message."""
    code, _, err = run(capsys, "inspect", str(tmp_path))
    assert (code, "directory" in err) == (2, True)
    code, _, err = run(capsys, "inspect", str(CODEX), "--format", "claude_code")
    assert (code, "does not look like a claude_code trace" in err) == (2, True)
    code, _, err = run(capsys, "inspect", str(CODEX), "--format", "nope")
    assert (code, "unknown trace format" in err) == (2, True)
    policy = tmp_path / "typo.yaml"
    policy.write_text("forbiden_tools: [Bash]\n")
    code, _, err = run(capsys, "guard", str(CODEX), str(policy))
    assert code == 2
    assert "forbiden_tools" in err


def test_malformed_lines_are_reported_and_strict_makes_them_fatal(capsys, tmp_path):
    """A broken line is reported with file and line, the rest analysed; --strict exits 2."""
    lines = CODEX.read_text().splitlines()
    lines.insert(5, '{"type": "response_item", "payload": ')
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, out, _ = run(capsys, "inspect", str(path), "--json")
    data = json.loads(out)
    assert code == 0
    assert data["input"]["malformed_lines"] == 1
    assert data["input"]["problems"][0].startswith(f"{path}:6:")
    assert data["figures"]["shell_commands"] > 0
    code, _, err = run(capsys, "inspect", str(path), "--strict")
    assert code == 2
    assert f"{path}:6:" in err


def test_import_writes_the_normalized_run_and_seals_it(capsys, tmp_path, monkeypatch):
    """--out writes every event; --seal signs one entry per event whose hash is its line."""
    home = tmp_path / ".sealog"
    monkeypatch.setenv("SEALOG_HOME", str(home))
    assert run(capsys, "--home", str(home), "init")[0] == 0
    assert run(capsys, "keys", "new", "me")[0] == 0
    out_file = tmp_path / "run.json"
    code, _, err = run(capsys, "import", "codex", str(CODEX), "--out", str(out_file), "--seal",
                       "--owner", "me")  # fmt: skip
    assert code == 0, err
    document = json.loads(out_file.read_text())
    events = document["events"]
    assert document["format"] == "sealog-run/v1"
    assert document["run"]["format"] == "codex"
    lines = out_file.read_text().splitlines()[1 : 1 + len(events)]
    digests = ["sha256:" + hashlib.sha256(line.lstrip(",").encode()).hexdigest() for line in lines]
    with Ledger.open(home) as ledger:
        sealed = [s.entry.fields for s in ledger.entries() if s.entry.kind == "action"]
    assert sealed[0]["action"] == "trace.import"
    assert sealed[-1]["action"] == "trace.imported"
    assert sealed[-1]["metadata"]["events"] == len(events)
    assert [f["content_hash"] for f in sealed[1:-1]] == digests
    code, _, _ = run(capsys, "verify")
    assert code == 0


def test_import_without_a_key_to_seal_with_is_a_clear_refusal(capsys, tmp_path, monkeypatch):
    """--seal without --owner and no importer key: exit 2 saying what to do; nothing sealed."""
    home = tmp_path / ".sealog"
    monkeypatch.setenv("SEALOG_HOME", str(home))
    run(capsys, "--home", str(home), "init")
    code, _, err = run(capsys, "import", str(CODEX), "--seal")
    assert code == 2
    assert "--owner" in err


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_normalized_run_reads_back_to_the_same_figures(capsys, tmp_path, path):
    """import --out, then inspect of run.json: the same events, counts, tokens and findings."""
    out_file = tmp_path / "run.json"
    assert run(capsys, "import", str(path), "--out", str(out_file))[0] == 0
    _, original, _ = run(capsys, "inspect", str(path), "--json")
    code, again, err = run(capsys, "inspect", str(out_file), "--json")
    assert code == 0, err
    first, second = json.loads(original), json.loads(again)
    assert second["run"]["format"] == "sealog"
    for name in ("events", "by_kind", "shell_commands", "tools", "statuses", "tokens", "cost_usd"):
        assert second["figures"][name] == first["figures"][name], name
    assert second["findings"] == first["findings"]
