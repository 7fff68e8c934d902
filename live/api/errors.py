"""Translate domain errors (and edge failures) to HTTP answers with one JSON error body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.responses import JSONResponse

from commerce.core.database import Database
from commerce.core.errors import (
    Conflict,
    DomainError,
    FileRefused,
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
    if isinstance(exc, FileRefused) and exc.reason == "too_large":
        return 413
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
    if isinstance(exc, Unavailable):
        headers = {"Retry-After": str(exc.retry_after)}
    return error_response(status, exc.code, exc.message, _jsonable(exc.details), headers)


def unavailable(exc: BaseException, db: Database) -> Unavailable | None:
    """The 503 answer for a failure that means "try again shortly" (the database's pool exhausted, its
    lock held past the wait or its connection lost; Redis unreachable or its pool exhausted; a
    connection refused); None for anything else, which stays a 500 (a bug)."""
    if isinstance(exc, Unavailable):
        return exc
    busy = db.unavailable(exc)
    if busy is not None:
        return busy
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return Unavailable(
            "Redis (stock counters, room messages) is not answering; try again shortly",
            retry_after=db.retry_after,
            details={"reason": "redis_unavailable"},
        )
    if isinstance(exc, ConnectionError):
        return Unavailable(
            "a service this server depends on refused or dropped the connection; try again shortly",
            retry_after=db.retry_after,
            details={"reason": "connection_failed"},
        )
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
