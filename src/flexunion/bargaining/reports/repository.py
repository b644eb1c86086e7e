"""Queries for reports, representatives and proposals. Row-level security decides which
reports exist for a caller: its own, those in the remit of its open designations, or
(staff) its subtree's; designations and proposals likewise.

Staff see a reporter or a representative as a member number, which membership's service
gives (service.py adds it); nothing here reads `members`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Boolean, Select, literal_column, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.reports.models import (
    ProblemReport,
    RepProposal,
    RepProposalReport,
    WorkerRepresentative,
)
from flexunion.bargaining.reports.schemas import Grouping

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import add as add
from flexunion.db.rows import add_all as add_all
from flexunion.db.rows import flush as flush

After = tuple[datetime, uuid.UUID] | None
Ts = TypeVarTuple("Ts")

# The remit of the caller's open designations, as the RLS policy defines it; stated here too
# so that the caller's own reports outside its remit do not show up as remit reports.
_REMIT = text(
    "EXISTS (SELECT 1 FROM worker_representatives r"
    " WHERE r.worker_id = CAST(:me AS uuid) AND r.ended_at IS NULL"
    " AND r.tenant_id IN (problem_reports.region_id, problem_reports.federation_id)"
    " AND ((r.kind = 'station' AND r.ref_code = problem_reports.station_code)"
    "   OR (r.kind = 'zone' AND r.ref_code = problem_reports.zone_code)"
    "   OR (r.kind = 'platform' AND r.partner_id = problem_reports.partner_id)))"
)
_MY_GROUPED = text(
    "SELECT pr.report_id FROM rep_proposal_reports pr JOIN rep_proposals p"
    " ON p.id = pr.proposal_id WHERE p.worker_id = CAST(:me AS uuid)"
    " AND p.status <> 'declined' AND pr.report_id = ANY(CAST(:ids AS uuid[]))"
)
# On an item: an active source row of the board names the report, or a proposal holding it.
_ON_ITEM = (
    "(EXISTS (SELECT 1 FROM agenda_item_sources s WHERE s.report_id = problem_reports.id"
    " AND s.moved_to_item_id IS NULL) OR EXISTS (SELECT 1 FROM agenda_item_sources s"
    " JOIN rep_proposal_reports pr ON pr.proposal_id = s.proposal_id"
    " WHERE pr.report_id = problem_reports.id AND s.moved_to_item_id IS NULL))"
)
# Grouped: in a representative's proposal that was not declined.
_GROUPED = (
    "EXISTS (SELECT 1 FROM rep_proposal_reports pr WHERE pr.report_id = problem_reports.id"
    " AND NOT EXISTS (SELECT 1 FROM rep_proposals p WHERE p.id = pr.proposal_id"
    " AND p.status = 'declined'))"
)
_GROUPING_FILTER = {
    "on_item": _ON_ITEM,
    "grouped": f"{_GROUPED} AND NOT {_ON_ITEM}",
    "ungrouped": f"NOT {_GROUPED} AND NOT {_ON_ITEM}",
}


def _newest(stmt: Select[*Ts], created: Any, row_id: Any, after: After,
            limit: int) -> Select[*Ts]:
    """Newest first, keyset on (created, id)."""
    stmt = stmt.order_by(created.desc(), row_id.desc()).limit(limit)
    if after:
        stmt = stmt.where(tuple_(created, row_id) < tuple_(*after))
    return stmt


# ---- reports -------------------------------------------------------------------------------


async def own_reports(session: AsyncSession, worker_id: uuid.UUID, federation_id: uuid.UUID, *,
                      after: After, limit: int) -> Sequence[ProblemReport]:
    stmt = select(ProblemReport).where(ProblemReport.worker_id == worker_id,
                                       ProblemReport.federation_id == federation_id)
    return (await session.scalars(_newest(stmt, ProblemReport.created_at, ProblemReport.id,
                                          after, limit))).all()


async def own_report(session: AsyncSession, report_id: uuid.UUID, worker_id: uuid.UUID,
                     federation_id: uuid.UUID) -> ProblemReport | None:
    return await session.scalar(select(ProblemReport).where(
        ProblemReport.id == report_id, ProblemReport.worker_id == worker_id,
        ProblemReport.federation_id == federation_id))


async def reports(session: AsyncSession, ids: Iterable[uuid.UUID]) -> Sequence[ProblemReport]:
    """The visible reports among `ids`, by id."""
    return (await session.scalars(select(ProblemReport).where(
        ProblemReport.id.in_(set(ids))).order_by(ProblemReport.id))).all()


async def remit_page(session: AsyncSession, worker_id: uuid.UUID, federation_id: uuid.UUID, *,
                     topic: str | None, partner_id: uuid.UUID | None, after: After,
                     limit: int) -> Sequence[ProblemReport]:
    stmt = select(ProblemReport).where(_REMIT.bindparams(me=str(worker_id)),
                                       ProblemReport.federation_id == federation_id)
    if topic:
        stmt = stmt.where(ProblemReport.topic == topic)
    if partner_id:
        stmt = stmt.where(ProblemReport.partner_id == partner_id)
    return (await session.scalars(_newest(stmt, ProblemReport.created_at, ProblemReport.id,
                                          after, limit))).all()


async def grouped_by(session: AsyncSession, worker_id: uuid.UUID,
                     report_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these reports are in the worker's own proposals (not declined)."""
    if not report_ids:
        return set()
    rows = await session.scalars(_MY_GROUPED, {"me": str(worker_id), "ids": list(report_ids)})
    return set(rows.all())


