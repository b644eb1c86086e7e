from __future__ import annotations

from typing import Annotated

import msgspec

FederationCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}(?!\n)$")]
Phone = Annotated[str, msgspec.Meta(min_length=5, max_length=20)]
OtpCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}(?!\n)$")]


class OtpRequest(msgspec.Struct, forbid_unknown_fields=True):
    federation: FederationCode
    phone: Phone


class OtpRequested(msgspec.Struct):
    expires_in: int
    resend_after: int


class OtpVerify(msgspec.Struct, forbid_unknown_fields=True):
    federation: FederationCode
    phone: Phone
    code: OtpCode
