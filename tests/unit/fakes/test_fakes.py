"""The scripted model APIs that regenerate the trace fixtures stream what real clients parse."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[3]))

from tests.fakes.anthropic_api import FakeAnthropicAPI, text_turn, tool_turn
from tests.fakes.responses_api import FakeResponsesAPI, function_call, message


def post(url: str, body: dict) -> str:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.read().decode()


def sse_types(text: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("event: ")]


def test_the_anthropic_fake_streams_the_messages_event_sequence():
    """A scripted tool turn streams message_start … message_stop with the tool_use block."""
    script = [tool_turn(("Read", {"file_path": "a.txt"})), text_turn("done")]
    with FakeAnthropicAPI(script) as api:
        body = {"model": "m", "max_tokens": 9, "stream": True, "tools": [{"name": "Read"}],
                "messages": [{"role": "user", "content": "go"}]}  # fmt: skip
        events = sse_types(post(api.url + "/v1/messages", body))
        assert events[0] == "message_start"
        assert events[-1] == "message_stop"
        assert "content_block_delta" in events
        assert api.remaining == 1


def test_the_responses_fake_plays_its_script_in_order():
    """Each POST /responses answers the next scripted turn, tool calls included."""
    script = [[function_call("exec_command", {"cmd": "ls"}, call_id="c1")], [message("done")]]
    with FakeResponsesAPI(script) as api:
        first = json.loads(
            post(api.url + "/responses", {"model": "m", "input": "x", "stream": False})
        )
        second = json.loads(
            post(api.url + "/responses", {"model": "m", "input": "y", "stream": False})
        )
    assert first["output"][0]["call_id"] == "c1"
    assert second["output"][0]["type"] == "message"