async def staff_page(
    session: AsyncSession, federation_id: uuid.UUID, *, topic: str | None,
    partner_id: uuid.UUID | None, grouping: str | None, after: After, limit: int,
) -> list[tuple[ProblemReport, Grouping]]:
    """(report, grouping) of the subtree's reports, newest first."""
    stmt = (select(ProblemReport,
                   literal_column(_ON_ITEM, Boolean()).label("on_item"),
                   literal_column(_GROUPED, Boolean()).label("grouped"))
            .where(ProblemReport.federation_id == federation_id))
    if topic:
        stmt = stmt.where(ProblemReport.topic == topic)
    if partner_id:
        stmt = stmt.where(ProblemReport.partner_id == partner_id)
    if grouping:
        stmt = stmt.where(text(_GROUPING_FILTER[grouping]))
    rows = await session.execute(_newest(stmt, ProblemReport.created_at, ProblemReport.id,
                                         after, limit))
    return [(r, "on_item" if on_item else "grouped" if grouped else "ungrouped")
            for r, on_item, grouped in rows.all()]


# ---- representatives -----------------------------------------------------------------------


async def designations(session: AsyncSession, *, kind: str | None, include_ended: bool,
                       after: After, limit: int,
                       ) -> Sequence[WorkerRepresentative]:
    """Designations, newest first."""
    stmt = select(WorkerRepresentative)
    if kind:
        stmt = stmt.where(WorkerRepresentative.kind == kind)
    if not include_ended:
        stmt = stmt.where(WorkerRepresentative.ended_at.is_(None))
    return (await session.scalars(_newest(stmt, WorkerRepresentative.started_at,
                                          WorkerRepresentative.id, after, limit))).all()


async def designation(session: AsyncSession, rep_id: uuid.UUID, *,
                      lock: bool = False) -> WorkerRepresentative | None:
    stmt = select(WorkerRepresentative).where(WorkerRepresentative.id == rep_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def open_designations(session: AsyncSession, worker_id: uuid.UUID,
                            federation_id: uuid.UUID) -> Sequence[WorkerRepresentative]:
    return (await session.scalars(select(WorkerRepresentative).where(
        WorkerRepresentative.worker_id == worker_id,
        WorkerRepresentative.federation_id == federation_id,
        WorkerRepresentative.ended_at.is_(None)).order_by(WorkerRepresentative.started_at))).all()


async def open_designation(session: AsyncSession, rep_id: uuid.UUID,
                           worker_id: uuid.UUID) -> WorkerRepresentative | None:
    return await session.scalar(select(WorkerRepresentative).where(
        WorkerRepresentative.id == rep_id, WorkerRepresentative.worker_id == worker_id,
        WorkerRepresentative.ended_at.is_(None)))


# ---- proposals -----------------------------------------------------------------------------


async def proposals(session: AsyncSession, ids: Iterable[uuid.UUID], *,
                    lock: bool = False) -> Sequence[RepProposal]:
    """The visible proposals among `ids`, by id."""
    stmt = select(RepProposal).where(RepProposal.id.in_(set(ids))).order_by(RepProposal.id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).all()


async def proposal(session: AsyncSession, proposal_id: uuid.UUID, *,
                   lock: bool = False) -> RepProposal | None:
    stmt = select(RepProposal).where(RepProposal.id == proposal_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def report_of_case(session: AsyncSession, case_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(ProblemReport.id).where(
        ProblemReport.source_case_id == case_id).limit(1))


async def proposals_holding(session: AsyncSession,
                            report_id: uuid.UUID) -> Sequence[uuid.UUID]:
    """The proposals that hold the report, as far as the caller sees the links."""
    return (await session.scalars(
        select(RepProposalReport.proposal_id).where(RepProposalReport.report_id == report_id)
        .order_by(RepProposalReport.proposal_id))).all()


async def report_ids(session: AsyncSession,
                     proposal_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each proposal's reports, by report id."""
    out: dict[uuid.UUID, list[uuid.UUID]] = {p: [] for p in proposal_ids}
    if proposal_ids:
        rows = await session.execute(
            select(RepProposalReport.proposal_id, RepProposalReport.report_id)
            .where(RepProposalReport.proposal_id.in_(list(proposal_ids)))
            .order_by(RepProposalReport.report_id))
        for pid, rid in rows.all():
            out[pid].append(rid)
    return out


async def own_proposals(session: AsyncSession, worker_id: uuid.UUID, federation_id: uuid.UUID,
                        *, after: After, limit: int) -> Sequence[RepProposal]:
    stmt = select(RepProposal).where(RepProposal.worker_id == worker_id,
                                     RepProposal.federation_id == federation_id)
    return (await session.scalars(_newest(stmt, RepProposal.created_at, RepProposal.id,
                                          after, limit))).all()


async def staff_proposals(session: AsyncSession, *, status: str | None, after: After,
                          limit: int,
                          ) -> list[tuple[RepProposal, WorkerRepresentative]]:
    """(proposal, its designation), newest first."""
    stmt = (select(RepProposal, WorkerRepresentative)
            .join(WorkerRepresentative, WorkerRepresentative.id == RepProposal.representative_id))
    if status:
        stmt = stmt.where(RepProposal.status == status)
    rows = await session.execute(_newest(stmt, RepProposal.created_at, RepProposal.id,
                                         after, limit))
    return [(p, rep) for p, rep in rows.all()]
