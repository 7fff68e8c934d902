"""A small typed routing layer on Starlette: pydantic in, pydantic out, one OpenAPI document.

Each operation declares its body, query and response models; the wrapper parses and validates input,
authenticates, calls the handler, serializes the answer and maps domain errors. The same declarations
produce the OpenAPI document, so what is served and what is documented cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commerce.core import idempotency
from commerce.core.errors import DomainError, InvalidInput, NotFound
from commerce.core.identity import Principal, require_principal
from live.api.errors import EdgeError, ErrorBody, domain_error_response, unavailable
from live.container import Services

log = logging.getLogger("yellowcart.api")

MAX_ID = 2**63 - 1
IDEMPOTENCY_HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
AuthMode = Literal["public", "user"]
_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")


@dataclass
class Ctx:
    """What a handler gets: the request, the caller, the services, parsed path/body/query."""

    request: Request
    principal: Principal | None
    services: Services
    path: dict[str, Any]
    body: Any = None
    query: Any = None
    raw_body: bytes = b""

    @property
    def user(self) -> Principal:
        return require_principal(self.principal)


Handler = Callable[[Ctx], Awaitable[Any]]


@dataclass
class Operation:
    method: str
    path: str  # Starlette template, e.g. /rooms/{room_id:int}
    handler: Handler
    summary: str
    tags: list[str]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: AuthMode
    media_type: str = "application/json"
    extra: dict[int, type[BaseModel]] = field(default_factory=dict)
    # "required": the handler keeps its own idempotency record (orders) and needs the header
    idempotency: Literal["generic", "required"] = "generic"

    @property
    def openapi_path(self) -> str:
        return _PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def body_required(self) -> bool:
        """A body whose fields are all optional may be left out: no body, empty or ``{}`` are alike."""
        return self.body is not None and any(f.is_required() for f in self.body.model_fields.values())


class Api:
    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def op(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tags: list[str],
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        auth: AuthMode = "user",
        media_type: str = "application/json",
        extra: dict[int, type[BaseModel]] | None = None,
        idempotency: Literal["generic", "required"] = "generic",
    ) -> Callable[[Handler], Handler]:
        """Register a handler; ``extra`` documents further answers (e.g. 503) with their models.
        ``idempotency="required"``: the header is mandatory and the handler itself makes retries safe."""

        def register(fn: Handler) -> Handler:
            self.operations.append(
                Operation(
                    method,
                    path,
                    fn,
                    summary,
                    tags,
                    body,
                    query,
                    response,
                    status,
                    auth,
                    media_type,
                    dict(extra or {}),
                    idempotency,
                )
            )
            return fn

        return register

    def include(self, other: Api) -> None:
        self.operations.extend(other.operations)

    def routes(self) -> list[Route]:
        by_path: dict[str, dict[str, Operation]] = {}
        for op in self.operations:
            by_path.setdefault(op.path, {})[op.method] = op
        return [
            Route(path, _unavailable_as_503(_endpoint(ops)), methods=list(ops))
            for path, ops in by_path.items()
        ]

    def openapi(self, *, title: str, version: str, description: str = "") -> dict[str, Any]:
        models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
            (ErrorBody, "serialization")
        ]
        for op in self.operations:
            if op.body is not None:
                models.append((op.body, "validation"))
            if op.query is not None:
                models.append((op.query, "validation"))
            if op.response is not None:
                models.append((op.response, "serialization"))
            models.extend((m, "serialization") for m in op.extra.values())
        refs, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
        schemas: dict[str, Any] = defs.get("$defs", {})
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(op.openapi_path, {})[op.method.lower()] = _describe(op, refs, schemas)
        return {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version, "description": description},
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            },
        }


def _describe(op: Operation, refs: dict[Any, dict[str, Any]], schemas: dict[str, Any]) -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/ErrorBody"}
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "tags": op.tags}
    params: list[dict[str, Any]] = []
    for name, conv in _PARAM.findall(op.path):
        schema: dict[str, Any] = _PATH_SCHEMAS.get(conv, {"type": "string"})
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    if op.method != "GET" and op.auth == "user":
        params.append(
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": op.idempotency == "required",
                "description": "retry-safe key: a repeat with the same key and request gets the first answer",
                "schema": {"type": "string", "pattern": _VALID_KEY.pattern},
            }
        )
    if op.query is not None:
        # the query model's own schema, whose references point into components/schemas like the rest
        qschema = schemas[refs[(op.query, "validation")]["$ref"].rsplit("/", 1)[1]]
        required = set(qschema.get("required", []))
        for name, prop in qschema.get("properties", {}).items():
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if prop.get("type") == "array":
                param.update(style="form", explode=True)
            params.append(param)
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    ok: dict[str, Any] = {"description": "success"}
    if op.response is not None:
        ok["content"] = {"application/json": {"schema": refs[(op.response, "serialization")]}}
    elif op.media_type != "application/json":
        ok["content"] = {op.media_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(op.status): ok}
    for code, model in op.extra.items():
        responses[str(code)] = {
            "description": "see body",
            "content": {"application/json": {"schema": refs[(model, "serialization")]}},
        }
    codes = {400, 404, 422} | ({401, 403} if op.auth == "user" else {401}) | {409, 413, 415}
    for code in sorted(codes):
        responses[str(code)] = {
            "description": _REASONS[code],
            "content": {"application/json": {"schema": error}},
        }
    responses.setdefault("503", _UNAVAILABLE)
    out["responses"] = responses
    out["security"] = [{"bearer": []}] if op.auth == "user" else [{}, {"bearer": []}]
    return out


_UNAVAILABLE = {
    "description": "the database or Redis cannot take the request now (every connection busy for the "
    "whole wait, a connection lost); nothing was done unless the body says commit_unknown: retry "
    "after Retry-After seconds (with the same Idempotency-Key)",
    "headers": {
        "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}
    },
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "date": {"type": "string", "format": "date"},
}


class _DateConvertor(Convertor[str]):
    """``{day:date}``: a calendar date, YYYY-MM-DD, given to the handler as text (it checks the calendar)."""

    regex = "[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("date", _DateConvertor())

_REASONS = {
    400: "malformed request (bad JSON)",
    401: "missing, invalid or expired token",
    403: "the caller may not do this",
    404: "not found",
    409: "conflicts with the current state (illegal transitions name the allowed moves)",
    413: "request body too large",
    415: "request body is not JSON",
    422: "input failed validation",
}


def _endpoint(ops: dict[str, Operation]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        op = ops[request.method]
        request.scope["yc.route"] = op.openapi_path
        services: Services = request.app.state.services
        try:
            ctx = await _context(request, op, services)
        except DomainError as exc:
            return domain_error_response(exc)
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if op.idempotency == "required":
            if key is None or not _VALID_KEY.match(key):
                return domain_error_response(
                    InvalidInput(
                        f"this request needs an {IDEMPOTENCY_HEADER} header (1-128 of A-Z a-z 0-9 . _ : -)",
                        details={"header": IDEMPOTENCY_HEADER},
                    )
                )
            return await _answer(op, ctx)
        if key is not None and request.method != "GET" and ctx.principal is not None:
            return await _idempotent(op, ctx, key)
        return await _answer(op, ctx)

    return endpoint


def _unavailable_as_503(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A database or Redis that cannot take the work now (pool exhausted, lock held past the wait,
    connection lost) is a 503 with Retry-After and a JSON body naming the problem, never a 500."""

    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Exception as exc:
            services: Services = request.app.state.services
            busy = unavailable(exc, services.db)
            if busy is None:
                raise
            log.warning("answered 503: %s", busy.code, extra={"details": busy.details}, exc_info=exc)
            return domain_error_response(busy)

    return answer


