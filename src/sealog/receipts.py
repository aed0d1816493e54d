"""Execution receipts, their join with a scanner's decision artifact, and the training export.

An execution receipt is what the log proves about one tool call of a run: its run and tool-call
ids, the digest of its normalized arguments with the digest's basis (``canonical`` or ``raw``
text, or ``redacted`` when the arguments were sealed by digest only), the gate's decision (outcome,
class, policy version and hash), the budget it consumed, and digests of its session's state
before and after it. It is read from the ``decision`` entry and the ``action`` entry citing it,
folded with the same session book as the live gate and the replay, so it is exactly what any
holder of the log recomputes. The run's capability snapshot — what the agent could do — is the
sealed ``policy`` entry in force, stored once and referenced by id from every receipt.

:func:`join` holds a scanner's decision artifact (what a pre-execution check approved) to the
receipt of the same tool call: ``match``, ``digest-mismatch`` (the arguments executed are not
the ones scanned) or ``authority-mismatch`` (another policy, or another version of it, decided).

:func:`training_rows` writes every decision with its outcome, for training and evaluation, with
credentials masked everywhere and the arguments dropped unless asked for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sealog.content import content_hash
from sealog.errors import InputError, NotFound
from sealog.gate._book import Book, BookError
from sealog.ledger import StoredEntry
from sealog.policy import SessionState
from sealog.traces.findings import mask_secrets

__all__ = ["JoinOutcome", "join", "receipts", "state_digest", "training_rows"]

JoinOutcome = Literal["match", "digest-mismatch", "authority-mismatch"]


def state_digest(state: SessionState) -> str:
    """A content hash of what a session's limits read: cost, actions, violations, kill."""
    return content_hash({
        "cost": format(state.total_cost, "f"),
        "actions": state.action_count,
        "violations": dict(state.violations),
        "killed_by": state.killed_by,
    })  # fmt: skip


@dataclass(slots=True)
class _Open:
    receipt: dict[str, Any]
    session: str


