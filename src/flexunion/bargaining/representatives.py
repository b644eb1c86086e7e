"""骑手/司机代表: a regional union or the HQ designates an active member as the workers'
representative for a station, a delivery zone or a platform; the representative reads the
reports of that remit (row-level security) and groups them into proposals (代表提案) for
the board; staff decline a proposal or (H2) take it onto an item.

A designation belongs to the designating tenant (`tenant_id`): a regional union's
representative's remit is its region's reports, the HQ's the whole federation's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining import board, reports
from flexunion.bargaining.models import (
    REP_KINDS,
    ProblemReport,
    RepProposal,
    RepProposalReport,
    WorkerRepresentative,
)
from flexunion.bargaining.report_schemas import (
    Label,
    ProposalAdminRead,
    ProposalCreate,
    ProposalRead,
    RepresentativeAdminRead,
    RepresentativeCreate,
    RepresentativeRead,
)
from flexunion.bargaining.topics import check_details
from flexunion.core.context import Caller, Role
from flexunion.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from flexunion.federation import directory as fed_directory
from flexunion.federation.directory import DirectoryEntry
from flexunion.membership.models import Member

DESIGNATING_ROLES = (Role.HQ_ADMIN, Role.REGIONAL_ADMIN)
PROPOSAL_STATUSES = {"submitted": ("已提交", "Submitted"),
                     "taken": ("已采纳", "Taken onto the board"),
                     "declined": ("未采纳", "Declined")}
_IN_SCOPE = text("SELECT CAST(:t AS uuid) = ANY (flexunion_tenant_scope())")


class RepresentativeNotFound(NotFound):
    code, title, title_en = ("representative_not_found", "未找到该代表任命",
                             "Representative designation not found")


class ProposalNotFound(NotFound):
    code, title, title_en = "proposal_not_found", "未找到该代表提案", "Proposal not found"


def kind_label(kind: str) -> Label:
    zh, en = REP_KINDS[kind]
    return Label(code=kind, zh=zh, en=en)


def proposal_status(status: str) -> Label:
    zh, en = PROPOSAL_STATUSES[status]
    return Label(code=status, zh=zh, en=en)


# ---- staff: designate, list, end --------------------------------------------------------


async def designate(session: AsyncSession, geo: Any, caller: Caller, data: RepresentativeCreate,
                    *, now: datetime) -> WorkerRepresentative:
    if caller.role not in DESIGNATING_ROLES:
        raise Forbidden("Representatives are designated by a regional union or the HQ.",
                        code="designation_not_allowed")
    fed = await reports.staff_federation(session)
    member = await session.scalar(select(Member).where(Member.federation_id == fed,
                                                       Member.member_no == data.member_no))
    if member is None:
        raise InvalidInput(f"No member numbered '{data.member_no}' in your unions.",
                           code="unknown_member", extra={"member_no": data.member_no})
    if member.status != "active":
        raise Conflict(f"The membership is '{member.status}'; only an active member can be"
                       " designated.", code="member_not_active",
                       extra={"member_status": member.status})
    partner_id: uuid.UUID | None = None
    if data.kind == "station":
        station = (await fed_directory.directory(session, fed)).get(data.ref_code)
        if station is None or station.kind != "station" or not (
                await session.execute(_IN_SCOPE, {"t": station.id})).scalar_one():
            raise InvalidInput(f"'{data.ref_code}' is not a station of your unions.",
                               code="unknown_station", extra={"ref_code": data.ref_code})
    else:
        partners = {c: i for i, c in (await board.partners(session, fed)).items()}
        if data.kind == "zone":
            code = await reports.zone_partner(geo, fed, data.ref_code)
        elif data.ref_code in partners:
            code = data.ref_code
        else:
            raise InvalidInput(f"'{data.ref_code}' is not a platform partner of this federation.",
                               code="unknown_partner", extra={"partner": data.ref_code})
        partner_id = partners[code]
    rep = WorkerRepresentative(
        id=uuid.uuid4(), federation_id=fed, tenant_id=caller.tenant_id, member_id=member.id,
        worker_id=member.worker_id, kind=data.kind, ref_code=data.ref_code,
        partner_id=partner_id, designated_by=await board.principal(session), started_at=now)
    try:
        async with session.begin_nested():
            session.add(rep)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("This member already represents that remit.",
                       code="representative_already_designated",
                       extra={"member_no": data.member_no, "kind": data.kind,
                              "ref_code": data.ref_code}) from exc
    await audit.record(session, "representative.designated", tenant_id=rep.tenant_id,
                       object_type="worker_representative", object_id=rep.id,
                       payload={"member_id": str(member.id), "member_no": member.member_no,
                                "kind": rep.kind, "ref_code": rep.ref_code})
    return rep


async def staff_list(session: AsyncSession, *, kind: str | None, include_ended: bool,
                     after: tuple[datetime, uuid.UUID] | None, limit: int,
                     ) -> Sequence[tuple[WorkerRepresentative, str | None]]:
    stmt = (select(WorkerRepresentative, Member.member_no)
            .outerjoin(Member, Member.id == WorkerRepresentative.member_id)
            .order_by(WorkerRepresentative.started_at.desc(), WorkerRepresentative.id.desc())
            .limit(limit))
    if kind:
        stmt = stmt.where(WorkerRepresentative.kind == kind)
    if not include_ended:
        stmt = stmt.where(WorkerRepresentative.ended_at.is_(None))
    if after:
        stmt = stmt.where(tuple_(WorkerRepresentative.started_at, WorkerRepresentative.id)
                          < tuple_(*after))
    return (await session.execute(stmt)).all()


async def end(session: AsyncSession, rep_id: uuid.UUID, *, reason: str,
              now: datetime) -> WorkerRepresentative:
    rep = await session.scalar(select(WorkerRepresentative).where(
        WorkerRepresentative.id == rep_id).with_for_update())
    if rep is None:
        raise RepresentativeNotFound("No such designation.")
    if rep.ended_at is not None:
        raise Conflict("This designation has already ended.", code="representative_ended")
    rep.ended_at = now
    rep.ended_by = await board.principal(session)
    await session.flush()
    await audit.record(session, "representative.ended", tenant_id=rep.tenant_id,
                       object_type="worker_representative", object_id=rep.id,
                       payload={"member_id": str(rep.member_id), "kind": rep.kind,
                                "ref_code": rep.ref_code, "reason": reason})
    return rep


async def member_no(session: AsyncSession, member_id: uuid.UUID) -> str | None:
    return await session.scalar(select(Member.member_no).where(Member.id == member_id))


def rep_read(rep: WorkerRepresentative, tenants: dict[uuid.UUID, DirectoryEntry],
             codes: dict[uuid.UUID, str]) -> RepresentativeRead:
    tenant = tenants[rep.tenant_id]
    return RepresentativeRead(
        id=rep.id, kind=kind_label(rep.kind), ref_code=rep.ref_code,
        partner=codes.get(rep.partner_id) if rep.partner_id else None, tenant=tenant.code,
        tenant_name_zh=tenant.name_zh, tenant_name_en=tenant.name_en,
        started_at=rep.started_at, ended_at=rep.ended_at)


def rep_admin_read(rep: WorkerRepresentative, number: str | None,
                   tenants: dict[uuid.UUID, DirectoryEntry],
                   codes: dict[uuid.UUID, str]) -> RepresentativeAdminRead:
    base = rep_read(rep, tenants, codes)
    return RepresentativeAdminRead(
        **{f: getattr(base, f) for f in base.__struct_fields__}, member_id=rep.member_id,
        member_no=number, designated_by=rep.designated_by, ended_by=rep.ended_by)


# ---- the representative -----------------------------------------------------------------


async def my_designations(session: AsyncSession, caller: Caller) -> Sequence[WorkerRepresentative]:
    return (await session.scalars(select(WorkerRepresentative).where(
        WorkerRepresentative.worker_id == uuid.UUID(caller.subject),
        WorkerRepresentative.federation_id == caller.tenant_id,
        WorkerRepresentative.ended_at.is_(None)).order_by(WorkerRepresentative.started_at))).all()


def in_remit(rep: WorkerRepresentative, report: ProblemReport) -> bool:
    if rep.tenant_id not in (report.region_id, report.federation_id):
        return False
    return ((rep.kind == "station" and rep.ref_code == report.station_code)
            or (rep.kind == "zone" and rep.ref_code == report.zone_code)
            or (rep.kind == "platform" and rep.partner_id == report.partner_id))


async def propose(session: AsyncSession, geo: Any, caller: Caller, data: ProposalCreate, *,
                  now: datetime) -> tuple[RepProposal, list[uuid.UUID]]:
    """代表提案: every report must be in the remit of the named (open, own) designation and
    be about the proposal's platform; else 422 naming the reports, and nothing is written."""
    await reports.active_member(session, caller)
    rep = await session.scalar(select(WorkerRepresentative).where(
        WorkerRepresentative.id == data.representative_id,
        WorkerRepresentative.worker_id == uuid.UUID(caller.subject),
        WorkerRepresentative.ended_at.is_(None)))
    if rep is None:
        raise RepresentativeNotFound("You hold no open designation with this id.")
    details = check_details(data.topic, data.details, complete=False)
    pid = await reports.partner_id(session, rep.federation_id, data.partner)
    ids = list(dict.fromkeys(data.report_ids))
    found = {r.id: r for r in (await session.scalars(
        select(ProblemReport).where(ProblemReport.id.in_(ids)))).all()}
    outside = [i for i in ids if i not in found or not in_remit(rep, found[i])]
    if outside:
        raise InvalidInput("Some reports are not in your remit.", code="report_not_in_remit",
                           extra={"report_ids": [str(i) for i in outside]})
    other = [i for i in ids if found[i].partner_id != pid]
    if other:
        raise InvalidInput(f"Some reports are not about '{data.partner}'.",
                           code="report_partner_mismatch",
                           extra={"report_ids": [str(i) for i in other]})
    proposal = RepProposal(
        id=uuid.uuid4(), federation_id=rep.federation_id, tenant_id=rep.tenant_id,
        representative_id=rep.id, worker_id=rep.worker_id, topic=data.topic, partner_id=pid,
        title=data.title, body=data.body, details=details, status="submitted", created_at=now)
    session.add(proposal)
    await session.flush()
    # The link lives with the report's tenant: staff who see the report see it is grouped.
    session.add_all([RepProposalReport(proposal_id=proposal.id, report_id=i,
                                       federation_id=rep.federation_id,
                                       tenant_id=found[i].tenant_id) for i in ids])
    await session.flush()
    await audit.record(session, "proposal.submitted", tenant_id=proposal.tenant_id,
                       object_type="rep_proposal", object_id=proposal.id,
                       payload={"representative_id": str(rep.id), "topic": data.topic,
                                "partner": data.partner, "reports": len(ids)})
    return proposal, ids


