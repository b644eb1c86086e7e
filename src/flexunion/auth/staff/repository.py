"""Queries for staff accounts. A login reads in a scope narrowed to the one credential it
checks (`login:admin:<username>`, `login:oidc:<issuer>|<subject>`); the operator's actions
run as the owner."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth.models import AdminAccount

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import flush as flush


async def account_by_username(session: AsyncSession, username: str) -> AdminAccount | None:
    return await session.scalar(
        select(AdminAccount).where(AdminAccount.username == username).with_for_update())


async def account_by_identity(
    session: AsyncSession, issuer: str, subject: str
) -> AdminAccount | None:
    return await session.scalar(
        select(AdminAccount)
        .where(AdminAccount.oidc_issuer == issuer, AdminAccount.oidc_subject == subject)
        .with_for_update())


async def add(session: AsyncSession, account: AdminAccount) -> bool:
    """False when its username or OIDC identity is taken, or the username is not allowed
    (the table's constraints decide)."""
    session.add(account)
    try:
        await session.flush()
    except IntegrityError:
        return False
    return True

