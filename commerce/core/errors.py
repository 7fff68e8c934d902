"""Domain errors. Each carries data; the edge translates them to HTTP or WebSocket answers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any


class DomainError(Exception):
    """Base of every error a business action raises on purpose."""

    code = "domain_error"

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class Unauthenticated(DomainError):
    """No valid identity was presented where one is needed."""

    code = "unauthenticated"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    code = "forbidden"


class NotFound(DomainError):
    """The named thing does not exist (or is not visible to the caller)."""

    code = "not_found"

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found", details={"kind": kind, "id": ident})
        self.kind = kind
        self.ident = ident


class InvalidInput(DomainError):
    """Input that is well-formed but breaks a business rule about its values."""

    code = "invalid_input"


class Conflict(DomainError):
    """The request clashes with the current state of a resource."""

    code = "conflict"


class InvalidTransition(Conflict):
    """A state machine refused a move; ``allowed`` lists the moves it would take."""

    code = "invalid_transition"

    def __init__(self, entity: str, current: str, target: str, allowed: Iterable[str]) -> None:
        allowed_list = sorted(allowed)
        super().__init__(
            f"{entity} cannot move from {current} to {target}; allowed: "
            + (", ".join(allowed_list) if allowed_list else "none (final state)"),
            details={"entity": entity, "from": current, "to": target, "allowed": allowed_list},
        )
        self.entity = entity
        self.current = current
        self.target = target
        self.allowed = allowed_list


class IdempotencyMismatch(Conflict):
    """An idempotency key was reused with a different request."""

    code = "idempotency_mismatch"


class PurchaseRefused(Conflict):
    """A purchase attempt the sale cannot take now; ``code`` says why (sold_out, limit_reached, ...)."""

    def __init__(self, reason: str, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details={"reason": reason, **(details or {})})
        self.code = reason


class NoStockLeft(Conflict):
    """A listing cannot go on sale: the room has no units of it left (none allotted, or all sold)."""

    code = "no_stock_left"


class Unavailable(DomainError):
    """A party we depend on (the database, the payment provider) cannot answer now; retrying later is
    safe. ``retry_after`` is the whole seconds a client should wait (the edge sends it as Retry-After)."""

    code = "unavailable"

    def __init__(
        self, message: str, *, retry_after: float = 1, details: Mapping[str, Any] | None = None
    ) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(message, details={**(details or {}), "retry_after": self.retry_after})


class DatabaseUnavailable(Unavailable):
    """The database could not take the work in time. ``reason``: ``pool_exhausted`` (no connection
    free within the wait), ``database_busy`` (SQLite's write lock not free within the wait),
    ``connection_lost`` (the connection dropped before the commit, so nothing was written) or
    ``commit_unknown`` (see ``CommitUnknown``)."""

    code = "database_unavailable"

    def __init__(self, reason: str, message: str, *, retry_after: float = 1) -> None:
        super().__init__(message, retry_after=retry_after, details={"reason": reason})
        self.reason = reason


class CommitUnknown(DatabaseUnavailable):
    """The connection dropped while the commit was on its way: the work may or may not have been
    written. Never retried blindly; a retry with the same Idempotency-Key finds out."""

    def __init__(self, *, retry_after: float = 1) -> None:
        super().__init__(
            "commit_unknown",
            "the database connection dropped during the commit; retry with the same Idempotency-Key",
            retry_after=retry_after,
        )


class FileRefused(InvalidInput):
    """A file the content checks refuse; ``code`` says why: ``unsupported_type`` (``details.detected``
    names what its bytes are) or ``too_large`` (``details.limit``, the kind's limit in bytes)."""

    def __init__(self, reason: str, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details={"reason": reason, **(details or {})})
        self.reason = reason
        self.code = reason


class LinkRefused(Forbidden):
    """A signed file link that does not admit its bearer; ``code`` says why: ``link_missing`` (no or
    malformed signature), ``link_invalid`` (the signature does not match) or ``link_expired``."""

    def __init__(self, reason: str, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details={"reason": reason, **(details or {})})
        self.reason = reason
        self.code = reason
