"""Triggers SQL (row-level security decides whose)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.db.rows import add, flush
from flexunion.services.triggers.models import TriggerAction, TriggerRuleSet

__all__ = ["action_once", "actions", "add", "flush", "in_effect", "latest_version",
           "partner_invitations", "rule_set", "rule_sets"]


async def rule_set(session: AsyncSession, tenant_id: uuid.UUID,
                   version: int) -> TriggerRuleSet | None:
    return (await session.scalars(select(TriggerRuleSet).where(
        TriggerRuleSet.tenant_id == tenant_id, TriggerRuleSet.version == version))).first()


async def rule_sets(session: AsyncSession, federation_id: uuid.UUID,
                    tenant_ids: Sequence[uuid.UUID] | None = None) -> Sequence[TriggerRuleSet]:
    q = select(TriggerRuleSet).where(TriggerRuleSet.federation_id == federation_id)
    if tenant_ids is not None:
        q = q.where(TriggerRuleSet.tenant_id.in_(tenant_ids))
    return (await session.scalars(q.order_by(TriggerRuleSet.tenant_id,
                                             TriggerRuleSet.version.desc()))).all()


async def latest_version(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    found = (await session.scalars(select(TriggerRuleSet.version).where(
        TriggerRuleSet.tenant_id == tenant_id).order_by(
        TriggerRuleSet.version.desc()).limit(1))).first()
    return int(found or 0)


async def in_effect(session: AsyncSession, tenant_id: uuid.UUID,
                    day: date) -> TriggerRuleSet | None:
    """The unit's version in effect on `day`: the latest effective on or before it (and of
    those, the highest version)."""
    return (await session.scalars(select(TriggerRuleSet).where(
        TriggerRuleSet.tenant_id == tenant_id, TriggerRuleSet.effective_from <= day).order_by(
        TriggerRuleSet.effective_from.desc(), TriggerRuleSet.version.desc()).limit(1))).first()


async def action_once(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """Insert the action unless it was made before (the unique constraint): its id, or None."""
    return (await session.execute(insert(TriggerAction).values(**values).on_conflict_do_nothing(
        constraint="uq_trigger_actions_once").returning(TriggerAction.id))).scalar_one_or_none()


async def actions(session: AsyncSession, *, action: str | None, member_id: uuid.UUID | None,
                  limit: int) -> Sequence[TriggerAction]:
    q = select(TriggerAction).order_by(TriggerAction.created_at.desc(), TriggerAction.id)
    if action:
        q = q.where(TriggerAction.action == action)
    if member_id:
        q = q.where(TriggerAction.member_id == member_id)
    return (await session.scalars(q.limit(limit))).all()


async def partner_invitations(session: AsyncSession, partner_id: uuid.UUID,
                              limit: int) -> Sequence[TriggerAction]:
    return (await session.scalars(select(TriggerAction).where(
        TriggerAction.partner_id == partner_id, TriggerAction.delivery == "partner_relay").order_by(
        TriggerAction.created_at.desc(), TriggerAction.id).limit(limit))).all()


async def offered_members(session: AsyncSession, start: datetime,
                          end: datetime) -> list[uuid.UUID]:
    """The members an `offer_service` action reached in [start, end), as the caller sees the
    actions (row-level security)."""
    rows = await session.scalars(select(TriggerAction.member_id).where(
        TriggerAction.action == "offer_service", TriggerAction.member_id.is_not(None),
        TriggerAction.created_at >= start, TriggerAction.created_at < end).distinct())
    return [m for m in rows.all() if m is not None]
