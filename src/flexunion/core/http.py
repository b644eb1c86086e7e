"""What every domain's router shares: who may call, the bearer security requirement, the
Idempotency-Key header, paging parameters, and problem+json answers for the OpenAPI document.

A domain's `routes.py` exports a `Router` whose `opt` is one of the access presets below
(`opt` is merged from the router down to the handler, so a handler only adds what differs,
e.g. `opt=IDEMPOTENT` for a mobile write). The authentication middleware reads `audiences`
and `roles` from the merged `opt`; nothing else decides who is calling."""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
from litestar import Litestar, Request
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
)
from litestar.params import HeaderParameter, QueryParameter
from litestar.routes import HTTPRoute

from flexunion.config import (
    AUDIENCE_ADMIN,
    AUDIENCE_MOBILE,
    AUDIENCE_PARTNER,
    AUDIENCE_PROVIDER,
    Settings,
)
from flexunion.core.context import ADMIN_ROLES, Role
from flexunion.core.idempotency import MAX_KEY_LENGTH
from flexunion.core.pagination import clamp
from flexunion.core.problems import PROBLEM_JSON, Problem

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def access(*audiences: str, roles: Iterable[Role] | None = None) -> dict[str, Any]:
    """An `opt` preset: the token audiences a route accepts and, optionally, the roles."""
    opt: dict[str, Any] = {"audiences": tuple(audiences)}
    if roles is not None:
        opt["roles"] = frozenset(roles)
    return opt


WORKER = access(AUDIENCE_MOBILE, roles={Role.WORKER})
STAFF = access(AUDIENCE_ADMIN, roles=ADMIN_ROLES)
# Union admins (HQ and regional), not station officers.
UNION_ADMINS = access(AUDIENCE_ADMIN, roles={Role.HQ_ADMIN, Role.REGIONAL_ADMIN})
PARTNER = access(AUDIENCE_PARTNER, roles={Role.PARTNER})
# 调解组织 / 法律援助站: a referral provider's machine client (cases/provider_desk/).
PROVIDER = access(AUDIENCE_PROVIDER, roles={Role.PROVIDER})
# A mobile (or partner) write: the unit of work demands and honours an Idempotency-Key.
IDEMPOTENT: dict[str, Any] = {"idempotent": True}

IdempotencyKey = Annotated[str, HeaderParameter(
    name="Idempotency-Key", min_length=1, max_length=MAX_KEY_LENGTH,
    description="幂等键: a retry with the same key and body replays the first answer")]
Cursor = Annotated[str | None, QueryParameter(
    max_length=512, description="The `next_cursor` of the previous page")]
Limit = Annotated[int | None, QueryParameter(
    description="Page size (clamped to 1…FLEXUNION page maximum)")]


@dataclass(frozen=True, slots=True)
class Paging:
    """The page a list handler was asked for: the raw cursor and the clamped size."""

    cursor: str | None
    size: int


def _paging(request: Request[Any, Any, Any], cursor: Cursor = None, limit: Limit = None) -> Paging:
    settings: Settings = request.app.state.settings
    return Paging(cursor, clamp(limit, settings.api.page_size_default, settings.api.page_size_max))


# Handlers of a paged list ask for `paging: NamedDependency[Paging]`; `cursor` and `limit`
# then appear as the operation's query parameters.
PAGING = {"paging": Provide(_paging, sync_to_thread=False)}


def problems(codes: Mapping[int, str]) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem+json answers of an operation's own rules, by status,
    each described by the codes it may carry ("code, code: why; code: why"). The problems
    every operation of its kind shares (token, body, parameters, Idempotency-Key, database)
    are added by `document_problems`; name only the route's own here."""
    return {status: ResponseSpec(Problem, description=text, media_type=PROBLEM_JSON,
                                 generate_examples=False)
            for status, text in codes.items()}


# ---- the OpenAPI document: every status an operation can answer ------------------------------
#
# Routes name their own (domain) problems with `problems({status: "code, code: why"})`; what
# follows from the pipeline itself — the bearer token, the body, the parameters, the
# Idempotency-Key, the database — `document_problems(app)` adds to every operation once, from
# the route's `opt` and the operation's own parameters and body. A status named by both
# becomes one entry listing the route's codes first. A description names its codes before a
# colon, separated by commas; a `;` starts the next group.

