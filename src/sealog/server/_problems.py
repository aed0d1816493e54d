"""RFC 9457 problem details: every error the API answers, with a stable ``type``.

Each sealog error maps to a status and to ``type`` = ``https://sealog.dev/problems/<code>``,
where ``code`` is the error's stable slug (``not-found``, ``decision-mismatch`` …), so clients
can match on it. Nothing else ever reaches a client: an unexpected exception is logged and
answered as a generic 500 problem without a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sealog.errors import (
    EntryRejected,
    Error,
    InputError,
    NotFound,
    PolicyViolation,
    StorageError,
    UsageError,
    VerificationError,
)

__all__ = ["PROBLEM_BASE", "ApiError", "install_problem_handlers", "problem"]

_LOG = logging.getLogger("sealog.server")
PROBLEM_BASE = "https://sealog.dev/problems/"
MEDIA_TYPE = "application/problem+json"

_CONFLICTS = frozenset(
    {"replayed-seq", "skipped-seq", "bad-chain", "time-regressed", "already-registered"}
    | {"policy-version", "stale-policy", "decision-mismatch", "out-of-place", "not-allowed"}
)
_AUTH = frozenset({"bad-request-signature", "stale-request", "replayed-request", "unauthorized"})


class ApiError(Exception):
    """An HTTP-level refusal that is not a sealog error (auth, size, rate)."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        """Answer ``status`` with problem ``code`` and ``detail`` (plus extension members)."""
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": code.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": "Sealog-Signature"} if status == 401 else None  # noqa: PLR2004
    if "retry_after" in extra:
        headers = {"Retry-After": str(extra["retry_after"])}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


_STATUS: tuple[tuple[type[Error], int], ...] = (
    (NotFound, 404),
    (PolicyViolation, 403),
    (StorageError, 503),
    (UsageError, 400),
    (InputError, 400),
)


def status_of(exc: Error) -> int:
    """The HTTP status a sealog error answers with."""
    if isinstance(exc, VerificationError):
        return 401 if exc.code in _AUTH else 422
    if isinstance(exc, EntryRejected):
        if exc.code == "unknown-author":
            return 403
        return 409 if exc.code in _CONFLICTS else 422
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 400)


def _locations(errors: Any) -> list[Mapping[str, Any]]:
    return [
        {"location": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg"))}
        for e in errors
    ]


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error as problem+json."""

    @app.exception_handler(Error)
    async def sealog_error(_: Request, exc: Error) -> JSONResponse:
        return problem(status_of(exc), exc.code, exc.diagnostics())

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _locations(exc.errors())
        first = errors[0] if errors else {"location": "", "message": "invalid request"}
        detail = f"{first['location']}: {first['message']}"
        return problem(400, "invalid-request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}
        code = codes.get(exc.status_code, "http-error")
        return problem(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, _exc: Exception) -> JSONResponse:
        _LOG.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal", "the server failed unexpectedly; see its log")
