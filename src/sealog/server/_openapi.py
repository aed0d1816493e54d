"""The API's description: OpenAPI 3.1 with every error declared, and an offline docs page.

FastAPI describes success bodies from the routes' pydantic models; this module adds what it
cannot see: every route's RFC 9457 problem responses (all ``application/problem+json`` with the
:class:`Problem` schema), in place of FastAPI's default ``422 HTTPValidationError`` (sealog
answers a malformed request with ``400 invalid-request``). Which statuses a route declares
follows from its shape:

* every route: 413 (body too large), 429 (rate-limited), 503 (storage unavailable);
* a route taking parameters or a body: 400, 404, 422;
* a write (any method but GET): 401, 403, 409 as well.

``/docs`` is a self-contained page, ``_docs.html`` (no CDN: FastAPI's Swagger UI and ReDoc load
their scripts from one), that lists the operations read from ``/openapi.json`` in plain JS.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from sealog.server._problems import MEDIA_TYPE

__all__ = ["Problem", "ProblemLocation", "install_openapi"]


class ProblemLocation(BaseModel):
    """One invalid part of a request: where, and what is wrong with it."""

    location: str = Field(description="dotted path: body.entries.0.sig, query.size …")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem: every error the API answers has this shape."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="https://sealog.dev/problems/<code>; match on the code")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="what went wrong, specifically")
    errors: list[ProblemLocation] | None = Field(
        default=None, description="invalid-request only: every invalid part of the request"
    )
    retry_after: int | None = Field(
        default=None, description="rate-limited only: seconds to wait (also in Retry-After)"
    )


_WHY = {
    400: "Malformed request (`invalid-request`) or unusable input.",
    401: "Missing, malformed, stale, replayed or invalid request signature.",
    403: "The signer may not do this (`not-your-entry`, `unknown-author`, policy).",
    404: "No such agent, session, entry, policy version or tree size.",
    409: "The entry conflicts with the log (sequence, chain, time, gate decision).",
    413: "The request body is larger than the server accepts (`too-large`).",
    422: "Well-formed but refused (bad entry field, signature, verification failure).",
    429: "Too many requests from this client or author (`rate-limited`); see Retry-After.",
    503: "The ledger's storage is unavailable.",
}
_ALWAYS = (413, 429, 503)
_WITH_INPUT = (400, 404, 422)
_WRITES = (401, 403, 409)


def _statuses(method: str, operation: dict[str, Any]) -> list[int]:
    found = set(_ALWAYS)
    if operation.get("parameters") or operation.get("requestBody"):
        found.update(_WITH_INPUT)
    if method != "get":
        found.update(_WRITES)
    return sorted(found)


def _declare_errors(schema: dict[str, Any]) -> None:
    ref = {"$ref": "#/components/schemas/Problem"}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    for path in schema.get("paths", {}).values():
        for method, operation in path.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in _statuses(method, operation):
                responses[str(status)] = {
                    "description": _WHY[status],
                    "content": {MEDIA_TYPE: {"schema": ref}},
                }
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def install_openapi(app: FastAPI) -> None:
    """Describe the errors of every route, and serve the offline docs page at ``/docs``.

    Build the app with ``docs_url=None, redoc_url=None`` (their pages need a CDN).
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            _declare_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    page = resources.files(__package__).joinpath("_docs.html").read_text(encoding="utf-8")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": _CSP})


_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"
)