async def _answer(op: Operation, ctx: Ctx) -> Response:
    try:
        result = await op.handler(ctx)
    except DomainError as exc:
        return domain_error_response(exc)
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=op.status)
    assert isinstance(result, BaseModel)
    return Response(result.model_dump_json(), status_code=op.status, media_type="application/json")


async def _idempotent(op: Operation, ctx: Ctx, key: str) -> Response:
    """Run the operation once per (user, key); a retry gets the first answer."""
    if not _VALID_KEY.match(key):
        return domain_error_response(
            EdgeError(
                422,
                "validation_error",
                f"{IDEMPOTENCY_HEADER} must be 1-128 letters, digits or . _ : -",
                {
                    "in": "header",
                    "errors": [{"field": IDEMPOTENCY_HEADER, "message": "invalid key", "type": "pattern"}],
                },
            )
        )
    assert ctx.principal is not None
    db, now, user = ctx.services.db, ctx.services.clock, ctx.principal.user_id
    digest = hashlib.sha256()
    for part in (
        ctx.request.method.encode(),
        ctx.request.url.path.encode(),
        ctx.request.url.query.encode(),
        ctx.raw_body,
    ):
        digest.update(len(part).to_bytes(8, "big") + part)
    try:
        stored = await idempotency.claim(
            db,
            user_id=user,
            key=key,
            method=ctx.request.method,
            path=ctx.request.url.path,
            request_hash=digest.hexdigest(),
            now=now(),
        )
    except DomainError as exc:
        return domain_error_response(exc)
    if stored is not None:
        return Response(
            stored.body or None,
            status_code=stored.status_code,
            media_type="application/json" if stored.body else None,
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        response = await _answer(op, ctx)
    except BaseException:
        await idempotency.release(db, user_id=user, key=key)
        raise
    if response.status_code >= 500:  # "try again later" is not the answer to keep for this key
        await idempotency.release(db, user_id=user, key=key)
        return response
    body = bytes(response.body).decode() if response.body else ""
    await idempotency.complete(
        db, user_id=user, key=key, answer=idempotency.StoredAnswer(response.status_code, body), now=now()
    )
    return response


async def _context(request: Request, op: Operation, services: Services) -> Ctx:
    path: dict[str, Any] = {}
    for name, value in request.path_params.items():
        if isinstance(value, int) and not 1 <= value <= MAX_ID:
            raise NotFound(name.removesuffix("_id"), value)
        path[name] = value
    principal = services.tokens.from_authorization(request.headers.get("authorization"))
    if op.auth == "user":
        require_principal(principal)
    ctx = Ctx(request=request, principal=principal, services=services, path=path)
    if op.body is not None:
        optional = not op.body_required
        ctx.raw_body = await _read_body(request, services.settings.max_body_bytes, optional=optional)
        ctx.body = _parse_body(ctx.raw_body, op.body, optional=optional)
    if op.query is not None:
        ctx.query = _parse_query(request, op.query)
    return ctx


async def read_limited(request: Request, limit: int, too_large: str) -> bytes:
    """The raw body, refused with 413 ``body_too_large`` (``too_large`` its message) past ``limit`` bytes:
    by its declared length at once, else as soon as the stream passes it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise EdgeError(413, "body_too_large", too_large, {"limit": limit})
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise EdgeError(413, "body_too_large", too_large, {"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_body(request: Request, limit: int, *, optional: bool = False) -> bytes:
    """The raw body, at most ``limit`` bytes of JSON; an optional body may be absent, whatever its type."""
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json") and not optional:
        raise _unsupported(ctype)
    raw = await read_limited(request, limit, f"request body exceeds {limit} bytes")
    if optional and raw.strip() and ctype != "application/json" and not ctype.endswith("+json"):
        raise _unsupported(ctype)
    return raw


def _unsupported(ctype: str) -> EdgeError:
    return EdgeError(
        415, "unsupported_media_type", "request body must be application/json", {"content_type": ctype}
    )


def _parse_body(raw: bytes, model: type[BaseModel], *, optional: bool = False) -> BaseModel:
    if not raw.strip():
        if optional:
            return model.model_validate({})
        raise EdgeError(400, "malformed_json", "a JSON request body is required")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        # JSON Schema's "integer" is any number without a fractional part (2.0 is one): read such
        # numbers as integers and try again, so the server accepts what its document allows
        integral = _integral_numbers(raw)
        if integral is None:
            raise _validation_error(exc) from None
    try:
        return model.model_validate_json(integral)
    except ValidationError as exc:
        raise _validation_error(exc) from None


_INTEGRAL_LIMIT = Decimal(2**64)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _integral_numbers(raw: bytes) -> bytes | None:
    """The body again with every number written like ``2.0`` or ``2e3`` as an integer; None if it has none."""
    found = False

    def number(text: str) -> int | float:
        nonlocal found
        value = Decimal(text)
        if value.is_finite() and value == value.to_integral_value() and abs(value) < _INTEGRAL_LIMIT:
            found = True
            return int(value)
        result = float(text)
        if not math.isfinite(result):
            raise ValueError("number out of range")
        return result

    try:
        data = json.loads(raw, parse_float=number, parse_constant=_no_constant)
    except ValueError:
        return None
    return json.dumps(data, ensure_ascii=False).encode() if found else None


def _parse_query(request: Request, model: type[BaseModel]) -> BaseModel:
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name not in request.query_params:
            continue
        if typing.get_origin(_unwrap(info.annotation)) is list:
            data[name] = request.query_params.getlist(name)
        else:
            data[name] = request.query_params[name]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, where="query") from None


def _unwrap(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and args:
        non_none = [a for a in args if a is not type(None)]
        return non_none[0] if non_none else annotation
    return annotation


def _validation_error(exc: ValidationError, where: str = "body") -> EdgeError:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return EdgeError(
            400, "malformed_json", "request body is not valid JSON", {"reason": errors[0]["msg"]}
        )
    items = [
        {"field": ".".join(str(p) for p in e["loc"]) or where, "message": e["msg"], "type": e["type"]}
        for e in errors[:20]
    ]
    first = items[0]
    return EdgeError(
        422,
        "validation_error",
        f"invalid {where}: {first['field']}: {first['message']}",
        {"in": where, "errors": items},
    )