def receipts(entries: Iterable[StoredEntry], run_id: str) -> list[dict[str, Any]]:
    """The execution receipts of run ``run_id``, in log order, read from the whole log."""
    book = Book()
    policies: dict[tuple[str, int], dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    waiting: dict[str, _Open] = {}
    runs: dict[str, str] = {}
    """Session id → the run its start named (a decision need not repeat it)."""
    for stored in entries:
        entry, f = stored.entry, stored.entry.fields
        if entry.kind == "session" and f.get("event") == "start" and f.get("run_id"):
            runs[str(f["session_id"])] = str(f["run_id"])
        if entry.kind == "policy":
            policies[str(f["agent"]), int(f["version"])] = {
                "policy_entry": entry.id, "policy_version": f["version"],
                "policy_hash": f["policy_hash"],
            }  # fmt: skip
        ours = (
            entry.kind == "decision"
            and (f.get("run_id") or runs.get(str(f.get("session_id")))) == run_id
        )
        sid = str(f.get("session_id"))
        pre = _digest(book, sid) if ours else None
        with contextlib.suppress(BookError):  # the replay reports those; a receipt reads on
            book.apply(entry, stored.index)
        if ours:
            version = f.get("policy_version")
            receipt = {
                "run_id": run_id,
                "tool_call_id": f.get("tool_call_id"),
                "session_id": sid,
                "action": f["action"],
                "tool": f.get("tool"),
                "args_digest": f["args_digest"],
                "args_basis": f["args_basis"] if "args" in f else "redacted",
                "decision": {"entry": entry.id, "index": stored.index, "outcome": f["outcome"],
                             "decision_class": f["decision_class"], "risk": f["risk"],
                             "policy_version": version, "policy_hash": f["policy_hash"]},
                "capabilities": policies.get((entry.author, int(version))) if version else None,
                "budget_consumed": f["estimate"],
                "pre_state": pre,
                "post_state": _digest(book, sid),
                "executed": False,
            }  # fmt: skip
            out.append(receipt)
            waiting[entry.id] = _Open(receipt, sid)
        elif entry.kind == "action" and str(f.get("decision")) in waiting:
            opened = waiting.pop(str(f["decision"]))
            opened.receipt.update({
                "executed": True, "action_entry": entry.id,
                "status": (f.get("metadata") or {}).get("status"),
                "post_state": _digest(book, opened.session),
            })  # fmt: skip
            if f.get("cost") is not None:
                opened.receipt["budget_consumed"] = f["cost"]
    if not out:
        raise NotFound(f"no decision of run {run_id!r} in this ledger")
    return out


def _digest(book: Book, session_id: str) -> str | None:
    return state_digest(book.effective(session_id)) if session_id in book else None


def join(
    receipts_of_run: Iterable[Mapping[str, Any]], artifact: Mapping[str, Any]
) -> dict[str, Any]:
    """Hold a scanner's decision artifact to the receipt of its tool call.

    The artifact names ``tool_call_id`` and ``args_digest``, and the authority it was decided
    under: ``policy_hash`` and/or ``policy_version``.

    Raises:
        InputError: the artifact lacks ``tool_call_id`` or ``args_digest``.
        NotFound: no receipt of that tool call.
    """
    call, digest = artifact.get("tool_call_id"), artifact.get("args_digest")
    if not isinstance(call, str) or not isinstance(digest, str):
        raise InputError("a decision artifact names its tool_call_id and args_digest")
    found = next((r for r in receipts_of_run if r.get("tool_call_id") == call), None)
    if found is None:
        raise NotFound(f"no executed receipt of tool call {call!r}")
    decided = found["decision"]
    outcome: JoinOutcome = "match"
    why = "the arguments and the authority are the ones executed"
    if digest != found["args_digest"]:
        outcome, why = "digest-mismatch", "the arguments executed are not the ones scanned"
    elif any(
        artifact.get(name) is not None and artifact[name] != decided[name]
        for name in ("policy_hash", "policy_version")
    ):
        outcome = "authority-mismatch"
        why = (f"scanned under {artifact.get('policy_hash') or 'version'} "
               f"{artifact.get('policy_version') or ''}, executed under policy version "
               f"{decided['policy_version']} ({decided['policy_hash']})")  # fmt: skip
    return {"outcome": outcome, "reason": why, "receipt": found}


def training_rows(
    entries: Iterable[StoredEntry], *, with_args: bool = False
) -> Iterator[dict[str, Any]]:
    """Every decision with its outcome, for training and evaluation; credentials masked."""
    pending: dict[str, dict[str, Any]] = {}
    for stored in entries:
        entry, f = stored.entry, stored.entry.fields
        if entry.kind == "decision":
            row: dict[str, Any] = {
                "time": entry.time, "agent": entry.author, "session_id": f.get("session_id"),
                "run_id": f.get("run_id"), "tool_call_id": f.get("tool_call_id"),
                "action": f["action"], "tool": f.get("tool"),
                "target": _masked(f.get("target")), "outcome": f["outcome"],
                "decision_class": f["decision_class"], "risk": f["risk"],
                "blocking_rule": f.get("blocking_rule"),
                "policy_version": f.get("policy_version"), "executed": False,
            }  # fmt: skip
            if with_args and isinstance(f.get("args"), str):
                row["args"] = mask_secrets(str(f["args"]))
            pending[entry.id] = row
        elif entry.kind == "action" and str(f.get("decision")) in pending:
            row = pending.pop(str(f["decision"]))
            row.update({"executed": True, "status": (f.get("metadata") or {}).get("status"),
                        "cost": f.get("cost")})  # fmt: skip
            yield row
    yield from pending.values()


def _masked(value: Any) -> Any:
    return mask_secrets(value) if isinstance(value, str) else value
