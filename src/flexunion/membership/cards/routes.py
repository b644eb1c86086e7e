"""The portable card (电子会籍): the worker's card, its public status list and keys,
and online verification for partners and staff of the same federation."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_PARTNER, Settings
from flexunion.core import text
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.core.fastlane import Declined, LaneRequest, lane
from flexunion.core.http import BEARER, WORKER, access, problems
from flexunion.core.uow import UnitOfWork
from flexunion.membership.cards import service as cards
from flexunion.membership.cards import status_list
from flexunion.membership.cards.schemas import (
    CardHolderRead,
    CardRead,
    CardVerification,
    CardVerifyRequest,
    Jwk,
    Jwks,
)
from flexunion.membership.models import STATUSES

VERIFIERS = access(AUDIENCE_PARTNER, AUDIENCE_ADMIN, roles={Role.PARTNER, *ADMIN_ROLES})
TAGS = ["cards 会员卡"]
FederationCode = Annotated[str, PathParameter(
    pattern=r"^[a-z0-9][a-z0-9-]{1,62}(?!\n)$", max_length=63)]
NO_STORE = {"Cache-Control": "no-store"}
VERIFY_MAX_BODY = 8192


def desk(request: Request[Any, Any, Any]) -> cards.CardDesk:
    return cards.desk_of(request.app.state)


@get("/v1/me/card", opt=WORKER, tags=["me 我的"], security=BEARER,
     summary="我的电子会员卡 My membership card (signed JWT + QR code)",
     responses=problems({
         404: "not_a_member: no membership yet",
         409: "card_unavailable: the membership is not active, suspended or parked",
         503: "card_key_missing: the federation has no card key yet"}),
     description="Only for members who are active, suspended or parked (else 409 "
                 "`card_unavailable`; not a member: 404 `not_a_member`). A suspended or "
                 "parked member's card says so through the status list.")
async def my_card(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
    caller: NamedDependency[Caller], settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> Response[CardRead]:
    card = await cards.issue(session, request.app.state.key_store, settings, clock, caller)
    return Response(CardRead(token=card.token, qr_svg=card.qr_svg, expires_at=card.expires_at,
                             status_list_uri=card.status_list_uri), headers=NO_STORE)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


@get("/v1/federations/{code:str}/status-list", media_type=status_list.MEDIA_TYPE,
     summary="会员卡状态列表 The federation's card status list (Status List Token, public)",
     description="A JWT (`typ` statuslist+jwt, EdDSA, the federation's card key) per "
                 "draft-ietf-oauth-status-list: `status_list.bits` = 2, `lst` = base64url(zlib("
                 "packed statuses)). 0 valid, 1 invalid (left), 2 suspended, 3 parked (保留会籍). "
                 "Strong ETag, `Cache-Control: public, max-age=30`; a change shows within 60 s.",
     responses={304: ResponseSpec(None, description="Not modified (If-None-Match)"),
                **problems({404: "federation_not_found", 503: "card_key_missing"})})
async def get_status_list(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession], code: FederationCode,
) -> Response[bytes]:
    signed = await desk(request).status_list(session, code)
    headers = {"ETag": signed.etag, "Cache-Control": f"public, max-age={status_list.MAX_AGE}"}
    if _etag_matches(request.headers.get("if-none-match"), signed.etag):
        return Response(b"", status_code=304, headers=headers)
    return Response(signed.token, media_type=status_list.MEDIA_TYPE, headers=headers)


@get("/v1/federations/{code:str}/jwks.json",
     summary="会员卡公钥 The federation's card keys (JWKS, public)",
     description="Ed25519 keys (`alg` EdDSA) that sign this federation's cards and status "
                 "lists: the active one and retired ones whose cards may still be valid. "
                 "Access-token keys are at /.well-known/jwks.json and never sign cards.",
     responses=problems({404: "federation_not_found"}))
async def get_card_jwks(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession], code: FederationCode,
) -> Response[Jwks]:
    keys = (await desk(request).jwks(session, code))["keys"]
    return Response(Jwks(keys=msgspec.convert(keys, list[Jwk])),
                    headers={"Cache-Control": "public, max-age=300"})


@post("/v1/cards/verify", opt=VERIFIERS, security=BEARER, status_code=200,
      request_max_body_size=VERIFY_MAX_BODY,
      responses=problems({
          422: "validation_failed: no `card`, an empty card, a card over 4 KiB, or another field"}),
      summary="验卡 Verify a membership card (partners, station officers, admins)",
      description="Answers 200 for every card, valid or not, with a stable `reason`: ok, "
                  "malformed, wrong_type, unknown_key, bad_signature, expired, not_yet_valid, "
                  "other_federation, revoked, suspended, parked, unknown_member. Works for every "
                  "tenant of the card's federation. A body without `card` (or a card over 4 KiB) "
                  "is 422; a body over 8 KiB is 413.")
async def verify_card(
    request: Request[Any, Any, Any], data: JSONBody[CardVerifyRequest],
) -> CardVerification:
    # The hot path: no dependency injection (each provider costs a task here), and the
    # session is opened only if the verifier needs the database. Most requests are answered
    # by the fast lane below, which does the same work.
    state = request.scope["state"]
    return await _verification(request.app.state, state["caller"], state["uow"], data.card)


async def _verification(app_state: Any, caller: Caller, uow: UnitOfWork,
                        card: str) -> CardVerification:
    clock: Clock = app_state.clock
    verdict = await cards.desk_of(app_state).verifier.verify(uow, caller.tenant_id, card)
    h = verdict.holder
    return CardVerification(
        # The verifier's reasons are REASONS' keys and its statuses members' (the database's
        # CHECK): Literal sets it builds from strings without re-checking on this hot path.
        valid=verdict.valid, reason=verdict.reason,  # type: ignore[arg-type]
        reason_zh=cards.REASONS[verdict.reason][0],
        status=verdict.status,  # type: ignore[arg-type]
        status_zh=STATUSES.get(verdict.status) if verdict.status else None,
        holder=CardHolderRead(name_masked=h.name_masked, member_no=h.member_no,
                              home_code=h.home_code, home_name_zh=h.home_name_zh,
                              member_since=h.member_since) if h else None,
        checked_at=clock.now(),
    )


_VERIFY_BODY = msgspec.json.Decoder(CardVerifyRequest, strict=True)


async def _verify_lane(request: LaneRequest) -> CardVerification:
    """The fast lane of POST /v1/cards/verify (core/fastlane.py): a body the route would
    take as it is (decoded strictly into its type, nothing the input guard refuses), else
    the pipeline's."""
    body = request.body
    try:
        data = _VERIFY_BODY.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise Declined from exc
    if text.raw_body(body):  # NUL or a lone surrogate: the guard's 422
        raise Declined
    assert request.caller is not None
    return await _verification(request.state, request.caller, request.uow, data.card)


router = Router("/", tags=TAGS, route_handlers=[my_card, get_status_list, get_card_jwks,
                                                verify_card])
# Answered before the router when the request is of the plainest shape (core/fastlane.py);
# the route above documents the operation and answers everything else.
LANES = [lane("POST", "/v1/cards/verify", _verify_lane, VERIFIERS, max_body=VERIFY_MAX_BODY)]
