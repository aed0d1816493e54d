"""Kill-switch webhooks against a real local HTTP receiver: signing, retries, grace, Block Kit."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path

import pytest

from sealog.canonical import canonicalize
from sealog.errors import UsageError, VerificationError
from sealog.policy._slack import FIELDS_MAX, HEADER_TEXT_MAX
from sealog.policy.notify import (
    Notification,
    Notifier,
    RetryPolicy,
    Webhook,
    sign_webhook,
    verify_webhook,
)

SECRET = "s3cret"
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, timeout=1.0, total_timeout=5)


class Receiver:
    """A real HTTP server on 127.0.0.1 that records requests and answers from a script."""

    def __init__(self, script=(), *, hang=False):
        self.script = list(script)
        self.hang = hang
        self.requests: list[tuple[dict[str, str], bytes, float]] = []
        self.release = threading.Event()
        self.received = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with owner.received:
                    owner.requests.append((dict(self.headers), body, time.monotonic()))
                    owner.received.notify_all()
                if owner.hang:
                    owner.release.wait(5)
                    return
                status, headers = owner.script.pop(0) if owner.script else (200, {})
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0K3N"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def wait_for(self, count, timeout=5.0):
        with self.received:
            self.received.wait_for(lambda: len(self.requests) >= count, timeout)
        return self.requests

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver_factory() -> Iterator:
    made: list[Receiver] = []

    def make(*args, **kwargs):
        made.append(Receiver(*args, **kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()


def kill(**overrides) -> Notification:
    values = {
        "event": "session_killed",
        "agent": "sl1agentaddress",
        "session_id": "sess-1",
        "reason": "pii_blocked reached 3 (limit 3)",
        "time": datetime.now(UTC),
        "rule_id": "violations.pii_blocked",
        "decision_class": "violation.threshold",
        "figures": {"pii_blocked": "3", "cost_usd": "1.25"},
        "policy_version": 2,
        "ledger_entry": "e-42",
    }
    return Notification(**{**values, **overrides})


def run(receiver, notification=None, *, retry=FAST, grace=0.0, close_timeout=10.0):
    notifier = Notifier([Webhook(receiver.url, SECRET, grace)], retry=retry)
    notifier.notify(notification or kill())
    assert notifier.close(close_timeout)
    return notifier.deliveries


def test_delivery_is_signed_and_verifies_on_the_receiving_side(receiver_factory):
    """The receiver gets canonical JSON whose signature verifies with the shared secret."""
    receiver = receiver_factory()
    notification = kill()
    (delivery,) = run(receiver, notification)
    (headers, body, _), *_ = receiver.wait_for(1)
    verify_webhook(SECRET, headers, body, now=time.time())
    assert body == canonicalize(notification.to_payload())
    assert json.loads(body)["sealog"]["event"] == "session_killed"
    assert headers["X-Sealog-Event"] == "session_killed"
    assert delivery.status == "delivered"
    assert delivery.attempts == 1
    assert delivery.http_status == 200
    assert delivery.first_attempt_at is not None


def test_delivery_record_hides_url_path_and_secret(receiver_factory):
    """A Delivery names the endpoint's host only: Slack URLs carry a token in the path."""
    receiver = receiver_factory()
    (delivery,) = run(receiver)
    text = json.dumps(delivery.record())
    assert "T0K3N" not in text
    assert SECRET not in text
    assert "T0K3N" not in repr(Webhook(receiver.url, SECRET))


def test_retries_on_500_then_succeeds(receiver_factory):
    """Two 500s are retried; the third attempt succeeds and the record says so."""
    receiver = receiver_factory([(500, {}), (502, {})])
    (delivery,) = run(receiver)
    assert len(receiver.requests) == 3
    assert delivery.status == "delivered"
    assert delivery.attempts == 3
    assert delivery.error is None


def test_429_waits_for_retry_after(receiver_factory):
    """A 429 with Retry-After: 1 is retried no sooner than a second later."""
    receiver = receiver_factory([(429, {"Retry-After": "1"})])
    (delivery,) = run(receiver)
    first, second = receiver.requests
    assert second[2] - first[2] >= 0.95
    assert delivery.status == "delivered"
    assert delivery.attempts == 2


def test_no_retry_on_400(receiver_factory):
    """A 400 is final: one attempt, recorded as failed with its status."""
    receiver = receiver_factory([(400, {})])
    (delivery,) = run(receiver)
    assert len(receiver.requests) == 1
    assert delivery.status == "failed"
    assert delivery.http_status == 400
    assert delivery.error == "HTTP 400"


