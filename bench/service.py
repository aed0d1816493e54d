"""The service over HTTP on loopback: batched ingest, single-entry latency, decisions.

A real uvicorn serves ``create_app`` over a fresh on-disk ledger on 127.0.0.1, in a child
process (so client and server do not share a GIL); the client is httpx with keep-alive. Every
write is a signed request and every entry is signature-checked, chain-checked and durable
before its receipt comes back.

* Ingest: pre-signed action entries of 8 agents, relayed by their owner in batches of 100 and
  1,000 through ``POST /entries``. The limit is the embedded ingest of the very same entries
  (``Ledger.submit`` in the same batch size on a fresh ledger) measured in the same round, so the
  ratio is what HTTP, JSON, base64 and the service's checks cost on top.
* Single-entry latency: sequential ``POST /logs`` of one entry each, p50 and p99, against one
  durable ``Ledger.submit`` of one entry.
* Decide over HTTP: ``POST /sessions/{id}/draft`` on a 50-rule policy (the gate's decision,
  drafted for the agent to sign), p50 and p99; the target is p99 ≤ 3 ms.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench._common import OUT, Figure, Fleet, Result, log, median, percentile
from sealog.ledger import Ledger, SignedEntry, wire_entry
from sealog.policy.store import set_policy
from sealog.signed_request import sign_request

BATCHES = (100, 1000)
TARGET_RATE = 5000.0
TARGET_DECIDE_P99_MS = 3.0
POLICY = Path(__file__).resolve().parents[1] / "tests/assets/policies/native/bench-50.yaml"


class _Served:
    """``create_app`` under uvicorn in a child process (its own GIL), over a fresh home."""

    def __init__(self, tag: str) -> None:
        self.home = OUT / "tmp" / f"http-{tag}-{time.monotonic_ns()}"
        self.home.parent.mkdir(parents=True, exist_ok=True)
        Ledger.init(self.home).close()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        code = (
            "import uvicorn; from sealog.server import Settings, create_app; "
            f"uvicorn.run(create_app(Settings(home={str(self.home)!r}, rate=1e9, burst=10**9, "
            "gc_freeze=True)), "
            "host='127.0.0.1', "
            f"port={self.port}, log_level='warning', access_log=False)"
        )
        self.process = subprocess.Popen([sys.executable, "-c", code])
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.http.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the server did not come up within 20 s")
            time.sleep(0.05)

    @property
    def ledger(self) -> Ledger:
        """The served ledger, opened by this process too (SQLite WAL: a second reader/writer)."""
        if not hasattr(self, "_ledger"):
            self._ledger = Ledger.open(self.home)
        return self._ledger

    def post(self, key: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = {"content-type": "application/json", **sign_request(key, "POST", path, raw)}
        response = self.http.post(path, content=raw, headers=headers)
        if response.status_code >= 300:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
        data: dict[str, Any] = response.json()
        return data

    def close(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(20)
        if hasattr(self, "_ledger"):
            self._ledger.close()
        shutil.rmtree(self.home, ignore_errors=True)


def _embedded(fleet_entries: tuple[list[SignedEntry], list[SignedEntry]], batch: int) -> float:
    regs, entries = fleet_entries
    home = OUT / "tmp" / f"http-embedded-{time.monotonic_ns()}"
    ledger = Ledger.init(home)
    try:
        ledger.submit(regs)
        start = time.perf_counter()
        for i in range(0, len(entries), batch):
            ledger.submit(entries[i : i + batch])
        return len(entries) / (time.perf_counter() - start)
    finally:
        ledger.close()
        shutil.rmtree(home, ignore_errors=True)


def _ingest(count: int, batch: int) -> tuple[float, float]:
    """(HTTP entries/s, embedded entries/s) for the same pre-signed entries."""
    fleet = Fleet(label=f"http-{batch}")
    regs, entries = fleet.registrations(), fleet.sign_fast(count)
    served = _Served(f"b{batch}")
    try:
        served.post(fleet.owner, "/agents", {"entries": [wire_entry(e) for e in regs]})
        start = time.perf_counter()
        for i in range(0, count, batch):
            served.post(fleet.owner, "/entries",
                        {"entries": [wire_entry(e) for e in entries[i : i + batch]]})  # fmt: skip
        http_rate = count / (time.perf_counter() - start)
        if served.ledger.size() != len(regs) + count:
            raise AssertionError("the ledger does not hold every entry sent")
    finally:
        served.close()
    return http_rate, _embedded((regs, entries), batch)


def _single(count: int) -> tuple[list[float], list[float]]:
    """Latencies (ms) of one-entry POST /logs, and of one-entry embedded submits."""
    fleet = Fleet(agents=1, label="http-single")
    regs, entries = fleet.registrations(), fleet.sign_fast(2 * count)
    served = _Served("single")
    over_http: list[float] = []
    try:
        served.post(fleet.owner, "/agents", {"entries": [wire_entry(e) for e in regs]})
        agent = fleet.agents[0]
        for entry in entries[:count]:
            start = time.perf_counter()
            served.post(agent, "/logs", wire_entry(entry))
            over_http.append((time.perf_counter() - start) * 1000)
    finally:
        served.close()
    home = OUT / "tmp" / f"http-single-embedded-{time.monotonic_ns()}"
    ledger = Ledger.init(home)
    embedded: list[float] = []
    try:
        ledger.submit(regs)
        for entry in entries[:count]:
            start = time.perf_counter()
            ledger.submit([entry])
            embedded.append((time.perf_counter() - start) * 1000)
    finally:
        ledger.close()
        shutil.rmtree(home, ignore_errors=True)
    return sorted(over_http), sorted(embedded)


def _decide(count: int) -> list[float]:
    """Latencies (ms) of POST /sessions/{id}/draft on the 50-rule policy."""
    fleet = Fleet(agents=1, label="http-decide")
    served = _Served("decide")
    agent = fleet.agents[0]
    out: list[float] = []
    try:
        served.post(fleet.owner, "/agents",
                    {"entries": [wire_entry(e) for e in fleet.registrations()]})  # fmt: skip
        set_policy(served.ledger, fleet.owner, agent.address, POLICY)
        start = served.ledger.sign_next(agent, "session", {"session_id": "s1", "event": "start"})
        served.post(agent, "/logs", wire_entry(start))
        actions = ("quote", "transfer", "read_report", "post_message", "WebFetch")
        for i in range(count):
            body = {"action": actions[i % len(actions)], "target": "https://api.exchange.example/q",
                    "args": {"amount": 10 + i % 50, "channel": "team"}}  # fmt: skip
            t0 = time.perf_counter()
            served.post(agent, "/sessions/s1/draft", body)
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        served.close()
    return sorted(out)


def run(*, quick: bool = False, profile: bool = False, reps: int = 3) -> Result:  # noqa: ARG001
    """Ingest, latency and decisions over HTTP, each against its embedded counterpart."""
    result = Result("service")
    count = 2_000 if quick else 20_000
    singles, decides = (100, 200) if quick else (1_000, 2_000)
    for batch in BATCHES:
        rounds = [_ingest(count, batch) for _ in range(reps)]
        log(f"http: ingest batch {batch}: " + ", ".join(f"{h:,.0f}/{e:,.0f}" for h, e in rounds))
        http_rate = median([h for h, _ in rounds])
        embedded = median([e for _, e in rounds])
        result.figures.append(Figure(
            "service", f"ingest over HTTP, batches of {batch}", http_rate, "entries/s",
            limit=embedded, limit_unit="entries/s (embedded, same entries)",
            ratio=http_rate / embedded, target=f"≥ {TARGET_RATE:,.0f}/s",
            passed=http_rate >= TARGET_RATE,
        ))  # fmt: skip
    over_http, embedded_lat = _single(singles)
    for p in (50, 99):
        value, limit = percentile(over_http, p), percentile(embedded_lat, p)
        result.figures.append(Figure(
            "service", f"one entry, POST /logs p{p}", value, "ms", limit=limit,
            limit_unit="ms (embedded submit)", ratio=value / limit,
        ))  # fmt: skip
    lat = _decide(decides)
    result.figures.append(Figure("service", "decide over HTTP p50", percentile(lat, 50), "ms"))
    p99 = percentile(lat, 99)
    result.figures.append(Figure(
        "service", "decide over HTTP p99", p99, "ms", target=f"≤ {TARGET_DECIDE_P99_MS} ms",
        passed=p99 <= TARGET_DECIDE_P99_MS,
    ))  # fmt: skip
    return result