# The roles whose tokens carry each audience (auth/tokens.py `audience_for`).
AUDIENCE_ROLES: dict[str, frozenset[Role]] = {
    AUDIENCE_MOBILE: frozenset({Role.WORKER}),
    AUDIENCE_ADMIN: ADMIN_ROLES | {Role.HOTLINE_OPERATOR},
    AUDIENCE_PARTNER: frozenset({Role.PARTNER}),
    AUDIENCE_PROVIDER: frozenset({Role.PROVIDER}),
}
GENERIC_PROBLEMS = {
    "token": "token_missing, token_malformed, token_alg_rejected, token_wrong_type, "
             "token_unknown_key, token_bad_signature, token_expired, token_not_yet_valid, "
             "token_wrong_audience, token_wrong_issuer, token_invalid: the bearer token "
             "(a token of another API included)",
    "forbidden": "forbidden: a role this operation does not serve",
    "malformed": "malformed_request: the body cannot be parsed",
    "too_large": "payload_too_large: a body over {limit} bytes",
    "invalid": "validation_failed: a parameter or body field breaks its schema (`errors` "
               "names it)",
    "key": "idempotency_key_required, idempotency_key_invalid: the Idempotency-Key header is "
           "missing or not 1–255 printable ASCII characters",
    "in_flight": "idempotency_in_flight: a request with this Idempotency-Key is still running "
                 "(Retry-After: 1)",
    "reused": "idempotency_key_reused: this Idempotency-Key was used for another request",
    "not_found": "not_found: no such path (a path parameter of the wrong form)",
    "retry": "retry_conflict: a concurrent transaction won, retry (Retry-After: 1); conflict: "
             "a concurrent write took the same unique value",
    "internal": "internal_error: a bug, reported with the request_id",
    "unavailable": "database_unavailable: the database cannot be reached for now, retry "
                   "(Retry-After)",
}
# Handler parameters through which a request reaches the database.
_DATABASE_PARAMETERS = frozenset({"session", "uow", "request"})
_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z]+")
_BINARY_PREFIXES = ("image/", "video/", "audio/", "application/pdf", "application/octet-stream")


@dataclass
class Downloads(ResponseSpec):
    """A success answer whose body is a file of one of `media_types`, sent as it is."""

    media_types: tuple[str, ...] = ()


def downloads(*media_types: str, description: str = "The file") -> dict[int, ResponseSpec]:
    """The 200 entry of an operation that answers a file of one of these media types."""
    return {200: Downloads(bytes, description=description, media_type=media_types[0],
                           media_types=media_types)}


@dataclass
class _Operation(Operation):
    """An operation with what a client must send: the token audiences (empty: public), the
    roles, and whether it is an idempotent write (send a fresh Idempotency-Key)."""

    audiences: list[str] = field(default_factory=list,
                                 metadata={"alias": "x-flexunion-audiences"})
    roles: list[str] | None = field(default=None, metadata={"alias": "x-flexunion-roles"})
    idempotent: bool | None = field(default=None, metadata={"alias": "x-flexunion-idempotent"})


def codes_of(description: str) -> list[str]:
    """The codes a problem entry's description names: in each `;` group, the comma-separated
    words before its first colon (parenthesised and `quoted` asides left out)."""
    plain = re.sub(r"\([^()]*\)|`[^`]*`", "", description)
    return [word.strip() for group in plain.split(";")
            for word in group.split(":", 1)[0].split(",") if _CODE.fullmatch(word.strip())]


def may_forbid(audiences: Iterable[str], roles: Iterable[Role] | None) -> bool:
    """Whether a token of one of `audiences` can carry a role the route refuses (403)."""
    if roles is None:
        return False
    holders = frozenset().union(*(AUDIENCE_ROLES.get(a, frozenset()) for a in audiences))
    return bool(holders - frozenset(roles))


def _file_schema(media_type: str) -> Schema:
    if media_type.startswith(_BINARY_PREFIXES):
        return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
    return Schema(type=OpenAPIType.STRING)


def _decodes_body(handler: HTTPRouteHandler) -> bool:
    """Whether Litestar decodes the body (a `data` parameter, of the handler or a dependency),
    and so answers 400 when it cannot be parsed and 422 when it breaks its schema."""
    if "data" in handler.parsed_fn_signature.parameters:
        return True
    return any("data" in dependency.parsed_fn_signature.parameters
               for dependency in handler.resolve_dependencies().values())


