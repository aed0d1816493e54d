"""Framework integrations: the gate inside the agent frameworks' own extension points.

Each integration is an optional extra and lives in its own module, imported explicitly, so
``import sealog`` never pulls a framework in:

* :mod:`sealog.integrations.langchain` — LangChain / LangGraph agents
  (``pip install 'sealog[langchain]'``): a middleware that gates tool calls and a callback
  that charges model usage to the session.
"""

from __future__ import annotations

__all__: list[str] = []
