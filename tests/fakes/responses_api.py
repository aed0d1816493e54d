"""A scripted, offline fake of the OpenAI Responses API (streaming only).

Stdlib only.  It is good enough to drive the real Codex CLI (``codex exec``)
through a deterministic agent run, which is how the fixtures under
``tests/assets/traces/codex/`` are produced (see ``tools/fixtures/codex.py``).

Usage::

    script = [
        [reasoning("Look around first."),
         function_call("shell_command", {"command": "ls"}, call_id="call_1")],
        [message("All done.")],
    ]
    with FakeResponsesAPI(script) as api:
        ...  # point the client at api.url  (http://127.0.0.1:PORT/v1)
    api.requests  # every request seen: method, path, parsed JSON body

Each element of the script is one *turn*: the answer to one
``POST /v1/responses`` request, given as a list of output items.  Items are
plain dicts in the Responses API shape; the helper constructors below fill in
ids and statuses.  A turn may also be a callable ``f(body) -> list[item]``
which sees the request body (useful to echo ``call_id`` values).  Once the
script runs out, every further request is answered with ``fallback`` (by
default a short assistant message).  ``router(body)`` is consulted before
the script: when it returns a list of items, that answers the request without
consuming a scripted turn (used for side requests such as Codex's "guardian"
auto-review sub-agent, recognisable by ``client_metadata["x-openai-subagent"]``).
Token usage is derived from request/response sizes (deterministic); a
``usage(body, output, default) -> dict`` hook may replace it, e.g. to push a
client over its auto-compaction threshold.

The stream follows the real API event sequence: ``response.created``,
``response.in_progress``, then per item ``response.output_item.added``, the
item's delta/done events (``response.output_text.delta``/``done``,
``response.function_call_arguments.delta``/``done``,
``response.custom_tool_call_input.delta``/``done``,
``response.reasoning_summary_text.delta``/``done``,
``response.web_search_call.*``), ``response.output_item.done``, and finally
``response.completed`` carrying ``usage``.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes._loopback import LoopbackServer

Item = dict[str, Any]
Turn = Sequence[Item] | Callable[[dict[str, Any]], Sequence[Item]]

__all__ = [
    "FakeResponsesAPI",
    "custom_tool_call",
    "function_call",
    "local_shell_call",
    "message",
    "reasoning",
    "web_search_call",
]

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):024x}"


# --------------------------------------------------------------------------- items


def message(text: str, *, item_id: str | None = None) -> Item:
    """An assistant message with one ``output_text`` part."""
    return {
        "id": item_id or _id("msg"),
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def function_call(
    name: str, arguments: dict[str, Any] | str, *, call_id: str | None = None
) -> Item:
    """A function tool call; ``arguments`` is a dict (JSON-encoded here) or a raw string."""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    return {
        "id": _id("fc"),
        "type": "function_call",
        "status": "completed",
        "name": name,
        "arguments": arguments,
        "call_id": call_id or _id("call"),
    }


def custom_tool_call(name: str, patch_or_input: str, *, call_id: str | None = None) -> Item:
    """A custom (freeform / grammar) tool call, e.g. Codex's ``apply_patch``."""
    return {
        "id": _id("ctc"),
        "type": "custom_tool_call",
        "status": "completed",
        "name": name,
        "input": patch_or_input,
        "call_id": call_id or _id("call"),
    }


def reasoning(*summary: str, encrypted_content: str | None = "") -> Item:
    """A reasoning item with summary paragraphs.

    ``encrypted_content`` defaults to a recognisable dummy token so clients that
    round-trip it (Codex does) send it back; pass ``None`` to omit it.
    """
    item: Item = {
        "id": _id("rs"),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": s} for s in summary],
    }
    if encrypted_content is not None:
        item["encrypted_content"] = encrypted_content or "gAAAA-fake-encrypted-reasoning"
    return item


def local_shell_call(
    command: Sequence[str],
    *,
    call_id: str | None = None,
    timeout_ms: int | None = None,
    working_directory: str | None = None,
) -> Item:
    """A hosted ``local_shell`` tool call (``action.type == "exec"``)."""
    return {
        "id": _id("lsh"),
        "type": "local_shell_call",
        "status": "completed",
        "call_id": call_id or _id("call"),
        "action": {
            "type": "exec",
            "command": list(command),
            "timeout_ms": timeout_ms,
            "working_directory": working_directory,
            "env": {},
            "user": None,
        },
    }


def web_search_call(query: str, *, status: str = "completed") -> Item:
    """A hosted web search call (``action.type == "search"``)."""
    return {
        "id": _id("ws"),
        "type": "web_search_call",
        "status": status,
        "action": {"type": "search", "query": query},
    }


# --------------------------------------------------------------------------- server


def _usage(body: dict[str, Any], output: Sequence[Item], cached: int) -> dict[str, Any]:
    """Deterministic, plausible token counts derived from sizes."""
    input_tokens = max(
        1, len(json.dumps(body.get("input", ""))) // 4 + len(json.dumps(body.get("tools", []))) // 8
    )
    output_tokens = max(1, len(json.dumps(output)) // 4)
    reasoning_tokens = sum(
        len(json.dumps(i.get("summary", []))) // 4 for i in output if i.get("type") == "reasoning"
    )
    cached = min(cached, input_tokens)
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens + reasoning_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens + reasoning_tokens,
    }


