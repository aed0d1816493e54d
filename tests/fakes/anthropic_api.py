"""A scripted fake of the Anthropic Messages API, standard library only.

It serves ``POST /v1/messages`` (streaming server-sent events in the exact event
sequence the real API sends, or one JSON message when ``stream`` is false) and
plays a script: a list of assistant turns, each made of text, thinking and
tool_use blocks, with usage figures.  Requests that carry ``tools`` (an agent's
main loop) take the next turn of the script; requests without tools (title and
summary generation, the model that condenses a WebFetch page, quota probes) get
a short canned answer instead, so the script is not shifted by side traffic.
``/v1/messages/count_tokens`` answers an estimate; any other GET/HEAD/POST gets
``200 {}``.  Every request is recorded in :attr:`FakeAnthropicAPI.requests`.

Use it as a test utility::

    with FakeAnthropicAPI([text_turn("Hello.")]) as api:
        env = {"ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": "sk-ant-fake"}
        ...

It can also serve static pages (``pages={"/docs/a.html": ("text/html", "...")}``)
so a WebFetch tool has something on loopback to fetch.
"""

from __future__ import annotations

import base64
import json
import random
import string
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes._loopback import LoopbackServer

__all__ = [
    "FakeAnthropicAPI",
    "RecordedRequest",
    "Turn",
    "text_turn",
    "tool_turn",
]

DEFAULT_MODEL = "claude-sonnet-4-5-20250929"
_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass
class Turn:
    """One scripted assistant message.

    ``content`` holds Anthropic content blocks as plain dicts: ``{"type": "text",
    "text": ...}``, ``{"type": "thinking", "thinking": ...}`` or ``{"type":
    "tool_use", "name": ..., "input": {...}}`` (an ``id`` is made up when absent).
    ``usage`` overrides the estimated usage figures key by key.  Scripted
    requests take the first turn not yet served whose ``when`` accepts them, so
    concurrent agents (a background subagent beside its parent) can be scripted.
    """

    content: list[dict[str, Any]]
    stop_reason: str | None = None  # default: "tool_use" if any tool_use block, else "end_turn"
    usage: dict[str, int] = field(default_factory=dict)
    model: str | None = None
    # Serve this turn only to a request this predicate accepts (e.g. a subagent's,
    # told apart by its system prompt); None accepts any scripted request.
    when: Callable[[dict[str, Any]], bool] | None = None


def text_turn(text: str, **usage: int) -> Turn:
    """A turn made of one text block."""
    return Turn([{"type": "text", "text": text}], usage=dict(usage))


def tool_turn(*calls: tuple[str, Mapping[str, Any]], text: str | None = None, **usage: int) -> Turn:
    """A turn made of an optional text block followed by one tool_use block per call."""
    blocks: list[dict[str, Any]] = []
    if text is not None:
        blocks.append({"type": "text", "text": text})
    blocks.extend({"type": "tool_use", "name": name, "input": dict(args)} for name, args in calls)
    return Turn(blocks, usage=dict(usage))


