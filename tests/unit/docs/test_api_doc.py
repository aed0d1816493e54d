"""docs/api.md stays true: its route table matches /openapi.json, its signing example verifies."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from sealog.crypto import SigningKey
from sealog.server import Settings, create_app
from sealog.signed_request import PREFIX, request_message

DOCS = Path(__file__).parents[3] / "docs"


def test_the_route_table_lists_every_operation():
    """Every operation in /openapi.json is a row of the docs/api.md route table, and no more."""
    spec = create_app(Settings()).openapi()
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    rows = re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \|", (DOCS / "api.md")
                      .read_text(encoding="utf-8"), re.MULTILINE)  # fmt: skip
    assert set(rows) == documented


def test_the_signing_example_is_exact():
    """The worked example's message, signature and key in docs/api.md are what the code makes."""
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    key = SigningKey(bytes(range(32)))
    message = request_message(
        "POST", "/agents", "1767225600", "000102030405060708090a0b0c0d0e0f", b'{"entries":[]}'
    )
    assert message.decode() in text
    assert f"Sealog-Signature: {base64.b64encode(key.sign(message)).decode()}" in text
    assert key.address in text
    assert key.public_key.b64 in text


def test_the_spec_names_the_request_signing_domain():
    """spec.md §3.3 lists the request-signing domain and its prefix bytes are the code's."""
    spec = (DOCS / "spec.md").read_text(encoding="utf-8")
    assert '`"sealog/request/v1\\n" ‖ METHOD' in spec
    assert PREFIX.hex() in spec
    assert "## 12. Signed requests" in spec
