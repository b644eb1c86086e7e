"""The caller's row-level-security scope as PostgreSQL holds it in this transaction.

The scope is set per transaction (db/scope.py); these read it back through the owner's
SECURITY DEFINER functions (migrations/versions/0001, 0005), so Python and the policies
always agree on who is calling and what they may see."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_FEDERATION = text("SELECT flexunion_federation()")
_PRINCIPAL = text("SELECT flexunion_principal()")
_PARTNER = text("SELECT flexunion_partner()")
_SCOPE = text("SELECT flexunion_tenant_scope()")
_IN_SCOPE = text("SELECT CAST(:t AS uuid) = ANY (flexunion_tenant_scope())")


async def current_federation(session: AsyncSession) -> uuid.UUID | None:
    """The federation of the scope's tenant (None for a worker or anonymous scope)."""
    return (await session.execute(_FEDERATION)).scalar_one_or_none()


async def principal(session: AsyncSession) -> str:
    """Who is acting, e.g. `regional_admin:<id>` (the audit trail's actor)."""
    return str((await session.execute(_PRINCIPAL)).scalar_one())


async def current_partner(session: AsyncSession) -> uuid.UUID | None:
    """The calling partner client's platform partner (None: not a partner, or disabled)."""
    return (await session.execute(_PARTNER)).scalar_one_or_none()


async def scope_ids(session: AsyncSession) -> frozenset[uuid.UUID]:
    """The scope's subtree: its tenant and everything below (empty for a worker)."""
    ids = (await session.execute(_SCOPE)).scalar_one()
    return frozenset(uuid.UUID(str(i)) for i in ids or ())


async def in_scope(session: AsyncSession, tenant_id: uuid.UUID) -> bool:
    """Is `tenant_id` in the caller's subtree?"""
    return bool((await session.execute(_IN_SCOPE, {"t": tenant_id})).scalar_one())
