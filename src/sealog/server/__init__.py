"""The HTTP service: ``create_app(settings)`` builds the API over one ledger.

See ``docs/api.md`` for the routes, the signed-request scheme and the errors
(RFC 9457 problem details).
"""

from __future__ import annotations

from sealog.server.app import Settings, create_app

__all__ = ["Settings", "create_app"]
