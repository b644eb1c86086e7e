"""What a console session gives the request that carries its cookie."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A live session, as the pipeline found it for one request."""

    id: uuid.UUID
    federation_id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_code: str
    account_id: uuid.UUID
    role: str
    display_name: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Started:
    """A new session: the cookie's token (only the browser keeps it) and its CSRF token."""

    token: str
    csrf_token: str
    expires_at: datetime
