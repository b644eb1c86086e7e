"""规则公示 SQL: entries and versions (row-level security decides whose)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.contracts.rules.models import PlatformRule, PlatformRuleVersion
from flexunion.db.rows import add, flush

__all__ = [
    "add",
    "flush",
    "latest_version",
    "rule_by_code",
    "rule_by_id",
    "rules_of",
    "versions_of",
]


async def rule_by_code(session: AsyncSession, partner_id: uuid.UUID,
                       code: str) -> PlatformRule | None:
    return await session.scalar(select(PlatformRule).where(
        PlatformRule.partner_id == partner_id, PlatformRule.code == code))


async def rule_by_id(session: AsyncSession, rule_id: uuid.UUID) -> PlatformRule | None:
    return await session.scalar(select(PlatformRule).where(PlatformRule.id == rule_id))


async def rules_of(session: AsyncSession,
                   partner_ids: Iterable[uuid.UUID]) -> Sequence[PlatformRule]:
    wanted = list(partner_ids)
    if not wanted:
        return []
    return (await session.scalars(select(PlatformRule).where(
        PlatformRule.partner_id.in_(wanted)).order_by(
        PlatformRule.partner_id, PlatformRule.category, PlatformRule.code))).all()


async def versions_of(session: AsyncSession,
                      rule_ids: Iterable[uuid.UUID]) -> Sequence[PlatformRuleVersion]:
    wanted = list(rule_ids)
    if not wanted:
        return []
    return (await session.scalars(select(PlatformRuleVersion).where(
        PlatformRuleVersion.rule_id.in_(wanted)).order_by(
        PlatformRuleVersion.rule_id, PlatformRuleVersion.version))).all()


async def latest_version(session: AsyncSession, rule_id: uuid.UUID) -> PlatformRuleVersion | None:
    return await session.scalar(select(PlatformRuleVersion).where(
        PlatformRuleVersion.rule_id == rule_id).order_by(
        PlatformRuleVersion.version.desc()).limit(1))
