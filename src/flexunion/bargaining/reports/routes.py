"""问题提报与代表 over HTTP. Workers report and follow their reports; representatives read
their remit and propose; staff designate representatives, read their subtree's reports
and proposals, and decline a proposal (taking one onto the board is the board's
`POST /v1/admin/bargaining/items`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.reports import service
from flexunion.bargaining.reports.models import RepProposal, WorkerRepresentative
from flexunion.bargaining.reports.schemas import (
    ProposalAdminRead,
    ProposalCreate,
    ProposalDecline,
    ProposalRead,
    ProposalStatus,
    RemitReportRead,
    RepKind,
    ReportAdminRead,
    ReportCreate,
    ReportRead,
    RepresentativeAdminRead,
    RepresentativeCreate,
    RepresentativeEnd,
    RepresentativeRead,
    proposal_admin_read,
    proposal_read,
    remit_read,
    rep_admin_read,
    rep_read,
    report_admin_read,
    report_read,
    trace_read,
)
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PAGING,
    STAFF,
    WORKER,
    IdempotencyKey,
    Paging,
    problems,
)
from flexunion.core.pagination import Page, decode_time_cursor, page_of, time_key
from flexunion.geo.registry import GeoRegistry

TopicFilter = Annotated[str | None, QueryParameter(max_length=64)]
PartnerFilter = Annotated[str | None, QueryParameter(max_length=64, description="partner code")]
Grouping = Annotated[Literal["ungrouped", "grouped", "on_item"] | None, QueryParameter(
    description="ungrouped 未归集, grouped 已归入代表提案, on_item 已列入协商事项")]


# ---- the worker: reports -------------------------------------------------------------------


@post("/reports", opt=IDEMPOTENT,
      summary="问题提报 Report a problem with a platform's rules (active members; needs "
              "Idempotency-Key)",
      responses=problems({
          403: "membership_required, member_not_active",
          422: "invalid_details, invalid_topic, unknown_partner, unknown_station, unknown_zone"}))
async def file_report(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], geo: NamedDependency[GeoRegistry],
    data: JSONBody[ReportCreate], idempotency_key: IdempotencyKey,
) -> ReportRead:
    report = await service.file_report(session, geo, caller, data, now=clock.now())
    return report_read(report, {report.partner_id: data.partner}, [])


@get("/reports", dependencies=PAGING, summary="我的提报 My reports, newest first",
     responses=problems({422: "cursor_invalid"}))
async def my_reports(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     paging: NamedDependency[Paging]) -> Page[ReportRead]:
    rows = await service.mine(session, caller, after=decode_time_cursor(paging.cursor),
                              limit=paging.size + 1)
    if not rows:
        return Page(items=[])
    _, codes = await service.lookups(session, caller)
    return page_of(rows, paging.size, lambda r: report_read(r, codes),
                   lambda r: time_key(r.created_at, r.id))


@get("/reports/{report_id:uuid}",
     summary="提报详情 One of my reports, with the board items it fed (merges followed)",
     responses=problems({404: "report_not_found"}))
async def my_report(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    report_id: Annotated[uuid.UUID, PathParameter()],
) -> ReportRead:
    report = await service.own_report(session, caller, report_id)
    _, codes = await service.lookups(session, caller)
    return report_read(report, codes, trace_read(await service.trace(session, report)))


# ---- the representative --------------------------------------------------------------------


@get("/rep/me", summary="我的代表任命 My open designations as a representative")
async def my_designations(session: NamedDependency[AsyncSession],
                          caller: NamedDependency[Caller]) -> list[RepresentativeRead]:
    rows = await service.my_designations(session, caller)
    if not rows:
        return []
    tenants, codes = await service.lookups(session, caller)
    return [rep_read(r, tenants.by_id, codes) for r in rows]


@get("/rep/reports", dependencies=PAGING,
     summary="代表范围内的提报 Reports within my remit as a representative (never who "
             "reported), newest first",
     responses=problems({422: "cursor_invalid"}))
async def remit_reports(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging], topic: TopicFilter = None, partner: PartnerFilter = None,
) -> Page[RemitReportRead]:
    rows, grouped = await service.remit_reports(
        session, caller, topic=topic, partner=partner, after=decode_time_cursor(paging.cursor),
        limit=paging.size + 1)
    _, codes = await service.lookups(session, caller)
    return page_of(rows, paging.size, lambda r: remit_read(r, codes, grouped=r.id in grouped),
                   lambda r: time_key(r.created_at, r.id))


@post("/rep/proposals", opt=IDEMPOTENT,
      summary="代表提案 Group reports of my remit into a proposal for the board (needs "
              "Idempotency-Key)",
      responses=problems({
          403: "membership_required, member_not_active",
          404: "representative_not_found: no current designation",
          422: "invalid_details, invalid_topic, report_not_in_remit, report_partner_mismatch, "
               "unknown_partner"}))
async def propose(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], data: JSONBody[ProposalCreate],
    idempotency_key: IdempotencyKey,
) -> ProposalRead:
    proposal, ids = await service.propose(session, caller, data, now=clock.now())
    tenants, _ = await service.lookups(session, caller)
    return proposal_read(proposal, ids, tenants.by_id[proposal.tenant_id].code,
                         {proposal.partner_id: data.partner})


@get("/rep/proposals", dependencies=PAGING, summary="我的代表提案 My proposals, newest first",
     responses=problems({422: "cursor_invalid"}))
async def my_proposals(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       paging: NamedDependency[Paging]) -> Page[ProposalRead]:
    rows = await service.my_proposals(session, caller, after=decode_time_cursor(paging.cursor),
                                      limit=paging.size + 1)
    if not rows:
        return Page(items=[])
    tenants, codes = await service.lookups(session, caller)
    ids = await service.report_ids(session, [p.id for p in rows[:paging.size]])
    return page_of(rows, paging.size,
                   lambda p: proposal_read(p, ids[p.id], tenants.by_id[p.tenant_id].code, codes),
                   lambda p: time_key(p.created_at, p.id))


# ---- staff ---------------------------------------------------------------------------------


async def _rep_admin(session: AsyncSession, caller: Caller,
                     rep: WorkerRepresentative) -> RepresentativeAdminRead:
    tenants, codes = await service.lookups(session, caller)
    return rep_admin_read(rep, await service.member_no(session, rep), tenants.by_id, codes)


async def _proposal_admin(session: AsyncSession, caller: Caller,
                          p: RepProposal) -> ProposalAdminRead:
    rep, no = await service.representative_of(session, p)
    tenants, codes = await service.lookups(session, caller)
    ids = await service.report_ids(session, [p.id])
    return proposal_admin_read(p, rep, no, ids[p.id], tenants.by_id[p.tenant_id].code, codes)


@post("/representatives",
      summary="任命骑手/司机代表 Designate an active member as representative for a station, "
              "delivery zone or platform (regional unions and HQ)",
      responses=problems({
          401: "token_tenant_unknown: the token's tenant no longer exists",
          403: "designation_not_allowed: station officers do not designate",
          409: "member_not_active, representative_already_designated",
          422: "unknown_member, unknown_partner, unknown_station, unknown_zone"}))
async def designate(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], geo: NamedDependency[GeoRegistry],
    data: JSONBody[RepresentativeCreate],
) -> RepresentativeAdminRead:
    rep = await service.designate(session, geo, caller, data, now=clock.now())
    return await _rep_admin(session, caller, rep)


@get("/representatives", dependencies=PAGING,
     summary="代表名单 Representatives designated in my subtree, newest first",
     responses=problems({422: "cursor_invalid"}))
async def list_representatives(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging],
    kind: Annotated[RepKind | None, QueryParameter()] = None,
    include_ended: Annotated[bool, QueryParameter()] = False,
) -> Page[RepresentativeAdminRead]:
    rows = await service.designations(session, kind=kind, include_ended=include_ended,
                                      after=decode_time_cursor(paging.cursor),
                                      limit=paging.size + 1)
    if not rows:
        return Page(items=[])
    tenants, codes = await service.lookups(session, caller)
    return page_of(rows, paging.size, lambda row: rep_admin_read(*row, tenants.by_id, codes),
                   lambda row: time_key(row[0].started_at, row[0].id))


@post("/representatives/{rep_id:uuid}/end", status_code=200,
      summary="结束代表任命 End a designation, with a reason",
      responses=problems({404: "representative_not_found", 409: "representative_ended"}))
async def end_representative(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], rep_id: Annotated[uuid.UUID, PathParameter()],
    data: JSONBody[RepresentativeEnd],
) -> RepresentativeAdminRead:
    rep = await service.end(session, rep_id, reason=data.reason, now=clock.now())
    return await _rep_admin(session, caller, rep)


@get("/reports", dependencies=PAGING,
     summary="问题提报 Reports of my subtree, newest first (reporter as member number only)",
     responses=problems({
         401: "token_tenant_unknown: the token's tenant no longer exists",
         422: "cursor_invalid"}))
async def staff_reports(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging], topic: TopicFilter = None, partner: PartnerFilter = None,
    status: Grouping = None,
) -> Page[ReportAdminRead]:
    rows = await service.staff_reports(session, caller, topic=topic, partner=partner,
                                       grouping=status, after=decode_time_cursor(paging.cursor),
                                       limit=paging.size + 1)
    if not rows:
        return Page(items=[])
    tenants, codes = await service.lookups(session, caller)
    return page_of(rows, paging.size, lambda row: report_admin_read(*row, tenants.by_id, codes),
                   lambda row: time_key(row[0].created_at, row[0].id))


@get("/proposals", dependencies=PAGING,
     summary="代表提案 Representatives' proposals in my subtree, newest first",
     responses=problems({422: "cursor_invalid"}))
async def staff_proposals(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging],
    status: Annotated[ProposalStatus | None, QueryParameter()] = None,
) -> Page[ProposalAdminRead]:
    rows = await service.staff_proposals(session, status=status,
                                         after=decode_time_cursor(paging.cursor),
                                         limit=paging.size + 1)
    if not rows:
        return Page(items=[])
    tenants, codes = await service.lookups(session, caller)
    ids = await service.report_ids(session, [p.id for p, _, _ in rows[:paging.size]])
    return page_of(rows, paging.size, lambda row: proposal_admin_read(
        row[0], row[1], row[2], ids[row[0].id], tenants.by_id[row[0].tenant_id].code, codes),
        lambda row: time_key(row[0].created_at, row[0].id))


@post("/proposals/{proposal_id:uuid}/decline", status_code=200,
      summary="不采纳代表提案 Decline a submitted proposal, with a reason",
      responses=problems({404: "proposal_not_found", 409: "proposal_not_submitted"}))
async def decline_proposal(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], proposal_id: Annotated[uuid.UUID, PathParameter()],
    data: JSONBody[ProposalDecline],
) -> ProposalAdminRead:
    proposal = await service.decline(session, proposal_id, reason=data.reason, now=clock.now())
    return await _proposal_admin(session, caller, proposal)


router = Router("/", tags=["reports 问题提报"], security=BEARER, route_handlers=[
    Router("/v1/bargaining", opt=WORKER, route_handlers=[
        file_report, my_reports, my_report, my_designations, remit_reports, propose,
        my_proposals]),
    Router("/v1/admin/bargaining", opt=STAFF, route_handlers=[
        designate, list_representatives, end_representative, staff_reports, staff_proposals,
        decline_proposal]),
])
