from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from flexunion.membership.models import MemberStatus

Reason = Literal[
    "ok", "malformed", "wrong_type", "unknown_key", "bad_signature", "expired", "not_yet_valid",
    "other_federation", "revoked", "suspended", "parked", "unknown_member",
]


class CardRead(msgspec.Struct):
    """电子会员卡: the signed card (compact JWS) and a QR code of it."""

    token: Annotated[str, msgspec.Meta(
        description="Compact JWS, typ vnd.flexunion.member-card+jwt")]
    qr_svg: Annotated[str, msgspec.Meta(description="SVG image of a QR code holding `token`")]
    expires_at: datetime
    status_list_uri: Annotated[str, msgspec.Meta(
        description="Where the card's status is published")]


class CardVerifyRequest(msgspec.Struct, forbid_unknown_fields=True):
    card: Annotated[str, msgspec.Meta(min_length=1, max_length=4096,
                                      description="The card's compact JWS, as scanned")]


class CardHolderRead(msgspec.Struct):
    """The holder as a verifier may see them: masked, no ID number."""

    name_masked: str
    member_no: str | None
    home_code: str
    home_name_zh: str
    member_since: date | None


class CardVerification(msgspec.Struct):
    """验卡结果. `reason` is a stable code; `status` is the member's status now."""

    valid: bool
    reason: Reason
    reason_zh: str
    status: MemberStatus | None
    status_zh: str | None
    holder: CardHolderRead | None
    checked_at: datetime


class Jwk(msgspec.Struct):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class Jwks(msgspec.Struct):
    """RFC 7517 key set: the federation's card keys (public parts only)."""

    keys: list[Jwk]
