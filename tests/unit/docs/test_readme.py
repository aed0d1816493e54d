"""The README's examples are code that runs, not prose that drifts."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parents[3] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    """The SDK example in the README executes as written and its assertions hold."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert blocks, "README lost its Python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "README.md", "exec"), {})
    assert (tmp_path / "evidence.json").exists()


def test_readme_gate_example_runs():
    """The live-gate example in the README executes as written and its assertions hold."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    gate = [b for b in blocks if "pre_action" in b]
    assert gate, "README lost its gate example"
    exec(compile(gate[0], "README.md", "exec"), {})


def test_readme_shows_the_two_commands():
    """The README leads with `make demo` and `make test`."""
    text = README.read_text()
    assert "make demo" in text
    assert "make test" in text
