"""Console sessions: a staff member signs in once (password with lockout, or OIDC — the
staff service checks it), and the browser carries a random token in an HttpOnly,
SameSite=Lax cookie, Secure over TLS. PostgreSQL keeps only its sha256.

A session ends at logout, after `idle` without a request, at its absolute expiry, or when
its account is disabled; each request re-reads it (one statement, no transaction), so an
ended session stops at once on every instance. Each session has its own CSRF token: every
unsafe console request must carry it (console/csrf.py)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from flexunion.audit import service as audit
from flexunion.auth.models import ConsoleSession
from flexunion.auth.sessions import repository
from flexunion.auth.sessions.schemas import OpenSession, Started
from flexunion.auth.staff.service import StaffIdentity
from flexunion.config import AUDIENCE_ADMIN, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.uow import UnitOfWork

COOKIE = "flexunion_console"
COOKIE_PATH = "/console"


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def start(uow: UnitOfWork, clock: Clock, settings: Settings,
                who: StaffIdentity) -> Started:
    """A new session for who just signed in (the unit of work acts as them already)."""
    now = clock.now()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=settings.console.absolute_hours)
    row = ConsoleSession(
        id=uuid.uuid4(), token_hash=token_hash(token), federation_id=who.federation_id,
        tenant_id=who.tenant_id, account_id=who.account_id, role=who.role.value,
        principal=f"{who.role.value}:{who.account_id}", csrf_token=csrf, method=who.method,
        created_at=now, last_seen_at=now, expires_at=expires)
    repository.add(uow.session, row)
    await repository.flush(uow.session)
    await audit.record(uow.session, "console.session_started", tenant_id=who.tenant_id,
                       object_type="console_session", object_id=row.id,
                       payload={"method": who.method})
    return Started(token, csrf, expires)


async def end(uow: UnitOfWork, clock: Clock, open_session: OpenSession) -> None:
    """Logout: the session ends now, on every instance."""
    if await repository.end(uow.session, open_session.id, clock.now(), "logout"):
        await audit.record(uow.session, "console.session_ended",
                           tenant_id=open_session.tenant_id, object_type="console_session",
                           object_id=open_session.id, payload={"reason": "logout"})


def caller_of(open_session: OpenSession) -> Caller:
    """The same caller an admin token of the account gives: the same RLS scope."""
    return Caller(role=Role(open_session.role), subject=str(open_session.account_id),
                  tenant_id=open_session.tenant_id, tenant_code=open_session.tenant_code,
                  audience=AUDIENCE_ADMIN, token_id=f"console:{open_session.id}")


class SessionReader:
    """What the request pipeline asks: which live session does this cookie open?"""

    def __init__(self, reader: Any, clock: Clock, settings: Settings) -> None:
        self.reader = reader
        self.clock = clock
        self.idle = timedelta(minutes=settings.console.idle_minutes)

    async def open(self, token: str | None) -> tuple[Caller, OpenSession] | None:
        if not token or len(token) > 128:
            return None
        found = await repository.lookup(self.reader, token_hash(token), self.clock.now(),
                                        self.idle)
        return (caller_of(found), found) if found is not None else None