@dataclass
class RecordedRequest:
    """What the fake received: method, path, parsed JSON body (or None) and the headers."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]
    scripted: bool = False  # True when this request consumed a turn of the script


SideAnswer = Callable[[dict[str, Any]], str]


def _default_side_answer(body: dict[str, Any]) -> str:
    """A short plausible answer for a request outside the script."""
    system = json.dumps(body.get("system", ""))
    if "title" in system.lower():
        return json.dumps({"title": "Inspect and update project files"})
    return "The page describes the sealog fixture project: a small demo with a README."


class FakeAnthropicAPI(LoopbackServer):
    """A loopback Anthropic Messages API that plays a script of assistant turns."""

    def __init__(
        self,
        script: Iterable[Turn] = (),
        *,
        host: str = "127.0.0.1",
        model: str = DEFAULT_MODEL,
        side_answer: SideAnswer = _default_side_answer,
        pages: Mapping[str, tuple[str, str]] | None = None,
        seed: int = 0,
        log: Callable[[str], None] | None = None,
        chunk_size: int = 24,
    ) -> None:
        """Prepare the fake; nothing listens until :meth:`start`."""
        self.script: list[Turn] = list(script)
        super().__init__(host)
        self.model = model
        self.side_answer = side_answer
        self.pages = dict(pages or {})
        self.requests: list[RecordedRequest] = []
        self.turns_served = 0
        self._served: set[int] = set()
        self._rng = random.Random(seed)
        self._log = log
        self._chunk = chunk_size
        self._lock = threading.Lock()
        self._last_prompt_tokens = 0

    # -- life cycle ---------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL to give a client as ANTHROPIC_BASE_URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def remaining(self) -> int:
        """Turns of the script not served yet."""
        return len(self.script) - self.turns_served

    def handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler, bound to this fake."""
        return type("_Handler", (_Handler,), {"fake": self})

    # -- building answers ---------------------------------------------------

    def _id(self, prefix: str) -> str:
        with self._lock:
            return prefix + "01" + "".join(self._rng.choice(_ID_ALPHABET) for _ in range(22))

    def _signature(self) -> str:
        """An opaque base64 string in the place of a thinking block's signature."""
        with self._lock:
            raw = bytes(self._rng.randrange(256) for _ in range(96))
        return base64.b64encode(b"\x12\x0cfake-thinking" + raw).decode()

    def log(self, line: str) -> None:
        """Write a debugging line to the log callback, if any."""
        if self._log is not None:
            self._log(line)

    def next_message(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The assistant message to answer ``body`` with, and whether it came from the script."""
        scripted = bool(body.get("tools"))
        turn: Turn
        with self._lock:
            found = None
            if scripted:
                found = next(
                    (
                        i
                        for i, t in enumerate(self.script)
                        if i not in self._served and (t.when is None or t.when(body))
                    ),
                    None,
                )
            if found is not None:
                turn = self.script[found]
                self._served.add(found)
                self.turns_served += 1
            elif scripted:
                turn = text_turn("Done.")
            else:
                turn = text_turn(self.side_answer(body))
        content: list[dict[str, Any]] = []
        for block in turn.content:
            out = dict(block)
            if out["type"] == "tool_use":
                tool_id = out.pop("id", None) or self._id("toolu_")
                out = {"type": "tool_use", "id": tool_id, **out}
            if out["type"] == "thinking" and "signature" not in out:
                out["signature"] = self._signature()
            content.append(out)
        stop_reason = turn.stop_reason or (
            "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
        )
        message = {
            "id": self._id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": turn.model or body.get("model") or self.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": self._usage(body, content, turn.usage, scripted=scripted),
        }
        return message, scripted

    def _usage(
        self,
        body: dict[str, Any],
        content: list[dict[str, Any]],
        override: Mapping[str, int],
        *,
        scripted: bool,
    ) -> dict[str, Any]:
        """Usage in the shape of a prompt-cached agent loop, unless overridden."""
        prompt = max(1, len(json.dumps(body, ensure_ascii=False)) // 4)
        output = max(1, len(json.dumps(content, ensure_ascii=False)) // 4)
        if scripted:
            with self._lock:
                cached = min(self._last_prompt_tokens, prompt)
                self._last_prompt_tokens = prompt
            fresh = min(prompt, 3)  # the uncached tail after the last breakpoint
            usage = {
                "input_tokens": fresh,
                "cache_creation_input_tokens": max(0, prompt - cached - fresh),
                "cache_read_input_tokens": cached,
                "output_tokens": output,
            }
        else:
            usage = {
                "input_tokens": prompt,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": output,
            }
        usage.update(override)
        out: dict[str, Any] = dict(usage)
        out.setdefault(
            "cache_creation",
            {
                "ephemeral_5m_input_tokens": usage["cache_creation_input_tokens"],
                "ephemeral_1h_input_tokens": 0,
            },
        )
        out.setdefault("service_tier", "standard")
        return out

    def sse_events(self, message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The server-sent events that stream ``message``, in the API's order."""
        usage = message["usage"]
        start_usage = {**usage, "output_tokens": 1}
        events: list[tuple[str, dict[str, Any]]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        **message,
                        "content": [],
                        "stop_reason": None,
                        "usage": start_usage,
                    },
                },
            ),
        ]
        for index, block in enumerate(message["content"]):
            kind = block["type"]
            if kind == "text":
                opening: dict[str, Any] = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": c} for c in self._chunks(block["text"])]
            elif kind == "thinking":
                opening = {"type": "thinking", "thinking": "", "signature": ""}
                deltas = [
                    {"type": "thinking_delta", "thinking": c}
                    for c in self._chunks(block["thinking"])
                ]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
            elif kind == "tool_use":
                opening = {
                    "type": "tool_use",
                    "id": block["id"],
                    "name": block["name"],
                    "input": {},
                }
                raw = json.dumps(block["input"], ensure_ascii=False)
                deltas = [{"type": "input_json_delta", "partial_json": ""}]
                deltas += [
                    {"type": "input_json_delta", "partial_json": c} for c in self._chunks(raw)
                ]
            else:
                raise ValueError(f"unsupported block type {kind!r}")
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": opening},
                )
            )
            if index == 0:
                events.append(("ping", {"type": "ping"}))
            events.extend(
                ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
                for d in deltas
            )
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                    "usage": {
                        k: v
                        for k, v in usage.items()
                        if k not in ("service_tier", "cache_creation")
                    },
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return events

    def _chunks(self, text: str) -> list[str]:
        return [text[i : i + self._chunk] for i in range(0, len(text), self._chunk)] or [""]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAnthropicAPI
    protocol_version = "HTTP/1.1"
    server_version = "fake-anthropic/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Route http.server's access log to the fake's log instead of stderr."""
        self.fake.log("http: " + format % args)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self, body: Any) -> RecordedRequest:
        rec = RecordedRequest(self.command, self.path, body, dict(self.headers.items()))
        with self.fake._lock:
            self.fake.requests.append(rec)
        summary = ""
        if isinstance(body, dict):
            summary = (
                f" model={body.get('model')} stream={body.get('stream')}"
                f" tools={len(body.get('tools') or [])} messages={len(body.get('messages') or [])}"
            )
        self.fake.log(f"{self.command} {self.path}{summary}")
        return rec

    def _send(
        self, status: int, payload: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("request-id", self.fake._id("req_"))
        self.send_header("anthropic-organization-id", "00000000-0000-0000-0000-000000000000")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
            self.wfile.flush()

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def do_HEAD(self) -> None:
        self._record(None)
        self._send(200, b"", "application/json")

    def do_GET(self) -> None:
        self._record(None)
        path = self.path.split("?", 1)[0]
        if path in self.fake.pages:
            content_type, text = self.fake.pages[path]
            self._send(200, text.encode(), content_type)
        elif path.startswith("/v1/models"):
            self._json(
                200,
                {
                    "data": [
                        {
                            "type": "model",
                            "id": self.fake.model,
                            "display_name": "Fake",
                            "created_at": "2025-01-01T00:00:00Z",
                        }
                    ],
                    "has_more": False,
                    "first_id": self.fake.model,
                    "last_id": self.fake.model,
                },
            )
        else:
            self._json(200, {})

    def do_POST(self) -> None:
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        rec = self._record(body)
        path = self.path.split("?", 1)[0]
        if path == "/v1/messages/count_tokens":
            tokens = max(1, len(raw) // 4)
            self._json(200, {"input_tokens": tokens})
            return
        if path != "/v1/messages" or not isinstance(body, dict):
            self._json(200, {})
            return
        message, rec.scripted = self.fake.next_message(body)
        if rec.scripted:
            kinds = ",".join(
                b["type"] if b["type"] != "tool_use" else f"tool_use:{b['name']}"
                for b in message["content"]
            )
            self.fake.log(f"  -> scripted turn {self.fake.turns_served}: {kinds}")
        if body.get("stream"):
            out = "".join(
                f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
                for name, data in self.fake.sse_events(message)
            )
            self._send(
                200, out.encode(), "text/event-stream; charset=utf-8", {"Cache-Control": "no-cache"}
            )
        else:
            self._json(200, message)


def _main() -> None:
    """Serve a one-turn script until interrupted (handy for poking with curl)."""
    fake = FakeAnthropicAPI(
        [text_turn("Hello from the fake.")], log=lambda s: print(s, file=sys.stderr)
    )
    with fake:
        print(fake.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    _main()
