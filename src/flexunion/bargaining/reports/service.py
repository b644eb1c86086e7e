"""问题提报与骑手/司机代表: a worker reports a problem with a platform's rules and follows
what it fed on the board; a regional union or the HQ designates an active member as the
workers' representative for a station, a delivery zone or a platform; the representative
reads the reports of that remit (never who filed them) and groups them into proposals
(代表提案); staff read their subtree's reports with the reporter as a member number only,
decline a proposal, or take reports and proposals onto a board item (`INTAKE`).

Row-level security decides which reports exist for a caller: its own, those in the remit
of its open designations, or (staff) its subtree's. A designation belongs to the
designating tenant: a regional union's representative's remit is its region's reports,
the HQ's the whole federation's. The federation's platform partners and tenants are read
from its public directory, since a worker's own scope holds no tenant rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.board import service as board
from flexunion.bargaining.board.models import AgendaItem
from flexunion.bargaining.board.topics import check_details
from flexunion.bargaining.reports import repository
from flexunion.bargaining.reports.models import (
    ProblemReport,
    RepProposal,
    RepProposalReport,
    WorkerRepresentative,
)
from flexunion.bargaining.reports.schemas import (
    Grouping,
    ProposalCreate,
    ReportCreate,
    RepresentativeCreate,
)
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.federation.directory import Directory
from flexunion.geo.areas.service import delivery_zone_codes, zone_partner
from flexunion.geo.registry import GeoRegistry
from flexunion.membership import service as membership

DESIGNATING_ROLES = (Role.HQ_ADMIN, Role.REGIONAL_ADMIN)
After = tuple[datetime, uuid.UUID] | None
_NO_PARTNER = uuid.UUID(int=0)  # a list filtered by an unknown partner code shows nothing


class ReportNotFound(NotFound):
    code, title, title_en = "report_not_found", "未找到该问题提报", "Report not found"


class RepresentativeNotFound(NotFound):
    code, title, title_en = ("representative_not_found", "未找到该代表任命",
                             "Representative designation not found")


class ProposalNotFound(NotFound):
    code, title, title_en = "proposal_not_found", "未找到该代表提案", "Proposal not found"


async def lookups(session: AsyncSession, caller: Caller) -> tuple[Directory, dict[uuid.UUID, str]]:
    """The caller's federation's tenants, and its partner codes by id."""
    tenants = await directory.my_directory(session, caller)
    return tenants, await directory.partner_codes(session, tenants.hq.id)


async def _partner_filter(session: AsyncSession, federation_id: uuid.UUID,
                          code: str | None) -> uuid.UUID | None:
    if not code:
        return None
    found = (await directory.partners(session, federation_id)).get(code)
    return found.id if found else _NO_PARTNER


async def _zone_partner(geo: GeoRegistry, federation_id: uuid.UUID, zone: str,
                        partner: str | None = None) -> str:
    """The partner code of delivery zone `zone` (which must be `partner`'s, when given)."""
    snapshot = await geo.get(federation_id)
    if partner is not None:
        if zone in delivery_zone_codes(snapshot, partner):
            return partner
    else:
        found = zone_partner(snapshot, zone)
        if found:
            return found
    where_zh, where_en = (f"{partner} 的", f" of '{partner}'.") if partner else (
        "本联合会的", " of this federation.")
    raise InvalidInput(f"{zone} 不是{where_zh}配送片区。",
                       f"'{zone}' is not a delivery zone{where_en}", code="unknown_zone",
                       extra={"zone_code": zone})


# ---- the reporter ----------------------------------------------------------------------------


async def file_report(session: AsyncSession, geo: GeoRegistry, caller: Caller,
                      data: ReportCreate, *, now: datetime) -> ProblemReport:
    """提报: an active member reports; the row is the member's home and its region."""
    member = await membership.require_active(session, caller)
    details = check_details(data.topic, data.details, complete=False)
    fed = member.federation_id
    partner = await directory.partner_by_code(session, fed, data.partner)
    tenants = await directory.directory(session, fed)
    if data.station_code is not None:
        station = tenants.get(data.station_code)
        if station is None or station.kind != "station":
            raise InvalidInput(f"{data.station_code} 不是本联合会的站点。",
                               f"'{data.station_code}' is not a station of this federation.",
                               code="unknown_station", extra={"station_code": data.station_code})
    if data.zone_code is not None:
        await _zone_partner(geo, fed, data.zone_code, data.partner)
    home = tenants.by_id[member.tenant_id]
    region = tenants.region_of(home) or home  # a member of the HQ itself reports to the HQ
    report = ProblemReport(
        id=uuid.uuid4(), federation_id=fed, tenant_id=home.id, region_id=region.id,
        member_id=member.id, worker_id=member.worker_id, topic=data.topic, partner_id=partner.id,
        station_code=data.station_code, zone_code=data.zone_code, title=data.title,
        body=data.body, details=details, created_at=now,
    )
    repository.add(session, report)
    await repository.flush(session)
    await audit.record(session, "report.filed", tenant_id=report.tenant_id,
                       object_type="problem_report", object_id=report.id,
                       payload={"topic": data.topic, "partner": data.partner,
                                "station_code": data.station_code, "zone_code": data.zone_code})
    return report


async def file_for_case(session: AsyncSession, *, federation_id: uuid.UUID,
                        tenant_id: uuid.UUID, member_id: uuid.UUID, worker_id: uuid.UUID,
                        partner_id: uuid.UUID, station_code: str | None,
                        zone_code: str | None, topic: str, title: str, body: str,
                        details: object, source_case_id: uuid.UUID,
                        now: datetime) -> ProblemReport:
    """提报 on a worker's behalf, from a demand-ledger case (集体协商; the caller is the case's
    dispatching union, checked by cases/handling/service.py `route`). The report is the
    worker's own (they read it among their reports) but belongs where the case is handled —
    `tenant_id` the case's tenant (where the worker works), `region_id` that tenant's region
    (the HQ for a case of the HQ itself) — so the staff of the work region and the
    representatives of its stations, zones and platforms see it (issue 15: a worker takes
    part where they work). `filed_by` is the staff principal; RLS (0028 `case_staff_insert`)
    lets staff insert only from a case they see, with that case's worker, member, partner
    and tenant."""
    checked = check_details(topic, details, complete=False)
    tenants = await directory.directory(session, federation_id)
    work = tenants.by_id[tenant_id]
    region = tenants.region_of(work) or work
    report = ProblemReport(
        id=uuid.uuid4(), federation_id=federation_id, tenant_id=work.id, region_id=region.id,
        member_id=member_id, worker_id=worker_id, topic=topic, partner_id=partner_id,
        station_code=station_code, zone_code=zone_code, title=title, body=body,
        details=checked, created_at=now, source_case_id=source_case_id,
        filed_by=await rls.principal(session))
    repository.add(session, report)
    await repository.flush(session)
    await audit.record(session, "report.filed_from_case", tenant_id=report.tenant_id,
                       object_type="problem_report", object_id=report.id,
                       payload={"topic": topic, "case_id": str(source_case_id),
                                "station_code": station_code, "zone_code": zone_code})
    return report


async def report_of_case(session: AsyncSession, case_id: uuid.UUID) -> uuid.UUID | None:
    """The report filed from the case, as far as the caller sees it."""
    return await repository.report_of_case(session, case_id)


async def report_with_trace(session: AsyncSession, report_id: uuid.UUID,
                            ) -> tuple[ProblemReport, list[AgendaItem]] | None:
    """A report the caller sees (RLS) and the board items it feeds now, or None."""
    found = await repository.reports(session, [report_id])
    if not found:
        return None
    return found[0], [item for item, _ in await trace(session, found[0])]


async def mine(session: AsyncSession, caller: Caller, *, after: After,
               limit: int) -> Sequence[ProblemReport]:
    """My own reports only (a representative's RLS also shows its remit: filtered out)."""
    return await repository.own_reports(session, uuid.UUID(caller.subject), caller.tenant_id,
                                        after=after, limit=limit)


async def own_report(session: AsyncSession, caller: Caller, report_id: uuid.UUID) -> ProblemReport:
    report = await repository.own_report(session, report_id, uuid.UUID(caller.subject),
                                         caller.tenant_id)
    if report is None:
        raise ReportNotFound("没有这条你的问题提报。", "No such report of yours.")
    return report


async def trace(session: AsyncSession,
                report: ProblemReport) -> list[tuple[AgendaItem, list[uuid.UUID]]]:
    """The board items the report feeds now — as a source, or through a representative's
    proposal that holds it and was taken onto an item — merges followed, as far as the caller
    sees (a worker sees the proposal link only as the representative who made it)."""
    return await board.fed_by_report(session, report.id,
                                     await repository.proposals_holding(session, report.id))


# ---- a representative's remit ----------------------------------------------------------------


async def remit_reports(session: AsyncSession, caller: Caller, *, topic: str | None,
                        partner: str | None, after: After, limit: int,
                        ) -> tuple[Sequence[ProblemReport], set[uuid.UUID]]:
    """The reports in my remit, newest first, and which of them my proposals hold."""
    me = uuid.UUID(caller.subject)
    rows = await repository.remit_page(
        session, me, caller.tenant_id, topic=topic,
        partner_id=await _partner_filter(session, caller.tenant_id, partner),
        after=after, limit=limit)
    return rows, await repository.grouped_by(session, me, [r.id for r in rows])


# ---- staff: reports --------------------------------------------------------------------------


async def staff_reports(session: AsyncSession, caller: Caller, *, topic: str | None,
                        partner: str | None, grouping: str | None, after: After, limit: int,
                        ) -> list[tuple[ProblemReport, str | None, Grouping]]:
    """The subtree's reports (RLS), newest first: (report, member number, grouping)."""
    fed = await directory.federation_of(session, caller)
    rows = await repository.staff_page(
        session, fed, topic=topic, partner_id=await _partner_filter(session, fed, partner),
        grouping=grouping, after=after, limit=limit)
    numbers = await membership.member_numbers(session, (r.member_id for r, _ in rows))
    return [(r, numbers.get(r.member_id), group) for r, group in rows]


# ---- staff: representatives ------------------------------------------------------------------


async def designate(session: AsyncSession, geo: GeoRegistry, caller: Caller,
                    data: RepresentativeCreate, *, now: datetime) -> WorkerRepresentative:
    if caller.role not in DESIGNATING_ROLES:
        raise Forbidden("骑手/司机代表由区域工会或总部任命。",
                        "Representatives are designated by a regional union or the HQ.",
                        code="designation_not_allowed")
    fed = await directory.federation_of(session, caller)
    member = await membership.member_by_number(session, fed, data.member_no)
    if member is None:
        raise InvalidInput(f"你所辖工会中没有会员号为 {data.member_no} 的会员。",
                           f"No member numbered '{data.member_no}' in your unions.",
                           code="unknown_member", extra={"member_no": data.member_no})
    if member.status != "active":  # the designated member's state, not the caller's
        raise Conflict(f"该会员的会籍状态为 {member.status}，只有正常会员可以任命为代表。",
                       f"The membership is '{member.status}'; only an active member can be"
                       " designated.", code="member_not_active",
                       extra={"member_status": member.status})
    partner_id: uuid.UUID | None = None
    if data.kind == "station":
        station = (await directory.directory(session, fed)).get(data.ref_code)
        if station is None or station.kind != "station" or not await rls.in_scope(
                session, station.id):
            raise InvalidInput(f"{data.ref_code} 不是你所辖工会的站点。",
                               f"'{data.ref_code}' is not a station of your unions.",
                               code="unknown_station", extra={"ref_code": data.ref_code})
    else:
        code = (await _zone_partner(geo, fed, data.ref_code) if data.kind == "zone"
                else data.ref_code)
        partner_id = (await directory.partner_by_code(session, fed, code)).id
    rep = WorkerRepresentative(
        id=uuid.uuid4(), federation_id=fed, tenant_id=caller.tenant_id, member_id=member.id,
        worker_id=member.worker_id, kind=data.kind, ref_code=data.ref_code,
        partner_id=partner_id, designated_by=await rls.principal(session), started_at=now)
    try:
        async with session.begin_nested():
            repository.add(session, rep)
            await repository.flush(session)
    except IntegrityError as exc:
        raise Conflict("该会员已是这一范围的代表。", "This member already represents that remit.",
                       code="representative_already_designated",
                       extra={"member_no": data.member_no, "kind": data.kind,
                              "ref_code": data.ref_code}) from exc
    await audit.record(session, "representative.designated", tenant_id=rep.tenant_id,
                       object_type="worker_representative", object_id=rep.id,
                       payload={"member_id": str(member.id), "member_no": member.member_no,
                                "kind": rep.kind, "ref_code": rep.ref_code})
    return rep


async def designations(session: AsyncSession, *, kind: str | None, include_ended: bool,
                       after: After, limit: int,
                       ) -> list[tuple[WorkerRepresentative, str | None]]:
    reps = await repository.designations(session, kind=kind, include_ended=include_ended,
                                         after=after, limit=limit)
    numbers = await membership.member_numbers(session, (r.member_id for r in reps))
    return [(rep, numbers.get(rep.member_id)) for rep in reps]


async def end(session: AsyncSession, rep_id: uuid.UUID, *, reason: str,
              now: datetime) -> WorkerRepresentative:
    rep = await repository.designation(session, rep_id, lock=True)
    if rep is None:
        raise RepresentativeNotFound("没有这项代表任命。", "No such designation.")
    if rep.ended_at is not None:
        raise Conflict("这项代表任命已经结束。", "This designation has already ended.",
                       code="representative_ended")
    rep.ended_at = now
    rep.ended_by = await rls.principal(session)
    await repository.flush(session)
    await audit.record(session, "representative.ended", tenant_id=rep.tenant_id,
                       object_type="worker_representative", object_id=rep.id,
                       payload={"member_id": str(rep.member_id), "kind": rep.kind,
                                "ref_code": rep.ref_code, "reason": reason})
    return rep


async def member_no(session: AsyncSession, rep: WorkerRepresentative) -> str | None:
    """The representative's member number, as far as the caller may see the member."""
    return (await membership.member_numbers(session, [rep.member_id])).get(rep.member_id)


# ---- the representative ----------------------------------------------------------------------


async def my_designations(session: AsyncSession, caller: Caller) -> Sequence[WorkerRepresentative]:
    return await repository.open_designations(session, uuid.UUID(caller.subject),
                                              caller.tenant_id)


def in_remit(rep: WorkerRepresentative, report: ProblemReport) -> bool:
    if rep.tenant_id not in (report.region_id, report.federation_id):
        return False
    return ((rep.kind == "station" and rep.ref_code == report.station_code)
            or (rep.kind == "zone" and rep.ref_code == report.zone_code)
            or (rep.kind == "platform" and rep.partner_id == report.partner_id))


async def propose(session: AsyncSession, caller: Caller, data: ProposalCreate, *,
                  now: datetime) -> tuple[RepProposal, list[uuid.UUID]]:
    """代表提案: every report must be in the remit of the named (open, own) designation and
    be about the proposal's platform; else 422 naming the reports, and nothing is written."""
    await membership.require_active(session, caller)
    rep = await repository.open_designation(session, data.representative_id,
                                            uuid.UUID(caller.subject))
    if rep is None:
        raise RepresentativeNotFound("你没有这项有效的代表任命。",
                                     "You hold no open designation with this id.")
    details = check_details(data.topic, data.details, complete=False)
    partner = await directory.partner_by_code(session, rep.federation_id, data.partner)
    ids = list(dict.fromkeys(data.report_ids))
    found = {r.id: r for r in await repository.reports(session, ids)}
    outside = [i for i in ids if i not in found or not in_remit(rep, found[i])]
    if outside:
        raise InvalidInput("有些提报不在你的代表范围内。", "Some reports are not in your remit.",
                           code="report_not_in_remit",
                           extra={"report_ids": [str(i) for i in outside]})
    other = [i for i in ids if found[i].partner_id != partner.id]
    if other:
        raise InvalidInput(f"有些提报说的不是 {data.partner}。",
                           f"Some reports are not about '{data.partner}'.",
                           code="report_partner_mismatch",
                           extra={"report_ids": [str(i) for i in other]})
    proposal = RepProposal(
        id=uuid.uuid4(), federation_id=rep.federation_id, tenant_id=rep.tenant_id,
        representative_id=rep.id, worker_id=rep.worker_id, topic=data.topic,
        partner_id=partner.id, title=data.title, body=data.body, details=details,
        status="submitted", created_at=now)
    repository.add(session, proposal)
    await repository.flush(session)
    # The link lives with the report's tenant: staff who see the report see it is grouped.
    repository.add_all(session, [RepProposalReport(
        proposal_id=proposal.id, report_id=i, federation_id=rep.federation_id,
        tenant_id=found[i].tenant_id) for i in ids])
    await repository.flush(session)
    await audit.record(session, "proposal.submitted", tenant_id=proposal.tenant_id,
                       object_type="rep_proposal", object_id=proposal.id,
                       payload={"representative_id": str(rep.id), "topic": data.topic,
                                "partner": data.partner, "reports": len(ids)})
    return proposal, ids


async def report_ids(session: AsyncSession,
                     proposal_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    return await repository.report_ids(session, proposal_ids)


async def my_proposals(session: AsyncSession, caller: Caller, *, after: After,
                       limit: int) -> Sequence[RepProposal]:
    return await repository.own_proposals(session, uuid.UUID(caller.subject), caller.tenant_id,
                                          after=after, limit=limit)


# ---- staff: proposals ------------------------------------------------------------------------


async def staff_proposals(session: AsyncSession, *, status: str | None, after: After,
                          limit: int,
                          ) -> list[tuple[RepProposal, WorkerRepresentative, str | None]]:
    rows = await repository.staff_proposals(session, status=status, after=after, limit=limit)
    numbers = await membership.member_numbers(session, (rep.member_id for _, rep in rows))
    return [(p, rep, numbers.get(rep.member_id)) for p, rep in rows]


async def representative_of(session: AsyncSession, proposal: RepProposal,
                            ) -> tuple[WorkerRepresentative, str | None]:
    rep = await repository.designation(session, proposal.representative_id)
    if rep is None:  # the proposal's own designation: visible wherever the proposal is
        raise RepresentativeNotFound("没有这项代表任命。", "No such designation.")
    return rep, await member_no(session, rep)


async def decline(session: AsyncSession, proposal_id: uuid.UUID, *, reason: str,
                  now: datetime) -> RepProposal:
    proposal = await repository.proposal(session, proposal_id, lock=True)
    if proposal is None:
        raise ProposalNotFound("没有这项代表提案。", "No such proposal.")
    if proposal.status != "submitted":
        raise Conflict("只有已提交的提案可以不予采纳。",
                       f"A proposal that is '{proposal.status}' cannot be declined.",
                       code="proposal_not_submitted", extra={"proposal_status": proposal.status})
    proposal.status = "declined"
    proposal.decided_by = await rls.principal(session)
    proposal.decision_reason = reason
    proposal.decided_at = now
    await repository.flush(session)
    await audit.record(session, "proposal.declined", tenant_id=proposal.tenant_id,
                       object_type="rep_proposal", object_id=proposal.id,
                       payload={"reason": reason})
    return proposal


# ---- onto the board --------------------------------------------------------------------------


class ReportsIntake:
    """The board's `SourceIntake`: the reports and proposals a new item is made from must be
    visible to the staff caller and about the item's platform, the proposals still open;
    the proposals are then taken (采纳). Proposals are locked in id order."""

    async def take(self, session: AsyncSession, report_ids: Sequence[uuid.UUID],
                   proposal_ids: Sequence[uuid.UUID], *, partner_id: uuid.UUID, actor: str,
                   now: datetime) -> board.Sources:
        reports = await repository.reports(session, report_ids) if report_ids else []
        proposals = (await repository.proposals(session, proposal_ids, lock=True)
                     if proposal_ids else [])
        missing = sorted({str(i) for i in report_ids} - {str(r.id) for r in reports}) + sorted(
            {str(i) for i in proposal_ids} - {str(p.id) for p in proposals})
        if missing:
            raise InvalidInput("有些来源不存在，或你无权查看。",
                               "Some sources do not exist or are not visible to you.",
                               code="source_not_found", extra={"missing": missing})
        sources: list[ProblemReport | RepProposal] = [*reports, *proposals]
        other = [str(s.id) for s in sources if s.partner_id != partner_id]
        if other:
            raise InvalidInput("每个来源都须涉及该事项的平台。",
                               "Every source must concern the item's platform.",
                               code="source_partner_mismatch", extra={"sources": other})
        closed = [str(p.id) for p in proposals if p.status != "submitted"]
        if closed:
            raise Conflict("有些提案已被采纳或不予采纳。",
                           "Some proposals were already taken or declined.",
                           code="proposal_not_open", extra={"proposals": closed})
        for p in proposals:
            p.status, p.decided_by, p.decided_at = "taken", actor, now
        return board.Sources([r.id for r in reports], [p.id for p in proposals])


INTAKE = ReportsIntake()
