"""Policy loading: parse YAML or JSON safely, keep line numbers, validate, normalize.

``load_policy`` is the one entry point. The text is parsed with PyYAML's *safe* loader (JSON is
YAML, and a ``.json`` file is first checked by :mod:`json` so its own syntax errors read
naturally); the composed node tree gives every key path its line. ``build_policy`` detects the
shape from the top-level keys; the builders (:mod:`sealog.policy._native`,
:mod:`sealog.policy._foreign`) read values through a ``Reader``, which records every problem
instead of stopping at the first, so one :class:`~sealog.errors.PolicyError` lists them all.
A policy never half-loads: any problem and nothing is returned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sealog.errors import PolicyError
from sealog.policy._foreign import PTRACE_KEYS, TRACEGATE_KEYS, ptrace, tracegate
from sealog.policy._native import NATIVE_KEYS, native
from sealog.policy._reader import KeyPath, Reader, dotted
from sealog.policy.model import Policy

__all__ = ["MAX_DEPTH", "MAX_POLICY_BYTES", "load_policy"]

MAX_POLICY_BYTES = 1024 * 1024
"""Largest policy file accepted (1 MiB)."""
MAX_DEPTH = 32
"""Deepest nesting accepted in a policy document."""
_MAX_NODES = 100_000
_SUFFIXES = (".yaml", ".yml", ".json")


def load_policy(path_or_text: str | Path, *, source: str | None = None) -> Policy:
    """Load, validate and normalize a policy file in any supported shape.

    Args:
        path_or_text: A :class:`~pathlib.Path`, a one-line string naming a ``.yaml``/``.yml``/
            ``.json`` file, or the policy text itself.
        source: Name used in error messages and kept on the policy (default: the file path,
            or ``"<policy>"`` for text).

    Raises:
        PolicyError: the file is unreadable, too large, not YAML/JSON, or invalid; the message
            names the file, line and key path of the first problem, ``problems`` lists all.
    """
    text, source, is_json = _read(path_or_text, source)
    data, lines, raws = _parse(text, source, is_json=is_json)
    reader = Reader(source, lines, raws)
    policy = build_policy(data, reader)
    reader.raise_if_problems()
    assert policy is not None
    return policy


def _read(path_or_text: str | Path, source: str | None) -> tuple[str, str, bool]:
    """The policy text, its display name, and whether it is JSON."""
    is_path = isinstance(path_or_text, Path) or (
        "\n" not in path_or_text and path_or_text.strip().lower().endswith(_SUFFIXES)
    )
    if not is_path:
        text = str(path_or_text)
        name = source or "<policy>"
        if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
            raise PolicyError(f"{name}: policy is larger than {MAX_POLICY_BYTES} bytes")
        return text, name, text.lstrip().startswith("{")
    path = Path(path_or_text)
    name = source or str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"{name}: cannot read policy: {exc.strerror or exc}") from exc
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"{name}: policy is larger than {MAX_POLICY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{name}: policy is not UTF-8 (byte {exc.start})") from exc
    return text, name, path.suffix.lower() == ".json"


def _parse(
    text: str, source: str, *, is_json: bool
) -> tuple[Any, dict[KeyPath, int], dict[KeyPath, str]]:
    """Parse safely; return the data, the line of every key path, and raw scalar texts."""
    if is_json:
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"{source}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
        except RecursionError as exc:
            raise PolicyError(f"{source}: JSON nested too deeply") from exc
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # the reader refuses control characters right here
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        raws: dict[KeyPath, str] = {}
        if node is not None:
            _index(node, (), lines, raws, source, count=[0])
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise PolicyError(f"{source}:{line}: not valid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise PolicyError(f"{source}: policy nested too deeply") from exc
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines, raws


def _index(
    node: yaml.Node,
    path: KeyPath,
    lines: dict[KeyPath, int],
    raws: dict[KeyPath, str],
    source: str,
    *,
    count: list[int],
) -> None:
    """Record the line of ``node`` under ``path`` and recurse; refuse huge or deep documents."""
    count[0] += 1
    line = node.start_mark.line + 1
    if count[0] > _MAX_NODES:
        raise PolicyError(f"{source}:{line}: policy has more than {_MAX_NODES} values")
    if len(path) > MAX_DEPTH:
        raise PolicyError(f"{source}:{line}: policy nested deeper than {MAX_DEPTH} levels")
    lines.setdefault(path, line)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                where = key_node.start_mark.line + 1
                raise PolicyError(f"{source}:{where}: {dotted((*path, key))}: duplicate key")
            seen.add(key)
            _index(value_node, (*path, key), lines, raws, source, count=count)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, (*path, index), lines, raws, source, count=count)
    elif isinstance(node, yaml.ScalarNode):
        raws[path] = str(node.value)


def build_policy(data: Any, r: Reader) -> Policy | None:
    """Detect the shape of ``data`` and build the normalized policy (None if it has problems)."""
    if data is None:
        r.problem((), "policy is empty")
        return None
    if not isinstance(data, dict):
        r.problem((), "expected a mapping at the top level")
        return None
    keys = set(data) - {"version", "agent_id"}
    is_tracegate = bool(keys & set(TRACEGATE_KEYS) - set(NATIVE_KEYS))
    is_ptrace = bool(keys & set(PTRACE_KEYS) - set(NATIVE_KEYS))
    if is_tracegate and is_ptrace:
        r.problem((), "mixes tracegate keys and ptrace keys; use one shape per file")
        return None
    if is_tracegate:
        return tracegate(data, r)
    if is_ptrace:
        return ptrace(data, r)
    return native(data, r)
