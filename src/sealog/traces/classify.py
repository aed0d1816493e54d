"""What a tool call is, from its name and arguments: one table for every adapter.

Adapters know their own format; this module knows tools. Given a tool's name and its parsed
arguments it answers the event kind and the fields that kind carries (the command line, the
paths, the URL), so a ``Bash`` call from Claude Code, an ``exec_command`` from Codex and a
``run_shell`` function of an OpenAI agent are all ``shell`` events with a ``command``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sealog.traces.events import EventKind

__all__ = ["Classified", "classify", "git_action", "patch_paths"]

_SHELL = frozenset(
    {"bash", "shell", "shell_command", "exec_command", "exec", "local_shell", "local_shell_call",
     "run_shell", "run_command", "execute_command", "terminal", "run_terminal_cmd", "sh",
     "container.exec", "powershell", "unified_exec"}
)  # fmt: skip
_READ = frozenset(
    {"read", "read_file", "view", "cat", "open_file", "notebookread", "read_text_file",
     "get_file_contents", "read_many_files", "grep", "search_file_content"}
)  # fmt: skip
_NOT_SHELL = frozenset({"slashcommand", "skill", "task", "agent"})
"""Tools whose ``command`` argument is not a shell command (``/review``, a sub-agent)."""
_WRITE = frozenset({"write", "write_file", "create_file", "save_file", "write_text_file"})
_EDIT = frozenset(
    {"edit", "multiedit", "notebookedit", "apply_patch", "str_replace_editor", "edit_file",
     "str_replace", "insert", "replace_in_file", "patch"}
)  # fmt: skip
_FETCH = frozenset(
    {"webfetch", "web_fetch", "fetch", "fetch_url", "http_get", "http_request", "browse",
     "browser", "open_url", "websearch", "web_search", "web_search_call", "search_web",
     "curl", "download", "get_url"}
)  # fmt: skip
_GIT_TOOL = re.compile(
    r"^(git|github|gh)$|^(git|github)[._-]|^(create|merge|update)_(pull_request|issue)|^push_"
)
_URL = re.compile(r"https?://[^\s'\"<>]+")
_PATH_KEYS = ("file_path", "path", "filename", "file", "notebook_path", "target_file", "paths")
_COMMAND_KEYS = ("command", "cmd", "script", "commands", "argv")
_PATCH_FILE = re.compile(r"^\*\*\* (?:Add|Update|Delete) File: (.+)$", re.MULTILINE)
_PATCH_MOVE = re.compile(r"^\*\*\* Move to: (.+)$", re.MULTILINE)
_GIT_VERBS = frozenset(
    {"push", "commit", "merge", "rebase", "reset", "tag", "clone", "pull", "checkout", "fetch",
     "cherry-pick", "revert", "branch", "am", "apply", "stash"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Classified:
    """What a tool call is: its kind and the fields of that kind found in its arguments."""

    kind: EventKind
    command: str | None = None
    paths: tuple[str, ...] = ()
    url: str | None = None


def _norm(name: str) -> str:
    return name.strip().lower().rsplit("__", 1)[-1]  # mcp__server__tool → tool


def command_text(value: Any) -> str | None:
    """A command as one line: a string as it is, an argv list joined (quoted where needed)."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        argv = [str(v) for v in value]
        if len(argv) >= 3 and argv[1] in {"-c", "-lc", "-ic"} and argv[0].endswith("sh"):  # noqa: PLR2004
            return argv[2]  # ["bash", "-lc", "cmd"]: the command is the script
        return shlex.join(argv)
    return None


def patch_paths(patch: str) -> tuple[str, ...]:
    """The files an ``apply_patch`` patch adds, updates, deletes or moves to, in order."""
    found = _PATCH_FILE.findall(patch) + _PATCH_MOVE.findall(patch)
    return tuple(dict.fromkeys(p.strip() for p in found))


def _paths(args: Mapping[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    for key in _PATH_KEYS:
        value = args.get(key)
        if isinstance(value, str) and value:
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str) and v)
    for key in ("edits", "changes"):
        items = args.get(key)
        if isinstance(items, list):
            out.extend(
                str(i["path"])
                for i in items
                if isinstance(i, Mapping) and isinstance(i.get("path"), str)
            )
    return tuple(dict.fromkeys(out))


def _url(args: Mapping[str, Any]) -> str | None:
    for key in ("url", "uri", "href", "link", "query", "q", "search_query"):
        value = args.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def classify(  # noqa: PLR0911 - one answer per kind
    tool: str | None, args: Mapping[str, Any] | None, raw_input: str | None = None
) -> Classified:
    """The kind of a call of ``tool`` with ``args`` (``raw_input``: a freeform tool's text).

    Unknown tools are ``tool_call``; a tool whose arguments hold a command is ``shell`` even if
    its name is unknown, so no generation of a shell tool goes uncounted.
    """
    args = args or {}
    name = _norm(tool or "")
    command = next((command_text(args[k]) for k in _COMMAND_KEYS if k in args), None)
    if name in _SHELL or (command is not None and name not in _EDIT | _WRITE | _READ | _NOT_SHELL):
        return Classified("shell", command=command)
    if name == "apply_patch" or (raw_input is not None and "*** Begin Patch" in raw_input):
        text = raw_input or str(args.get("input") or args.get("patch") or "")
        return Classified("file_edit", paths=patch_paths(text))
    if name in _EDIT:
        return Classified("file_edit", paths=_paths(args))
    if name in _WRITE:
        return Classified("file_write", paths=_paths(args))
    if name in _READ:
        return Classified("file_read", paths=_paths(args))
    if name in _FETCH:
        return Classified("network_fetch", url=_url(args))
    if _GIT_TOOL.search(name):
        return Classified("git")
    return Classified("tool_call", paths=_paths(args), url=_url(args) if "url" in args else None)


def git_action(command: str) -> str | None:
    """The git or GitHub verb a shell command runs (``push``, ``pr create``), else None.

    Looks at each simple command of the line (split on ``;``, ``&&``, ``||``, ``|``).
    """
    for part in re.split(r"&&|\|\||[;|\n]", command):
        words = part.strip().split()
        while words and ("=" in words[0] or words[0] in {"sudo", "env", "command"}):
            words = words[1:]
        if len(words) < 2:  # noqa: PLR2004
            continue
        if words[0] == "git":
            verb = _git_verb(words[1:])
            if verb in _GIT_VERBS:
                return verb
        if words[0] == "gh":
            return " ".join(w for w in words[1:3] if not w.startswith("-"))
    return None


def _git_verb(words: list[str]) -> str | None:
    """The subcommand after git's global options (``-c k=v``, ``-C dir`` take a value)."""
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in {"-c", "-C", "--git-dir", "--work-tree", "--namespace"}:
            skip = True
        elif not word.startswith("-"):
            return word
    return None


def urls_in(text: str) -> list[str]:
    """The http(s) URLs a text mentions."""
    return _URL.findall(text)
