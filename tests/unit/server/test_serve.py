"""The API on a real socket: uvicorn on 127.0.0.1 in a thread; `sealog serve` stopped by SIGTERM."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from sealog.cli import main, serve
from sealog.crypto import SigningKey
from sealog.ledger import Ledger
from sealog.ledger.entry import ENTRY_VERSION, format_time, sign_entry
from sealog.server import Settings, create_app
from sealog.server.app import MAX_BODY
from sealog.signed_request import sign_request


def signed_entry(key: SigningKey, kind: str, fields: dict[str, Any], head: dict[str, Any]):
    """An entry signed by its author alone, following the head the server reported."""
    seq = 0 if head["seq"] is None else head["seq"] + 1
    common = {"v": ENTRY_VERSION, "kind": kind, "author": key.address, "seq": seq,
              "prev": head["id"], "time": format_time(datetime.now(UTC))}  # fmt: skip
    return sign_entry(key, {**fields, **common})


def wire(entry) -> dict[str, str]:
    return {"entry": base64.b64encode(entry.data).decode(),
            "sig": base64.b64encode(entry.signature).decode()}  # fmt: skip


def post(http: httpx.Client, path: str, key: SigningKey, body: Any) -> httpx.Response:
    raw = json.dumps(body).encode()
    headers = {"content-type": "application/json", **sign_request(key, "POST", path, raw)}
    return http.post(path, content=raw, headers=headers)


def register_owner(http: httpx.Client, owner: SigningKey) -> httpx.Response:
    head = {"seq": None, "id": None}
    fields = {"subject": owner.address, "public_key": owner.public_key.b64, "role": "owner"}
    entry = signed_entry(owner, "register", fields, head)
    return post(http, "/agents", owner, {"entries": [wire(entry)]})


def log_note(http: httpx.Client, key: SigningKey, n: int) -> httpx.Response:
    head = http.get(f"/agents/{key.address}/head").json()
    fields = {"session_id": f"s{n}", "event": "start"}
    return post(http, "/logs", key, wire(signed_entry(key, "session", fields, head)))


@pytest.fixture
def loopback() -> Iterator[tuple[str, Ledger]]:
    """uvicorn serving a fresh in-memory ledger on 127.0.0.1, any free port, in a thread."""
    ledger = Ledger.in_memory()
    app = create_app(Settings(ledger=ledger, max_body=64 * 1024))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False,
                            lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", ledger
    server.should_exit = True
    thread.join(10)
    ledger.close()


def test_a_real_server_answers_health_signed_writes_and_metrics(loopback):
    """Over TCP: health, readiness, an author-signed write on the head it read, then metrics."""
    base, ledger = loopback
    owner = SigningKey.generate()
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").json()["status"] == "ready"
        assert register_owner(http, owner).status_code == 201
        written = log_note(http, owner, 1)
        assert written.status_code == 201, written.text
        assert written.headers["x-request-id"]
        assert ledger.get(written.json()["index"]).entry.author == owner.address
        text = http.get("/metrics").text
    assert 'sealog_http_requests_total{method="POST",route="/logs",status="201"} 1.0' in text
    assert "sealog_ledger_entries 2.0" in text


def test_a_real_server_cuts_off_a_huge_chunked_body(loopback):
    """A chunked body past the limit gets 413 too-large over TCP, without being read whole."""
    base, ledger = loopback

    def chunks():
        for _ in range(1024):
            yield b"x" * 1024

    with httpx.Client(base_url=base, timeout=10) as http:
        response = http.post("/entries", content=chunks(),
                             headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert response.json()["type"] == "https://sealog.dev/problems/too-large"
    assert ledger.size() == 0


def test_serve_and_server_agree_on_the_default_body_limit():
    """`sealog serve --max-body` defaults to the server's own MAX_BODY."""
    assert serve.MAX_BODY == MAX_BODY


def _started(process: subprocess.Popen[bytes], log: Path) -> str:
    """Read the JSON log until uvicorn says where it listens; its base URL."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_text(encoding="utf-8").splitlines():
            message = json.loads(line)["message"]
            if "running on" in message:
                return message.split("running on ")[1].split(" ")[0]
        time.sleep(0.05)
    pytest.fail(f"sealog serve did not start (exit {process.poll()}): {log.read_text()}")


def test_sigterm_loses_no_receipted_entry(tmp_path: Path):
    """`sealog serve` stopped by SIGTERM mid-stream: every entry given a receipt is stored."""
    home = tmp_path / ".sealog"
    Ledger.init(home).close()
    log = tmp_path / "serve.log"
    command = [sys.executable, "-c", "from sealog.cli import run; run()", "serve",
               "--home", str(home), "--port", "0", "--log-level", "info"]  # fmt: skip
    receipts: list[dict[str, Any]] = []
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stderr=sink, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    try:
        base = _started(process, log)
        owner = SigningKey.generate()
        with httpx.Client(base_url=base, timeout=10) as http:
            assert register_owner(http, owner).status_code == 201
            stop = threading.Event()

            def write() -> None:
                n = 0
                while not stop.is_set():
                    try:
                        response = log_note(http, owner, n)
                    except httpx.HTTPError:
                        return
                    if response.status_code == 201:
                        receipts.append(response.json())
                    n += 1

            writer = threading.Thread(target=write)
            writer.start()
            deadline = time.monotonic() + 15
            while len(receipts) < 5 and time.monotonic() < deadline:  # mid-stream, even if slow
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            assert process.wait(20) == 0
            stop.set()
            writer.join(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert receipts, "no entry was accepted before the signal"
    with Ledger.open(home) as ledger:
        for receipt in receipts:
            assert ledger.get(receipt["index"]).entry.id == receipt["id"]
        assert ledger.verify().ok
        assert ledger.size() >= len(receipts) + 1
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert any(line.get("route") == "/logs" and line.get("status") == 201 for line in lines)
    assert lines[-1]["message"] == "ledger closed; stopped"


def test_serve_without_a_home_fails_with_one_line(tmp_path, capsys):
    """`sealog serve` with no ledger home exits non-zero with a one-line hint, binding nothing."""
    assert main(["serve", "--home", str(tmp_path / "nowhere"), "--port", "0"]) != 0
    err = capsys.readouterr().err
    assert "sealog init" in err
    assert "Traceback" not in err
