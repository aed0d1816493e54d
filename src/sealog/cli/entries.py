"""``sealog log`` and ``sealog entries``: append an action, list what is logged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from sealog.cli._common import JsonOpt, emit_json, out, state
from sealog.content import content_hash, hash_file, is_content_hash
from sealog.errors import UsageError
from sealog.ledger import StoredEntry
from sealog.service import Service


def register(app: typer.Typer) -> None:
    """Add ``log`` and ``entries`` to the app."""
    app.command("log")(log)
    app.command("entries")(list_entries)


def _metadata(pairs: list[str], as_json: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if as_json is not None:
        try:
            loaded = json.loads(as_json)
        except ValueError as exc:
            raise UsageError(f"--meta-json is not valid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise UsageError("--meta-json must be a JSON object")
        meta.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--meta {pair!r} must look like key=value")
        meta[key] = value
    return meta


def entry_view(stored: StoredEntry) -> dict[str, Any]:
    """An entry as the CLI shows it: place, id, and the signed fields."""
    return {"index": stored.index, "id": stored.entry.id, **stored.entry.fields}


def log(
    ctx: typer.Context,
    action: str = typer.Argument(..., help="What the agent did, e.g. post_reply or trade."),
    as_name: str = typer.Option(..., "--as", help="The agent's key name."),
    target: str | None = typer.Option(None, "--target", help="What the action was done to."),
    content_file: Path | None = typer.Option(
        None, "--content-file", help="Hash this file's bytes as the content (never stored)."
    ),
    content: str | None = typer.Option(None, "--content", help="Hash this text as the content."),
    content_hash_opt: str | None = typer.Option(
        None, "--content-hash", help="The content's hash, sha256:<64 hex>."
    ),
    meta: list[str] = typer.Option([], "--meta", help="Metadata key=value (repeatable)."),
    meta_json: str | None = typer.Option(None, "--meta-json", help="Metadata as a JSON object."),
    sources: list[str] = typer.Option(
        [], "--source", help="A content hash the content was built from (repeatable)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Append one signed action entry and print its receipt."""
    given = [x for x in (content_file, content, content_hash_opt) if x is not None]
    if len(given) > 1:
        raise UsageError("give at most one of --content-file, --content and --content-hash")
    digest: str | None = None
    if content_file is not None:
        if not content_file.is_file():
            raise UsageError(f"--content-file {content_file} is not a readable file")
        digest = hash_file(content_file)
    elif content is not None:
        digest = content_hash(content)
    elif content_hash_opt is not None:
        if not is_content_hash(content_hash_opt):
            raise UsageError("--content-hash must be 'sha256:' followed by 64 lowercase hex digits")
        digest = content_hash_opt
    st = state(ctx)
    key = st.key(as_name)
    metadata = _metadata(meta, meta_json)
    bad = [s for s in sources if not is_content_hash(s)]
    if bad:
        raise UsageError(f"--source {bad[0]!r} is not a content hash (sha256:<64 hex>)")
    with st.ledger() as ledger:
        if sources:  # provenance: through the service, which refuses a cycle
            fields: dict[str, Any] = {"action": action, "sources": list(sources)}
            optional = {"target": target, "content_hash": digest, "metadata": metadata or None}
            fields.update({k: v for k, v in optional.items() if v is not None})
            entry = ledger.sign_next(key, "action", fields)
            receipt = Service(ledger).submit([entry])[0].receipt
        else:
            receipt = ledger.append(key, action, target=target, content_hash=digest,
                                    metadata=metadata)  # fmt: skip
    if as_json:
        emit_json(receipt.to_dict())
        return
    out.print(f"logged entry {receipt.index}  id {receipt.id}")
    out.print(f"tree size {receipt.tree_size}; checkpoint:")
    out.print(receipt.checkpoint, end="")


def list_entries(
    ctx: typer.Context,
    agent: str | None = typer.Option(
        None, "--agent", help="Only this author (address or key name)."
    ),
    kind: str | None = typer.Option(None, "--kind", help="Only this kind (action, register …)."),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="At most this many (the latest)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """List logged entries, oldest first."""
    st = state(ctx)
    address = st.address(agent) if agent else None
    with st.ledger() as ledger:
        rows = [
            entry_view(e)
            for e in ledger.entries(agent=address)
            if kind is None or e.entry.kind == kind
        ]
    if limit is not None:
        rows = rows[-limit:]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        out.print("no entries")
        return
    table = Table("#", "time", "author", "seq", "kind", "action / subject", "target", box=None)
    for r in rows:
        what = r.get("action") or r.get("subject") or ""
        table.add_row(
            str(r["index"]),
            r["time"],
            r["author"][:15] + "…",
            str(r["seq"]),
            r["kind"],
            str(what),
            str(r.get("target") or ""),
        )
    out.print(table)
