"""Groups SQL (row-level security decides whose; hardship rows only for the home region)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.db.rows import add, flush
from flexunion.services.groups.models import GroupRule, MemberGroup

__all__ = ["add", "counts", "db_now", "flush", "listed", "my_offers", "open_of", "rule", "rules"]

_OFFERS = text("SELECT flexunion_my_service_offers()")
_NOW = text("SELECT now()")


async def db_now(session: AsyncSession) -> datetime:
    """The transaction's time (when a caller passes no clock)."""
    moment: datetime = (await session.execute(_NOW)).scalar_one()
    return moment


async def rule(session: AsyncSession, federation_id: uuid.UUID, code: str) -> GroupRule | None:
    return await session.scalar(select(GroupRule).where(
        GroupRule.federation_id == federation_id, GroupRule.code == code))


async def rules(session: AsyncSession, federation_id: uuid.UUID) -> Sequence[GroupRule]:
    return (await session.scalars(select(GroupRule).where(
        GroupRule.federation_id == federation_id).order_by(GroupRule.code))).all()


async def open_of(session: AsyncSession, member_ids: Iterable[uuid.UUID], *,
                  lock: bool = False) -> Sequence[MemberGroup]:
    wanted = list(member_ids)
    if not wanted:
        return []
    q = select(MemberGroup).where(MemberGroup.member_id.in_(wanted),
                                  MemberGroup.until.is_(None))
    if lock:
        q = q.with_for_update()
    return (await session.scalars(q)).all()


async def listed(session: AsyncSession, federation_id: uuid.UUID, code: str, *,
                 tenant_ids: Sequence[uuid.UUID] | None, member_ids: Sequence[uuid.UUID] | None,
                 limit: int, after: tuple[datetime, uuid.UUID] | None = None,
                 ) -> Sequence[MemberGroup]:
    q = select(MemberGroup).where(MemberGroup.federation_id == federation_id,
                                  MemberGroup.group_code == code, MemberGroup.until.is_(None))
    if after is not None:
        q = q.where(tuple_(MemberGroup.since, MemberGroup.id) > tuple_(*after))
    if tenant_ids is not None:
        q = q.where(MemberGroup.tenant_id.in_(list(tenant_ids)))
    if member_ids is not None:
        q = q.where(MemberGroup.member_id.in_(list(member_ids)))
    return (await session.scalars(q.order_by(MemberGroup.since, MemberGroup.id)
                                  .limit(limit))).all()


async def counts(session: AsyncSession, federation_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(select(MemberGroup.group_code, func.count()).where(
        MemberGroup.federation_id == federation_id, MemberGroup.until.is_(None)).group_by(
        MemberGroup.group_code))
    return {r[0]: int(r[1]) for r in rows}


async def my_offers(session: AsyncSession) -> list[str]:
    """The service codes the calling worker's open groups offer (codes only)."""
    return list((await session.execute(_OFFERS)).scalar_one() or [])