def test_gives_up_after_max_attempts(receiver_factory):
    """Persistent 503s stop after max_attempts and are recorded as failed."""
    receiver = receiver_factory([(503, {})] * 10)
    (delivery,) = run(receiver)
    assert delivery.status == "failed"
    assert delivery.attempts == FAST.max_attempts
    assert len(receiver.requests) == FAST.max_attempts


def test_hanging_receiver_times_out_without_blocking_the_caller(receiver_factory):
    """notify() returns in under 50 ms while the receiver hangs; the timeout is recorded."""
    receiver = receiver_factory(hang=True)
    retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01, timeout=0.3)
    seen = []
    notifier = Notifier([Webhook(receiver.url, SECRET)], retry=retry, on_delivery=seen.append)
    started = time.perf_counter()
    notifier.notify(kill())
    notifier.notify(kill(session_id="sess-2"))
    assert time.perf_counter() - started < 0.05
    assert notifier.close(5)
    assert [d.status for d in seen] == ["failed", "failed"]
    assert all("Timeout" in (d.error or "") for d in seen)
    assert all(d.attempts == 2 for d in seen)


def test_connection_refused_is_retried_then_recorded():
    """A closed port is retried up to the bound and recorded as a connection failure."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    notifier = Notifier([Webhook(f"http://127.0.0.1:{port}/x", SECRET)], retry=FAST)
    notifier.notify(kill())
    assert notifier.close(5)
    (delivery,) = notifier.deliveries
    assert delivery.status == "failed"
    assert delivery.attempts == FAST.max_attempts
    assert "ConnectError" in (delivery.error or "")


def test_close_drains_pending_notifications(receiver_factory):
    """Notifications queued just before close() are all delivered before it returns."""
    receiver = receiver_factory()
    with Notifier([Webhook(receiver.url, SECRET)], retry=FAST) as notifier:
        for i in range(5):
            notifier.notify(kill(session_id=f"s{i}"))
    assert len(receiver.requests) == 5
    assert [d.status for d in notifier.deliveries] == ["delivered"] * 5


def test_notify_after_close_is_recorded_as_dropped(receiver_factory):
    """A notification after close() is not sent and not raised: it is recorded as dropped."""
    receiver = receiver_factory()
    notifier = Notifier([Webhook(receiver.url, SECRET)], retry=FAST)
    notifier.close()
    notifier.notify(kill())
    (delivery,) = notifier.deliveries
    assert delivery.status == "dropped"
    assert receiver.requests == []


def test_grace_period_holds_kills_but_not_alerts(receiver_factory):
    """A kill waits out the grace period after its time; an alert sent later arrives first."""
    receiver = receiver_factory()
    notifier = Notifier([Webhook(receiver.url, SECRET, grace_period=0.6)], retry=FAST)
    started = time.monotonic()
    notifier.notify(kill())
    notifier.notify(kill(event="alert", reason="80% of budget"))
    requests = receiver.wait_for(2)
    notifier.close()
    events = [json.loads(body)["sealog"]["event"] for _, body, _ in requests]
    assert events == ["alert", "session_killed"]
    assert requests[1][2] - started >= 0.55


def test_grace_period_counts_from_the_kill_time(receiver_factory):
    """A kill that happened longer ago than the grace period is sent at once."""
    receiver = receiver_factory()
    old = kill(time=datetime.now(UTC) - timedelta(seconds=60))
    started = time.monotonic()
    run(receiver, old, grace=30)
    assert receiver.requests[0][2] - started < 1


def test_close_sends_held_kills_at_once(receiver_factory):
    """close() waives the grace period so a kill is never lost to a shutdown."""
    receiver = receiver_factory()
    started = time.monotonic()
    (delivery,) = run(receiver, grace=30)
    assert delivery.status == "delivered"
    assert time.monotonic() - started < 2


def test_on_delivery_errors_do_not_stop_the_worker(receiver_factory, caplog):
    """A failing on_delivery callback is logged and later deliveries still happen."""
    receiver = receiver_factory()

    def boom(_delivery):
        raise RuntimeError("callback bug")

    notifier = Notifier([Webhook(receiver.url, SECRET)], retry=FAST, on_delivery=boom)
    notifier.notify(kill())
    notifier.notify(kill(session_id="s2"))
    assert notifier.close()
    assert len(notifier.deliveries) == 2
    assert "on_delivery callback failed" in caplog.text


def test_payload_is_block_kit_with_limits_respected():
    """Header ≤ 150 chars, ≤ 10 fields of ≤ 2000 chars, a text fallback and the sealog copy."""
    figures = {f"count_{i:02}": str(i) for i in range(20)}
    payload = kill(agent="a" * 500, reason="r" * 5000, figures=figures).to_payload()
    header, summary, section, context = payload["blocks"]
    assert header["type"] == "header"
    assert header["text"]["type"] == "plain_text"
    assert len(header["text"]["text"]) <= HEADER_TEXT_MAX
    assert header["text"]["text"].endswith("…")
    assert len(summary["text"]["text"]) <= 3000
    assert len(section["fields"]) == FIELDS_MAX
    assert all(len(f["text"]) <= 2000 for f in section["fields"])
    assert "more in the sealog payload" in section["fields"][-1]["text"]
    assert context["type"] == "context"
    assert len(payload["text"]) <= 3000
    assert payload["sealog"]["figures"] == figures
    assert payload["sealog"]["reason"] == "r" * 5000


def test_payload_escapes_mrkdwn_control_characters():
    """&, < and > are escaped in mrkdwn, so <!channel> cannot ping anyone."""
    payload = kill(reason="<!channel> a & b > c", rule_id="<@U123>").to_payload()
    text = json.dumps(payload["blocks"]) + payload["text"]
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; a &amp; b &gt; c" in payload["blocks"][1]["text"]["text"]
    assert "&lt;@U123&gt;" in json.dumps(payload["blocks"][2])
    assert payload["sealog"]["reason"] == "<!channel> a & b > c"


def test_truncation_never_splits_an_escape_or_surrogate():
    """Cut text never ends inside an &amp; entity and counts emoji as two units."""
    payload = kill(reason="&" * 4000).to_payload()
    text = payload["blocks"][1]["text"]["text"]
    assert len(text) <= 3000
    assert text.removesuffix("…").endswith("&amp;")
    header = kill(agent="😀" * 200).to_payload()["blocks"][0]["text"]["text"]
    assert len(header.encode("utf-16-le")) // 2 <= HEADER_TEXT_MAX


def test_notification_validates_its_inputs():
    """Floats as figures, naive times and bad event slugs are refused."""
    with pytest.raises(UsageError):
        kill(figures={"cost": 1.5})
    with pytest.raises(UsageError):
        kill(time=datetime(2025, 1, 1))  # noqa: DTZ001
    with pytest.raises(UsageError):
        kill(event="Session Killed")


def test_verify_rejects_bad_missing_and_stale():
    """Tampered bodies, wrong secrets, missing headers and stale or future times all fail."""
    body = kill().body()
    now = 1_700_000_000
    headers = sign_webhook(SECRET, body, timestamp=now)
    verify_webhook(SECRET, {k.lower(): v for k, v in headers.items()}, body, now=now + 299)
    cases = {
        "webhook-bad-signature": [
            (SECRET, headers, body + b" ", now),
            ("other", headers, body, now),
        ],
        "webhook-unsigned": [
            (SECRET, {"X-Sealog-Timestamp": str(now)}, body, now),
            (SECRET, {"X-Sealog-Signature": headers["X-Sealog-Signature"]}, body, now),
            (SECRET, {**headers, "X-Sealog-Timestamp": "soon"}, body, now),
        ],
        "webhook-stale": [(SECRET, headers, body, now + 301), (SECRET, headers, body, now - 301)],
    }
    for code, args in cases.items():
        for secret, hdrs, data, at in args:
            with pytest.raises(VerificationError) as caught:
                verify_webhook(secret, hdrs, data, now=at)
            assert caught.value.code == code


def test_verify_accepts_any_of_several_signatures():
    """During secret rotation a comma-separated list verifies if one signature matches."""
    body = b"{}"
    now = datetime.now(UTC)
    new = sign_webhook("new", body, timestamp=int(now.timestamp()))
    old = sign_webhook("old", body, timestamp=int(now.timestamp()))
    both = {
        **new,
        "X-Sealog-Signature": f"{old['X-Sealog-Signature']}, {new['X-Sealog-Signature']}",
    }
    verify_webhook("new", both, body, now=now)
    verify_webhook("old", both, body, now=now)


def test_docs_receiver_example_accepts_real_deliveries():
    """The ten-line receiver in docs/webhooks.md accepts a signed delivery and refuses a bad one."""
    docs = Path(__file__).parents[3] / "docs" / "webhooks.md"
    (source,) = re.findall(r"### A receiver.*?```python\n(.*?)```", docs.read_text(), re.DOTALL)
    assert len(source.strip().splitlines()) == 10
    namespace: dict = {}
    exec(source.replace("HTTPServer((", "_unused = ((").replace(".serve_forever()", ""), namespace)

    class Quiet(namespace["Hook"]):
        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        for secret, expected in [("the shared secret", 204), ("wrong secret", 401)]:
            notifier = Notifier([Webhook(url, secret)], retry=FAST)
            notifier.notify(kill())
            assert notifier.close()
            assert notifier.deliveries[0].http_status == expected
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
