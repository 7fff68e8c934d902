"""Translate domain errors (and edge failures) to HTTP answers with one JSON error body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from commerce.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
    Unavailable,
)


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable error code")
    message: str = Field(description="what went wrong, for people")
    details: dict[str, Any] = Field(default_factory=dict, description="data about the error")


class ErrorBody(BaseModel):
    error: ErrorDetail


class EdgeError(DomainError):
    """An error found by the edge itself (bad JSON, oversized body...), with its own status."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.status = status
        self.code = code


def status_for(exc: DomainError) -> int:
    if isinstance(exc, EdgeError):
        return exc.status
    if isinstance(exc, Unauthenticated):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidInput):
        return 422
    if isinstance(exc, Unavailable):
        return 503
    return 400


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JSONResponse(body, status_code=status, headers=headers)


def error_body(exc: DomainError) -> dict[str, Any]:
    """The error as a JSON object (for answers that report several outcomes, like bulk shipping)."""
    return {
        "status": status_for(exc),
        "code": exc.code,
        "message": exc.message,
        "details": _jsonable(exc.details),
    }


def domain_error_response(exc: DomainError) -> JSONResponse:
    status = status_for(exc)
    headers = {"WWW-Authenticate": 'Bearer realm="yellowcart"'} if status == 401 else None
    return error_response(status, exc.code, exc.message, _jsonable(exc.details), headers)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
