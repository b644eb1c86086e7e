"""Negotiation rounds (协商轮次), each side's positions per item, the data a platform
promised, and the platform's responses (migration 0005 has the policies).

Relationships are not declared: every read is an explicit query in rounds/repository.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref


class NegotiationRound(TenantScoped, Base):
    """One sitting of 集体协商 with a platform: who was there, minutes, next steps."""

    __tablename__ = "negotiation_rounds"
    __table_args__ = (
        in_federation("negotiation_rounds"),
        Index("ix_negotiation_rounds_tenant_held", "tenant_id", "held_on"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    held_on: Mapped[date] = mapped_column(Date)
    location: Mapped[str | None] = mapped_column(Text)
    parties: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    minutes: Mapped[str] = mapped_column(Text)
    next_steps: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()


class NegotiationRoundItem(TenantScoped, Base):
    """Each side's position on one item in one round."""

    __tablename__ = "negotiation_round_items"
    __table_args__ = (
        in_federation("negotiation_round_items"),
        Index("ix_negotiation_round_items_item", "item_id"),
    )

    round_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("negotiation_rounds.id"), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("agenda_items.id"), primary_key=True)
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    union_position: Mapped[str] = mapped_column(Text)
    platform_position: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)


class PartnerResponse(TenantScoped, Base):
    """A platform's answer on an item, posted through its machine API (may deliver a promise)."""

    __tablename__ = "partner_responses"
    __table_args__ = (
        in_federation("partner_responses"),
        Index("ix_partner_responses_item", "item_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    item_id: Mapped[uuid.UUID] = uuid_ref("agenda_items")
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    client_id: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    promise_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("data_promises.id", use_alter=True), nullable=True)
    created_at: Mapped[datetime] = timestamp()


class DataPromise(TenantScoped, Base):
    """Data the platform promised in a round (工资总额、考勤工时…), and by when."""

    __tablename__ = "data_promises"
    __table_args__ = (
        in_federation("data_promises"),
        Index("ix_data_promises_tenant_due", "tenant_id", "due_on"),
        Index("ix_data_promises_item", "item_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    round_id: Mapped[uuid.UUID] = uuid_ref("negotiation_rounds")
    item_id: Mapped[uuid.UUID] = uuid_ref("agenda_items")
    partner_id: Mapped[uuid.UUID] = uuid_ref("platform_partners")
    description: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    delivered_at: Mapped[datetime | None] = timestamp(nullable=True)
    response_id: Mapped[uuid.UUID | None] = uuid_ref("partner_responses", nullable=True)
    created_at: Mapped[datetime] = timestamp()
