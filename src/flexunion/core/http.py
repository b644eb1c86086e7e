"""What every domain's router shares: who may call, the bearer security requirement, the
Idempotency-Key header, paging parameters, and problem+json answers for the OpenAPI document.

A domain's `routes.py` exports a `Router` whose `opt` is one of the access presets below
(`opt` is merged from the router down to the handler, so a handler only adds what differs,
e.g. `opt=IDEMPOTENT` for a mobile write). The authentication middleware reads `audiences`
and `roles` from the merged `opt`; nothing else decides who is calling."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter

from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE, AUDIENCE_PARTNER, Settings
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
    """OpenAPI entries for the problem+json answers an operation gives, by status, each
    described by the codes it may carry."""
    return {status: ResponseSpec(Problem, description=text, media_type=PROBLEM_JSON)
            for status, text in codes.items()}


# The bearer token's own problems, shared by every authenticated operation.
TOKEN_PROBLEMS = {401: "token_missing, token_malformed, token_expired, token_wrong_audience, "
                       "token_bad_signature, token_unknown_key … (the bearer token)",
                  403: "forbidden: a role that may not use this operation"}
