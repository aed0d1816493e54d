"""Metrics, request ids, JSON access logs, rate limits and the offline docs page, in process."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from server_world import InProcessApp, wire

from sealog.crypto import SigningKey
from sealog.ledger import Ledger, SignedEntry
from sealog.server._limits import TokenBuckets
from sealog.server._observe import JsonFormatter
from sealog.signed_request import sign_request


class Api(InProcessApp):
    """The in-process app with this file's request helpers."""

    def get(self, path: str, **headers: str) -> httpx.Response:
        return self.loop.run_until_complete(self.http.get(path, headers=headers))

    def post(self, path: str, key: SigningKey | None, body: Any, **headers: str) -> httpx.Response:
        raw = json.dumps(body).encode()
        signed = sign_request(key, "POST", path, raw) if key is not None else {}
        merged = {"content-type": "application/json", **signed, **headers}
        return self.loop.run_until_complete(self.http.post(path, content=raw, headers=merged))


@pytest.fixture
def make_api() -> Iterator[Any]:
    made: list[Api] = []

    def make(**settings: Any) -> Api:
        made.append(Api(Ledger.in_memory(), **settings))
        return made[-1]

    yield make
    for api in made:
        api.close()


def metric(api: Api, name: str, **labels: str) -> float:
    """The value of one sample on /metrics (0 when absent)."""
    for family in text_string_to_metric_families(api.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def owner_registration(ledger: Ledger, owner: SigningKey) -> SignedEntry:
    fields = {"subject": owner.address, "public_key": owner.public_key.b64, "role": "owner"}
    return ledger.sign_next(owner, "register", fields)


def test_metrics_count_requests_ingest_refusals_and_ledger_size(make_api):
    """/metrics counts requests by route template, entries ingested, refusals by code, size."""
    api = make_api()
    owner = SigningKey.generate()
    api.get("/agents/sl1" + "0" * 40)
    assert api.post("/agents", owner, {"entries": [wire(owner_registration(api.ledger, owner))]}
                    ).status_code == 201  # fmt: skip
    assert api.post("/entries", None, {"entries": []}).status_code == 401
    route = {"route": "/agents/{address}", "method": "GET", "status": "404"}
    assert metric(api, "sealog_http_requests_total", **route) == 1
    assert metric(api, "sealog_entries_ingested_total") == 1
    assert metric(api, "sealog_submissions_refused_total", code="unauthorized") == 1
    assert metric(api, "sealog_ledger_entries") == 1
    hist = {"route": "/agents", "method": "POST"}
    assert metric(api, "sealog_http_request_duration_seconds_count", **hist) == 1


def test_metrics_show_the_sequencers_commits_and_refusals(make_api):
    """Commits, entries, submissions by outcome and commit time come from the sequencer."""
    api = make_api()
    owner = SigningKey.generate()
    entry = owner_registration(api.ledger, owner)
    assert api.post("/agents", owner, {"entries": [wire(entry)]}).status_code == 201
    assert api.post("/agents", owner, {"entries": [wire(entry)]}).status_code == 409
    assert metric(api, "sealog_sequencer_commits_total") == 1
    assert metric(api, "sealog_sequencer_entries_total") == 1
    assert metric(api, "sealog_sequencer_submissions_total", outcome="committed") == 1
    assert metric(api, "sealog_sequencer_submissions_total", outcome="replayed-seq") == 1
    assert metric(api, "sealog_sequencer_commit_seconds_count") == 1
    assert metric(api, "sealog_sequencer_commit_seconds_sum") > 0
    assert metric(api, "sealog_sequencer_largest_group") == 1


def test_two_apps_in_one_process_keep_separate_metrics(make_api):
    """Each app has its own registry: one app's requests never show on another's /metrics."""
    first, second = make_api(), make_api()
    first.get("/healthz")
    labels = {"route": "/healthz", "method": "GET", "status": "200"}
    assert metric(first, "sealog_http_requests_total", **labels) == 1
    assert metric(second, "sealog_http_requests_total", **labels) == 0


def test_request_ids_are_echoed_or_made(make_api):
    """A sane X-Request-Id comes back unchanged; a missing or odd one is replaced by a fresh id."""
    api = make_api()
    assert api.get("/healthz", **{"X-Request-Id": "abc-123"}).headers["x-request-id"] == "abc-123"
    made = api.get("/healthz", **{"X-Request-Id": "bad id\x7f"}).headers["x-request-id"]
    assert made != "bad id\x7f"
    assert len(made) == 32
    assert api.get("/nowhere").headers["x-request-id"]


def test_each_request_logs_one_json_line(make_api, caplog):
    """The access log has one record per request with method, route, status, duration, author."""
    api = make_api()
    owner = SigningKey.generate()
    with caplog.at_level(logging.INFO, logger="sealog.access"):
        api.post("/agents", owner, {"entries": [wire(owner_registration(api.ledger, owner))]},
                 **{"X-Request-Id": "r1"})  # fmt: skip
    (record,) = [r for r in caplog.records if r.name == "sealog.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "r1"
    assert (line["method"], line["route"], line["status"]) == ("POST", "/agents", 201)
    assert line["author"] == owner.address
    assert line["duration_ms"] >= 0
    assert line["level"] == "info"


def test_unsigned_clients_are_rate_limited_per_ip_with_retry_after(make_api):
    """Past its burst an unsigned client gets 429 rate-limited with Retry-After."""
    api = make_api(rate=1, burst=2)
    assert [api.get("/healthz").status_code for _ in range(2)] == [200, 200]
    refused = api.get("/healthz")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "https://sealog.dev/problems/rate-limited"
    assert int(refused.headers["retry-after"]) >= 1


def test_signed_requests_are_charged_to_their_author_only_once_verified(make_api):
    """A forged Sealog-Author costs the sender's IP, never the named author's own budget."""
    api = make_api(rate=0.001, burst=1)
    owner = SigningKey.generate()
    stranger = SigningKey.generate()
    forged = api.post("/agents", stranger, {"entries": []}, **{"Sealog-Author": owner.address})
    assert forged.status_code == 401
    body = {"entries": [wire(owner_registration(api.ledger, owner))]}
    assert api.post("/agents", owner, body).status_code == 201
    assert api.post("/agents", owner, body).status_code == 429
    assert api.get("/healthz").status_code == 429


def test_token_buckets_refill_at_their_rate():
    """A bucket spent to zero refills at `rate` per second and never above its burst."""
    buckets = TokenBuckets(rate=2, burst=2)
    assert [buckets.take("k", now=0) for _ in range(2)] == [0, 0]
    assert buckets.take("k", now=0) == pytest.approx(0.5)
    assert buckets.take("k", now=0.5) == 0
    assert TokenBuckets(rate=0, burst=5).take("k") == 0


def test_docs_page_is_self_contained(make_api):
    """/docs is served with no external script or style: it works offline."""
    page = make_api().get("/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text
    assert "http://" not in page.text
    assert "https://" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