def _generic(route: HTTPRoute, handler: HTTPRouteHandler, op: Operation, method: str,
             max_body: int) -> dict[int, list[str]]:
    opt = handler.opt
    audiences = tuple(opt.get("audiences") or ())
    idempotent = bool(opt.get("idempotent"))
    decoded = _decodes_body(handler)
    # Parameters Litestar checks: a typed path segment that does not parse matches no route
    # (404), and the Idempotency-Key layer checks its header before (400).
    typed = {name for name, p in route.path_parameters.items() if p.type is not str}
    parameters = any(isinstance(p, Parameter) and p.name not in typed
                     and p.name != "Idempotency-Key" for p in op.parameters or [])
    names = set(handler.parsed_fn_signature.parameters)
    database = bool(audiences) or idempotent or bool(names & _DATABASE_PARAMETERS)
    text = GENERIC_PROBLEMS
    found: dict[int, list[str]] = defaultdict(list)
    if audiences:
        found[401].append(text["token"])
        if may_forbid(audiences, opt.get("roles")):
            found[403].append(text["forbidden"])
    if decoded:
        found[400].append(text["malformed"])
    if idempotent:
        found[400].append(text["key"])
        found[409].append(text["in_flight"])
    if op.request_body is not None or idempotent:
        limit = handler.resolve_request_max_body_size() or max_body
        found[413].append(text["too_large"].format(limit=limit))
    # The input guard (core/guard.py) also checks bodies read as they are (a form, a CSV).
    if op.request_body is not None or parameters:
        found[422].append(text["invalid"])
    if idempotent:
        found[422].append(text["reused"])
    if typed:
        found[404].append(text["not_found"])
    if database and method not in ("GET", "HEAD"):
        found[409].append(text["retry"])
    found[500].append(text["internal"])
    if database:
        found[503].append(text["unavailable"])
    return found


def _problem_entry(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(description=description, content={
        PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))})


def _complete(route: HTTPRoute, handler: HTTPRouteHandler, op: Operation, method: str,
              max_body: int) -> _Operation:
    declared = handler.responses or {}
    responses: dict[str, OpenAPIResponse | Reference] = {}
    own: dict[int, list[str]] = defaultdict(list)
    for key, answer in (op.responses or {}).items():
        status = int(key)
        spec = declared.get(status)
        if isinstance(spec, Downloads) and isinstance(answer, OpenAPIResponse):
            answer.content = {t: OpenAPIMediaType(schema=_file_schema(t))
                              for t in spec.media_types}
            answer.headers = {"Content-Disposition": OpenAPIHeader(
                schema=Schema(type=OpenAPIType.STRING),
                description="attachment, with the file's name (RFC 6266)")}
        if status < 400 or (spec is not None and spec.media_type != PROBLEM_JSON):
            responses[key] = answer  # a success, or an error in a shape of the route's own
        elif spec is not None and isinstance(answer, OpenAPIResponse):
            own[status].append(answer.description)
        # else: Litestar's generic 400 for a ValidationException, replaced below
    success = responses.get(str(handler.status_code))
    if (isinstance(success, OpenAPIResponse) and success.content
            and handler.parsed_fn_signature.return_type.has_inner_subclass_of(bytes)):
        success.content = {t: OpenAPIMediaType(schema=_file_schema(t))
                           for t in success.content}
    if isinstance(success, OpenAPIResponse) and handler.opt.get("idempotent"):
        success.headers = (success.headers or {}) | {"Idempotent-Replayed": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
            description="Present on a retry: the stored answer to the first request")}
    for status, parts in _generic(route, handler, op, method, max_body).items():
        if str(status) in responses:  # answered in a shape of the route's own
            continue
        named = {c for text in own[status] for c in codes_of(text)}
        own[status] += [p for p in parts if not set(codes_of(p)) <= named]
    for status in sorted(own):
        responses[str(status)] = _problem_entry("; ".join(own[status]))
    opt = handler.opt
    roles = opt.get("roles")
    fields_ = {f.name: getattr(op, f.name) for f in dataclasses.fields(op) if f.init}
    fields_["responses"] = dict(sorted(responses.items()))
    return _Operation(**fields_, audiences=list(opt.get("audiences") or ()),
                      roles=sorted(r.value for r in roles) if roles else None,
                      idempotent=True if opt.get("idempotent") else None)


def document_problems(app: Litestar, *, max_body: int) -> None:
    """Complete the app's OpenAPI document (built here, once): every operation gets the
    problems the pipeline can answer, merged with those its route names, and says which
    token and headers it needs. `max_body` is the Idempotency-Key layer's body limit."""
    document = app.openapi_schema
    if document.components.schemas is not None and "Problem" not in document.components.schemas:
        _, defs = msgspec.json.schema_components([Problem])
        document.components.schemas["Problem"] = defs["Problem"]
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or document.paths is None:
            continue
        item = document.paths.get(route.path_format or "/")
        for method, (handler, _) in route.route_handler_map.items():
            op = getattr(item, method.lower(), None) if item else None
            if isinstance(op, Operation):
                setattr(item, method.lower(), _complete(route, handler, op, method, max_body))
