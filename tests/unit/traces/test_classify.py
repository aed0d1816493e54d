"""The one table of tools: names and arguments to event kinds, commands, paths and URLs."""

from __future__ import annotations

import pytest

from sealog.traces.classify import classify, command_text, git_action, patch_paths


@pytest.mark.parametrize(
    ("tool", "args", "kind", "command"),
    [
        ("Bash", {"command": "ls -A"}, "shell", "ls -A"),
        ("shell", {"command": ["bash", "-lc", "cat README.md"]}, "shell", "cat README.md"),
        ("shell", {"command": ["ls", "-la", "my dir"]}, "shell", "ls -la 'my dir'"),
        ("shell_command", {"command": "pytest -q"}, "shell", "pytest -q"),
        ("exec_command", {"cmd": "git status"}, "shell", "git status"),
        ("exec", {"cmd": "make"}, "shell", "make"),
        ("local_shell_call", {"command": ["echo", "hi"]}, "shell", "echo hi"),
        ("run_shell", {"command": "id"}, "shell", "id"),
        ("mystery_runner", {"cmd": "uname -a"}, "shell", "uname -a"),
    ],
)
def test_every_generation_of_the_shell_tool_is_a_shell_command(tool, args, kind, command):
    """Each shell tool's name and argument shape yields a shell event with its command line."""
    found = classify(tool, args)
    assert (found.kind, found.command) == (kind, command)


@pytest.mark.parametrize(
    ("tool", "args", "kind", "paths"),
    [
        ("Read", {"file_path": "/p/.env"}, "file_read", ("/p/.env",)),
        ("read_file", {"path": "a.txt"}, "file_read", ("a.txt",)),
        ("Write", {"file_path": "out.md", "content": "x"}, "file_write", ("out.md",)),
        ("Edit", {"file_path": "x.py", "old_string": "a", "new_string": "b"}, "file_edit",
         ("x.py",)),
        ("mcp__fs__write_file", {"path": "b"}, "file_write", ("b",)),
    ],
)  # fmt: skip
def test_file_tools_carry_their_paths(tool, args, kind, paths):
    """File tools are reads, writes or edits, with the paths named in their arguments."""
    found = classify(tool, args)
    assert (found.kind, found.paths) == (kind, paths)


def test_apply_patch_names_every_file_it_touches():
    """A freeform apply_patch is an edit of each file it adds, updates, deletes or moves to."""
    patch = ("*** Begin Patch\n*** Update File: src/a.py\n@@\n-x\n+y\n*** Add File: b.txt\n+hi\n"
             "*** Delete File: old.txt\n*** End Patch\n")  # fmt: skip
    found = classify("apply_patch", None, raw_input=patch)
    assert (found.kind, found.paths) == ("file_edit", ("src/a.py", "b.txt", "old.txt"))
    assert patch_paths("no patch") == ()


@pytest.mark.parametrize(
    ("tool", "args", "url"),
    [("WebFetch", {"url": "https://x.example/a", "prompt": "p"}, "https://x.example/a"),
     ("web_search", {"query": "sealog"}, "sealog"), ("fetch_url", {"url": "http://h/"}, "http://h/")],
)  # fmt: skip
def test_network_tools_carry_their_url(tool, args, url):
    """Fetch and search tools are network fetches with the URL (or the query)."""
    found = classify(tool, args)
    assert (found.kind, found.url) == ("network_fetch", url)


def test_unknown_tools_stay_tool_calls_and_git_tools_are_git():
    """An unknown tool is a tool_call; a GitHub tool is git."""
    assert classify("TodoWrite", {"todos": []}).kind == "tool_call"
    assert classify("mcp__github__create_pull_request", {"title": "t"}).kind == "git"
    assert classify(None, None).kind == "tool_call"


@pytest.mark.parametrize(
    ("command", "verb"),
    [("git push --force origin main", "push"), ("cd x && git commit -m 'y'", "commit"),
     ("GIT_DIR=. git -c a=b push", "push"), ("gh pr create --fill", "pr create"),
     ("git status", None), ("echo git push", None), ("ls", None)],
)  # fmt: skip
def test_git_actions_in_shell_commands(command, verb):
    """A shell command's git or gh verb is found in any simple command of the line."""
    assert git_action(command) == verb


def test_command_text_refuses_what_is_not_a_command():
    """Only strings and lists of strings are commands."""
    assert command_text(["a", 1]) is None
    assert command_text({"cmd": "x"}) is None
    assert command_text([]) is None


def test_grep_reads_file_contents_and_a_slash_command_is_not_a_shell():
    """Grep returns file contents (a read); SlashCommand's command is not a shell line."""
    assert classify("Grep", {"pattern": "KEY", "path": ".env"}).kind == "file_read"
    assert classify("SlashCommand", {"command": "/review"}).kind == "tool_call"


def test_bare_git_and_github_tools_are_git():
    """Tools named just git, github or gh are git actions."""
    assert {classify(name, {}).kind for name in ("git", "github", "gh")} == {"git"}
