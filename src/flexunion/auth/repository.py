"""Queries for the signing keys. Only the owner writes them (`flexunion migrate`, `tenants
apply`, `flexunion keys rotate`); the app role reads them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth.models import SigningKey


def _same_slot(purpose: str, federation_id: uuid.UUID | None) -> ColumnElement[bool]:
    """The keys of one purpose (and federation): at most one of them is active."""
    fed = (SigningKey.federation_id.is_(None) if federation_id is None
           else SigningKey.federation_id == federation_id)
    return (SigningKey.purpose == purpose) & fed


async def retire_active(session: AsyncSession, purpose: str,
                        federation_id: uuid.UUID | None) -> None:
    await session.execute(
        update(SigningKey)
        .where(SigningKey.status == "active", _same_slot(purpose, federation_id))
        .values(status="retired", retired_at=text("now()"))
    )


async def add(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)
    await session.flush()


async def active_kid(session: AsyncSession, purpose: str,
                     federation_id: uuid.UUID | None = None) -> str | None:
    return await session.scalar(select(SigningKey.kid).where(
        SigningKey.status == "active", _same_slot(purpose, federation_id)))


async def federations_with_active_key(session: AsyncSession, purpose: str) -> set[uuid.UUID]:
    rows = await session.scalars(select(SigningKey.federation_id).where(
        SigningKey.purpose == purpose, SigningKey.status == "active",
        SigningKey.federation_id.is_not(None)))
    return {fed for fed in rows if fed is not None}


async def unrevoked(session: AsyncSession) -> Sequence[SigningKey]:
    """Every key that signs or still verifies (active and retired)."""
    return (await session.scalars(
        select(SigningKey).where(SigningKey.status != "revoked"))).all()