def _chunks(text: str, size: int = 24) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]
    if not text:
        yield ""


class FakeResponsesAPI(LoopbackServer):
    """Threaded HTTP server playing a script of Responses API turns.

    ``url`` is the API base (``http://127.0.0.1:PORT/v1``); the port is chosen
    by the OS.  ``requests`` records every request as a dict with ``method``,
    ``path`` and ``body`` (parsed JSON, or raw text, or ``None``).  Set
    ``verbose=True`` (or pass ``log=callable``) to print a one-line summary of
    each request.
    """

    def __init__(
        self,
        script: Sequence[Turn] = (),
        *,
        model: str = "gpt-5-codex",
        fallback: Turn | None = None,
        router: Callable[[dict[str, Any]], Sequence[Item] | None] | None = None,
        usage: Callable[[dict[str, Any], Sequence[Item], dict[str, Any]], dict[str, Any]]
        | None = None,
        verbose: bool = False,
        log: Callable[[str], None] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.script: list[Turn] = list(script)
        self.model = model
        self.fallback: Turn = (
            fallback if fallback is not None else (lambda _body: [message("Done.")])
        )
        self.router = router
        self.usage_hook = usage
        self.requests: list[dict[str, Any]] = []
        self.turns_served = 0
        self._log = log or ((lambda s: print(s, file=sys.stderr)) if verbose else None)
        super().__init__(host)
        self._lock = threading.Lock()
        self._prev_input_tokens = 0

    # -- lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    # -- script
    @property
    def responses_requests(self) -> list[dict[str, Any]]:
        """The bodies of the ``POST .../responses`` requests, in order."""
        return [
            r["body"]
            for r in self.requests
            if r["method"] == "POST" and r["path"].rstrip("/").endswith("/responses")
        ]

    def _next_output(self, body: dict[str, Any]) -> list[Item]:
        if self.router is not None:
            routed = self.router(body)
            if routed is not None:
                return [dict(i) for i in routed]
        with self._lock:
            if self.turns_served < len(self.script):
                turn = self.script[self.turns_served]
            else:
                turn = self.fallback
            self.turns_served += 1
        items = turn(body) if callable(turn) else turn
        return [dict(i) for i in items]

    def _record(self, method: str, path: str, body: Any) -> None:
        with self._lock:
            self.requests.append({"method": method, "path": path, "body": body})
        if self._log:
            if isinstance(body, dict):
                inp = body.get("input")
                n_items = len(inp) if isinstance(inp, list) else type(inp).__name__
                tools = [t.get("name") or t.get("type") for t in body.get("tools", [])]
                summary = f"model={body.get('model')} input_items={n_items} tools={tools}"
            else:
                summary = f"{len(body or '')} bytes" if body else "no body"
            self._log(f"[fake-responses-api] {method} {path} {summary}")

    # -- SSE
    def sse_events(self, body: dict[str, Any], output: list[Item]) -> Iterator[dict[str, Any]]:
        seq = itertools.count()
        resp_id = _id("resp")
        base = {
            "id": resp_id,
            "object": "response",
            "created_at": 1_700_000_000,
            "model": body.get("model") or self.model,
            "output": [],
            "parallel_tool_calls": body.get("parallel_tool_calls", False),
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": [],
            "usage": None,
            "error": None,
            "incomplete_details": None,
        }
        yield {
            "type": "response.created",
            "sequence_number": next(seq),
            "response": {**base, "status": "in_progress"},
        }
        yield {
            "type": "response.in_progress",
            "sequence_number": next(seq),
            "response": {**base, "status": "in_progress"},
        }
        for idx, item in enumerate(output):
            yield from self._item_events(idx, item, seq)
        usage = _usage(body, output, self._prev_input_tokens)
        if self.usage_hook is not None:
            usage = self.usage_hook(body, output, usage)
        self._prev_input_tokens = usage["input_tokens"]
        yield {
            "type": "response.completed",
            "sequence_number": next(seq),
            "response": {**base, "status": "completed", "output": output, "usage": usage},
        }

    def _item_events(self, idx: int, item: Item, seq: Iterator[int]) -> Iterator[dict[str, Any]]:
        t = item.get("type")
        item_id = item.get("id", "")
        added = dict(item)
        if "status" in added:
            added["status"] = "in_progress"
        if t == "message":
            added["content"] = []
        elif t == "function_call":
            added["arguments"] = ""
        elif t == "custom_tool_call":
            added["input"] = ""
        elif t == "reasoning":
            added["summary"] = []
        yield {
            "type": "response.output_item.added",
            "sequence_number": next(seq),
            "output_index": idx,
            "item": added,
        }

        if t == "message":
            for ci, part in enumerate(item.get("content", [])):
                text = part.get("text", "")
                empty = {**part, "text": ""}
                yield {
                    "type": "response.content_part.added",
                    "sequence_number": next(seq),
                    "item_id": item_id,
                    "output_index": idx,
                    "content_index": ci,
                    "part": empty,
                }
                for chunk in _chunks(text):
                    yield {
                        "type": "response.output_text.delta",
                        "sequence_number": next(seq),
                        "item_id": item_id,
                        "output_index": idx,
                        "content_index": ci,
                        "delta": chunk,
                        "logprobs": [],
                    }
                yield {
                    "type": "response.output_text.done",
                    "sequence_number": next(seq),
                    "item_id": item_id,
                    "output_index": idx,
                    "content_index": ci,
                    "text": text,
                    "logprobs": [],
                }
                yield {
                    "type": "response.content_part.done",
                    "sequence_number": next(seq),
                    "item_id": item_id,
                    "output_index": idx,
                    "content_index": ci,
                    "part": part,
                }
        elif t == "function_call":
            args = item.get("arguments", "")
            for chunk in _chunks(args):
                yield {
                    "type": "response.function_call_arguments.delta",
                    "sequence_number": next(seq),
                    "item_id": item_id,
                    "output_index": idx,
                    "delta": chunk,
                }
            yield {
                "type": "response.function_call_arguments.done",
                "sequence_number": next(seq),
                "item_id": item_id,
                "output_index": idx,
                "arguments": args,
            }
        elif t == "custom_tool_call":
            text = item.get("input", "")
            for chunk in _chunks(text):
                yield {
                    "type": "response.custom_tool_call_input.delta",
                    "sequence_number": next(seq),
                    "item_id": item_id,
                    "output_index": idx,
                    "delta": chunk,
                }
            yield {
                "type": "response.custom_tool_call_input.done",
                "sequence_number": next(seq),
                "item_id": item_id,
                "output_index": idx,
                "input": text,
            }
        elif t == "reasoning":
            for si, part in enumerate(item.get("summary", [])):
                text = part.get("text", "")
                yield {
                    "type": "response.reasoning_summary_part.added",
                    "sequence_number": next(seq),
                    "item_id": item_id,
                    "output_index": idx,
                    "summary_index": si,
                    "part": {"type": "summary_text", "text": ""},
                }
                for chunk in _chunks(text):
                    yield {
                        "type": "response.reasoning_summary_text.delta",
                        "sequence_number": next(seq),
                        "item_id": item_id,
                        "output_index": idx,
                        "summary_index": si,
                        "delta": chunk,
                    }
                yield {
                    "type": "response.reasoning_summary_text.done",
                    "sequence_number": next(seq),
                    "item_id": item_id,
                    "output_index": idx,
                    "summary_index": si,
                    "text": text,
                }
                yield {
                    "type": "response.reasoning_summary_part.done",
                    "sequence_number": next(seq),
                    "item_id": item_id,
                    "output_index": idx,
                    "summary_index": si,
                    "part": part,
                }
        elif t == "web_search_call":
            for ev in ("in_progress", "searching", "completed"):
                yield {
                    "type": f"response.web_search_call.{ev}",
                    "sequence_number": next(seq),
                    "item_id": item_id,
                    "output_index": idx,
                }

        yield {
            "type": "response.output_item.done",
            "sequence_number": next(seq),
            "output_index": idx,
            "item": item,
        }


def _make_handler(api: FakeResponsesAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeResponsesAPI/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
            pass

        def _read_body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return None
            if (self.headers.get("Content-Encoding") or "").lower() == "zstd":
                return f"<zstd-compressed {len(raw)} bytes>"
            try:
                return json.loads(raw)
            except ValueError:
                return raw.decode("utf-8", "replace")

        def _json(self, status: int, obj: Any) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            api._record("GET", self.path, None)
            path = self.path.split("?", 1)[0].rstrip("/")
            if path.endswith("/models"):
                self._json(
                    200,
                    {
                        "object": "list",
                        "data": [
                            {
                                "id": api.model,
                                "object": "model",
                                "created": 1_700_000_000,
                                "owned_by": "fake",
                            }
                        ],
                        "models": [],
                    },
                )
            else:
                self._json(
                    404,
                    {
                        "error": {
                            "message": f"no route for GET {self.path}",
                            "type": "invalid_request_error",
                        }
                    },
                )

        def do_POST(self) -> None:
            body = self._read_body()
            api._record("POST", self.path, body)
            path = self.path.split("?", 1)[0].rstrip("/")
            if not path.endswith("/responses") or not isinstance(body, dict):
                self._json(
                    404,
                    {
                        "error": {
                            "message": f"no route for POST {self.path}",
                            "type": "invalid_request_error",
                        }
                    },
                )
                return
            output = api._next_output(body)
            if body.get("stream") is False:
                events = list(api.sse_events(body, output))
                self._json(200, events[-1]["response"])
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for ev in api.sse_events(body, output):
                    self.wfile.write(f"event: {ev['type']}\ndata: {json.dumps(ev)}\n\n".encode())
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

        def do_DELETE(self) -> None:
            api._record("DELETE", self.path, None)
            self._json(200, {"deleted": True})

    return Handler
