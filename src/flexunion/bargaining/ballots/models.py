"""Ratification ballots (表决): the ballot, its frozen roll, and the papers — stored apart,
so nothing joins a choice to a voter (migration 0005 has the policies and the owner's
count, seal and receipt functions).

Relationships are not declared: every read is an explicit query in ballots/repository.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, Numeric, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, timestamp, uuid_pk, uuid_ref

CHOICES = {"yes": ("赞成", "Yes"), "no": ("反对", "No"), "abstain": ("弃权", "Abstain")}
BALLOT_RESULTS = {"passed": ("通过", "Passed"), "failed_quorum": ("未达法定人数", "Quorum not met"),
                  "failed_threshold": ("赞成票未过半", "Threshold not met")}
BALLOT_STATUSES = {"open": "投票中", "closed": "已结束"}


class Ballot(TenantScoped, Base):
    """A ratification ballot (表决) on an agreed item; the roll is frozen when it opens."""

    __tablename__ = "ballots"
    __table_args__ = (
        in_federation("ballots"),
        Index("uq_ballots_one_open", "item_id", unique=True,
              postgresql_where=text("status = 'open'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    item_id: Mapped[uuid.UUID] = uuid_ref("agenda_items")
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    quorum: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    threshold: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    electorate: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = timestamp()
    closes_at: Mapped[datetime] = timestamp()
    closed_at: Mapped[datetime | None] = timestamp(nullable=True)
    opened_by: Mapped[str] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    tally: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    tally_digest: Mapped[str | None] = mapped_column(Text)


class BallotElector(TenantScoped, Base):
    """Who may vote on a ballot, and whether they have (never what they chose)."""

    __tablename__ = "ballot_electors"
    __table_args__ = (
        in_federation("ballot_electors"),
        Index("ix_ballot_electors_worker", "worker_id"),
    )

    ballot_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ballots.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("members.id"), primary_key=True)
    worker_id: Mapped[uuid.UUID] = uuid_ref("worker_accounts")
    voted_at: Mapped[datetime | None] = timestamp(nullable=True)


class BallotPaper(Base):
    """What was voted: a choice and the hash of the voter's receipt code. Nothing names the
    voter or the time. Written with a plain INSERT (the app role cannot read this table)."""

    __tablename__ = "ballot_papers"
    __table_args__ = (UniqueConstraint("ballot_id", "receipt_hash",
                                       name="uq_ballot_papers_receipt"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    ballot_id: Mapped[uuid.UUID] = uuid_ref("ballots")
    choice: Mapped[str] = mapped_column(Text)
    receipt_hash: Mapped[str] = mapped_column(Text)
