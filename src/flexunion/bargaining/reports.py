"""问题提报: a worker reports a problem with a platform's rules; the reporter follows what
it fed on the board; representatives read the reports of their remit (never who filed
them); staff read their subtree's reports with the reporter as a member number only.

Row-level security decides which reports exist for a caller: its own, those in the remit
of its open designations, or (staff) its subtree's. A worker reads the federation's
platform list through the geo registry's read-only federation reader: its own database
scope holds no tenant rows, and the partner list is the federation's public reference."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import literal_column, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining import board
from flexunion.bargaining.lifecycle import STATUSES
from flexunion.bargaining.models import TOPICS, AgendaItem, AgendaItemSource, ProblemReport
from flexunion.bargaining.report_schemas import (
    Label,
    RemitReportRead,
    ReportAdminRead,
    ReportCreate,
    ReportRead,
    TraceEntry,
)
from flexunion.bargaining.topics import check_details
from flexunion.core.context import Caller
from flexunion.core.errors import Forbidden, InvalidInput, NotFound
from flexunion.federation import directory as fed_directory
from flexunion.geo.rosters import delivery_zone_codes
from flexunion.membership import service as membership
from flexunion.membership.models import Member

MAX_MERGE_HOPS = 50


class ReportNotFound(NotFound):
    code, title, title_en = "report_not_found", "未找到该问题提报", "Report not found"


# ---- shared look-ups ------------------------------------------------------------------


async def partner_codes(session: AsyncSession, federation_id: uuid.UUID) -> dict[uuid.UUID, str]:
    return await board.partners(session, federation_id)


async def partner_id(session: AsyncSession, federation_id: uuid.UUID, code: str) -> uuid.UUID:
    return await board.partner_by_code(session, federation_id, code)


async def zone_partner(geo: Any, federation_id: uuid.UUID, zone: str,
                       partner: str | None = None) -> str:
    """The partner code of delivery zone `zone` (of `partner`, when given), else 422."""
    snapshot = await geo.get(federation_id)
    if partner is not None:
        if zone in delivery_zone_codes(snapshot, partner):
            return partner
    else:
        for ref in snapshot.areas.refs:
            if ref.kind == "delivery_zone" and ref.code == zone and ref.partner_code:
                return ref.partner_code
    raise InvalidInput(f"'{zone}' is not a delivery zone" + (f" of '{partner}'." if partner
                                                             else " of this federation."),
                       code="unknown_zone", extra={"zone_code": zone})


def topic_label(topic: str) -> Label:
    zh, en = TOPICS[topic]
    return Label(code=topic, zh=zh, en=en)


def status_label(status: str) -> Label:
    zh, en = STATUSES[status]
    return Label(code=status, zh=zh, en=en)


async def active_member(session: AsyncSession, caller: Caller) -> Member:
    """The caller's membership, which must be active (403 `membership_required`)."""
    member = await membership.own_member(session, caller)
    if member is None:
        raise Forbidden("Only a union member can do this; join first.",
                        code="membership_required")
    if member.status != "active":
        raise Forbidden(f"Your membership is '{member.status}'; only an active member can do"
                        " this.", code="membership_required",
                        extra={"member_status": member.status})
    return member


def _page(stmt: Any, after: tuple[datetime, uuid.UUID] | None, limit: int) -> Any:
    """Newest first, keyset on (created_at, id)."""
    stmt = stmt.order_by(ProblemReport.created_at.desc(), ProblemReport.id.desc()).limit(limit)
    if after:
        stmt = stmt.where(tuple_(ProblemReport.created_at, ProblemReport.id) < tuple_(*after))
    return stmt


# ---- the reporter -----------------------------------------------------------------------


async def file_report(session: AsyncSession, geo: Any, caller: Caller, data: ReportCreate, *,
                      now: datetime) -> ProblemReport:
    """提报: an active member reports; the row is the member's home and its region."""
    member = await active_member(session, caller)
    details = check_details(data.topic, data.details, complete=False)
    fed = member.federation_id
    pid = await partner_id(session, fed, data.partner)
    tenants = await fed_directory.directory(session, fed)
    if data.station_code is not None:
        station = tenants.get(data.station_code)
        if station is None or station.kind != "station":
            raise InvalidInput(f"'{data.station_code}' is not a station of this federation.",
                               code="unknown_station", extra={"station_code": data.station_code})
    if data.zone_code is not None:
        await zone_partner(geo, fed, data.zone_code, data.partner)
    home = next(e for e in tenants.values() if e.id == member.tenant_id)
    region = home if home.kind in ("regional", "hq") else tenants[home.parent_code or ""]
    report = ProblemReport(
        id=uuid.uuid4(), federation_id=fed, tenant_id=home.id, region_id=region.id,
        member_id=member.id, worker_id=member.worker_id, topic=data.topic, partner_id=pid,
        station_code=data.station_code, zone_code=data.zone_code, title=data.title,
        body=data.body, details=details, created_at=now,
    )
    session.add(report)
    await session.flush()
    await audit.record(session, "report.filed", tenant_id=report.tenant_id,
                       object_type="problem_report", object_id=report.id,
                       payload={"topic": data.topic, "partner": data.partner,
                                "station_code": data.station_code, "zone_code": data.zone_code})
    return report


async def mine(session: AsyncSession, caller: Caller, *,
               after: tuple[datetime, uuid.UUID] | None, limit: int) -> Sequence[ProblemReport]:
    """My own reports only (a representative's RLS also shows its remit: filtered out)."""
    stmt = select(ProblemReport).where(ProblemReport.worker_id == uuid.UUID(caller.subject),
                                       ProblemReport.federation_id == caller.tenant_id)
    return (await session.scalars(_page(stmt, after, limit))).all()


