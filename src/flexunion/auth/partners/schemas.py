from __future__ import annotations

import msgspec


class PartnerTokenResponse(msgspec.Struct):
    """RFC 6749 §5.1 access token response; the token is a flexunion-partner JWT."""

    access_token: str
    expires_in: int
    token_type: str = "Bearer"


class OAuthErrorResponse(msgspec.Struct):
    """RFC 6749 §5.2 error response; `code` repeats `error` like every flexunion error."""

    error: str
    code: str
    error_description: str | None = None


class PartnerProfile(msgspec.Struct):
    client_id: str
    client_name: str
    partner_code: str
    partner_name_zh: str
    partner_name_en: str
    tenant: str
