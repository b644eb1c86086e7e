"""The answer of every login: an access token for the caller's API."""

from __future__ import annotations

import msgspec


class AccessToken(msgspec.Struct):
    access_token: str
    expires_in: int
    token_type: str = "Bearer"
    subject: str | None = None
    tenant: str | None = None
    role: str | None = None