async def own_report(session: AsyncSession, caller: Caller, report_id: uuid.UUID) -> ProblemReport:
    report = await session.scalar(select(ProblemReport).where(
        ProblemReport.id == report_id, ProblemReport.worker_id == uuid.UUID(caller.subject),
        ProblemReport.federation_id == caller.tenant_id))
    if report is None:
        raise ReportNotFound("No such report.")
    return report


async def trace(session: AsyncSession, report_id: uuid.UUID) -> list[TraceEntry]:
    """The items the report feeds now: its active source rows, each followed through merges
    to the surviving item. Items the reporter can no longer see (membership lapsed) are left
    out."""
    item_ids = (await session.scalars(
        select(AgendaItemSource.item_id).where(AgendaItemSource.report_id == report_id,
                                               AgendaItemSource.moved_to_item_id.is_(None))
        .order_by(AgendaItemSource.created_at, AgendaItemSource.id))).all()
    out: dict[uuid.UUID, TraceEntry] = {}
    for item_id in dict.fromkeys(item_ids):
        item = await _item(session, item_id)
        passed: list[uuid.UUID] = []
        while (item is not None and item.status == "merged" and item.merged_into_id
               and len(passed) < MAX_MERGE_HOPS):
            passed.append(item.id)
            item = await _item(session, item.merged_into_id)
        if item is not None and item.id not in out:
            out[item.id] = TraceEntry(item_id=item.id, title=item.title,
                                      status=status_label(item.status), via_items=passed)
    return list(out.values())


async def _item(session: AsyncSession, item_id: uuid.UUID) -> AgendaItem | None:
    return await session.scalar(select(AgendaItem).where(AgendaItem.id == item_id))


def report_read(report: ProblemReport, codes: dict[uuid.UUID, str],
                trace_: list[TraceEntry] | None = None) -> ReportRead:
    return ReportRead(
        id=report.id, topic=topic_label(report.topic), partner=codes.get(report.partner_id, ""),
        station_code=report.station_code, zone_code=report.zone_code, title=report.title,
        body=report.body, details=report.details, created_at=report.created_at, trace=trace_)


# ---- a representative's remit -------------------------------------------------------------

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


async def remit_reports(
    session: AsyncSession, geo: Any, caller: Caller, *, topic: str | None,
    partner: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int,
) -> list[RemitReportRead]:
    me = caller.subject
    stmt = select(ProblemReport).where(_REMIT.bindparams(me=me),
                                       ProblemReport.federation_id == caller.tenant_id)
    codes = await partner_codes(session, caller.tenant_id)
    if topic:
        stmt = stmt.where(ProblemReport.topic == topic)
    if partner:
        stmt = stmt.where(ProblemReport.partner_id == next(
            (pid for pid, code in codes.items() if code == partner), uuid.UUID(int=0)))
    rows = (await session.scalars(_page(stmt, after, limit))).all()
    grouped: set[uuid.UUID] = set()
    if rows:
        grouped = set((await session.scalars(_MY_GROUPED, {
            "me": me, "ids": [r.id for r in rows]})).all())
    return [RemitReportRead(
        id=r.id, topic=topic_label(r.topic), partner=codes.get(r.partner_id, ""),
        station_code=r.station_code, zone_code=r.zone_code, title=r.title, body=r.body,
        details=r.details, created_at=r.created_at, grouped=r.id in grouped) for r in rows]


# ---- staff --------------------------------------------------------------------------------

# On an item: an active source row names the report, or a proposal that holds it.
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


async def staff_federation(session: AsyncSession) -> uuid.UUID:
    return (await session.execute(text("SELECT flexunion_federation()"))).scalar_one()


async def staff_reports(
    session: AsyncSession, *, topic: str | None, partner: str | None, grouping: str | None,
    after: tuple[datetime, uuid.UUID] | None, limit: int,
) -> list[ReportAdminRead]:
    """The subtree's reports (RLS), newest first; the reporter as a member number."""
    fed = await staff_federation(session)
    codes = await partner_codes(session, fed)
    stmt = (select(ProblemReport, Member.member_no,
                   literal_column(_ON_ITEM).label("on_item"),
                   literal_column(_GROUPED).label("grouped"))
            .outerjoin(Member, Member.id == ProblemReport.member_id)
            .where(ProblemReport.federation_id == fed))
    if topic:
        stmt = stmt.where(ProblemReport.topic == topic)
    if partner:
        stmt = stmt.where(ProblemReport.partner_id == next(
            (pid for pid, code in codes.items() if code == partner), uuid.UUID(int=0)))
    if grouping:
        stmt = stmt.where(text(_GROUPING_FILTER[grouping]))
    rows = (await session.execute(_page(stmt, after, limit))).all()
    by_id = {e.id: e.code for e in (await fed_directory.directory(session, fed)).values()}
    return [ReportAdminRead(
        id=r.id, tenant=by_id.get(r.tenant_id, ""), region=by_id.get(r.region_id, ""),
        member_no=member_no, topic=topic_label(r.topic), partner=codes.get(r.partner_id, ""),
        station_code=r.station_code, zone_code=r.zone_code, title=r.title, body=r.body,
        details=r.details, created_at=r.created_at,
        grouping="on_item" if on_item else "grouped" if grouped else "ungrouped")
        for r, member_no, on_item, grouped in rows]