async def report_ids(session: AsyncSession,
                     proposal_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    out: dict[uuid.UUID, list[uuid.UUID]] = {p: [] for p in proposal_ids}
    if proposal_ids:
        rows = await session.execute(
            select(RepProposalReport.proposal_id, RepProposalReport.report_id)
            .where(RepProposalReport.proposal_id.in_(proposal_ids))
            .order_by(RepProposalReport.report_id))
        for pid, rid in rows.all():
            out[pid].append(rid)
    return out


async def my_proposals(session: AsyncSession, caller: Caller, *,
                       after: tuple[datetime, uuid.UUID] | None,
                       limit: int) -> Sequence[RepProposal]:
    stmt = select(RepProposal).where(RepProposal.worker_id == uuid.UUID(caller.subject),
                                     RepProposal.federation_id == caller.tenant_id)
    return (await session.scalars(_proposal_page(stmt, after, limit))).all()


def _proposal_page(stmt: Any, after: tuple[datetime, uuid.UUID] | None, limit: int) -> Any:
    stmt = stmt.order_by(RepProposal.created_at.desc(), RepProposal.id.desc()).limit(limit)
    if after:
        stmt = stmt.where(tuple_(RepProposal.created_at, RepProposal.id) < tuple_(*after))
    return stmt


def proposal_read(p: RepProposal, ids: list[uuid.UUID], tenant_code: str,
                  codes: dict[uuid.UUID, str]) -> ProposalRead:
    return ProposalRead(
        id=p.id, representative_id=p.representative_id, tenant=tenant_code,
        topic=reports.topic_label(p.topic), partner=codes.get(p.partner_id, ""), title=p.title,
        body=p.body, details=p.details, status=proposal_status(p.status), report_ids=ids,
        created_at=p.created_at, decided_at=p.decided_at, decision_reason=p.decision_reason)


# ---- staff: proposals ---------------------------------------------------------------------


async def staff_proposals(session: AsyncSession, *, status: str | None,
                          after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Any]:
    stmt = (select(RepProposal, WorkerRepresentative, Member.member_no)
            .join(WorkerRepresentative, WorkerRepresentative.id == RepProposal.representative_id)
            .outerjoin(Member, Member.id == WorkerRepresentative.member_id))
    if status:
        stmt = stmt.where(RepProposal.status == status)
    return list((await session.execute(_proposal_page(stmt, after, limit))).all())


async def representative_of(session: AsyncSession, proposal: RepProposal,
                            ) -> tuple[WorkerRepresentative, str | None]:
    row = (await session.execute(
        select(WorkerRepresentative, Member.member_no)
        .outerjoin(Member, Member.id == WorkerRepresentative.member_id)
        .where(WorkerRepresentative.id == proposal.representative_id))).one()
    return row[0], row[1]


def proposal_admin_read(p: RepProposal, rep: WorkerRepresentative, number: str | None,
                        ids: list[uuid.UUID], tenant_code: str,
                        codes: dict[uuid.UUID, str]) -> ProposalAdminRead:
    base = proposal_read(p, ids, tenant_code, codes)
    return ProposalAdminRead(
        **{f: getattr(base, f) for f in base.__struct_fields__}, representative_kind=rep.kind,
        representative_ref=rep.ref_code, representative_member_no=number,
        decided_by=p.decided_by)


async def decline(session: AsyncSession, proposal_id: uuid.UUID, *, reason: str,
                  now: datetime) -> RepProposal:
    proposal = await session.scalar(select(RepProposal).where(
        RepProposal.id == proposal_id).with_for_update())
    if proposal is None:
        raise ProposalNotFound("No such proposal.")
    if proposal.status != "submitted":
        raise Conflict(f"A proposal that is '{proposal.status}' cannot be declined.",
                       code="proposal_not_submitted", extra={"proposal_status": proposal.status})
    proposal.status = "declined"
    proposal.decided_by = await board.principal(session)
    proposal.decision_reason = reason
    proposal.decided_at = now
    await session.flush()
    await audit.record(session, "proposal.declined", tenant_id=proposal.tenant_id,
                       object_type="rep_proposal", object_id=proposal.id,
                       payload={"reason": reason})
    return proposal
