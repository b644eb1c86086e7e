"""问题提报与代表 Worker reports, representatives and their proposals."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining import reports
from flexunion.bargaining import representatives as reps
from flexunion.bargaining.report_schemas import (
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
)
from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.core.pagination import Page, clamp, decode_time_cursor, encode_cursor
from flexunion.federation import directory as fed_directory

WORKER = {"audiences": (AUDIENCE_MOBILE,), "roles": {Role.WORKER}}
WRITE = {**WORKER, "idempotent": True}
STAFF = {"audiences": (AUDIENCE_ADMIN,), "roles": ADMIN_ROLES}
TAGS = ["reports 问题提报"]
SECURITY = [{"bearer": []}]
IdempotencyKey = Annotated[str, HeaderParameter(name="Idempotency-Key", min_length=1,
                                                max_length=255)]
Cursor = Annotated[str | None, QueryParameter(max_length=512)]
Limit = Annotated[int | None, QueryParameter()]
TopicFilter = Annotated[str | None, QueryParameter(max_length=64)]
PartnerFilter = Annotated[str | None, QueryParameter(max_length=64, description="partner code")]


def _page(items: list[Any], rows: list[Any], size: int, when: Any) -> Page[Any]:
    """`rows` were fetched with size + 1: the extra one says there is a next page."""
    if len(rows) <= size:
        return Page(items=items[:size])
    last = rows[size - 1]
    return Page(items=items[:size], next_cursor=encode_cursor(*when(last)))


def _by_created(x: Any) -> tuple[str, uuid.UUID]:
    return x.created_at.isoformat(), x.id


async def _tenants(session: AsyncSession, federation_id: uuid.UUID) -> dict[uuid.UUID, Any]:
    return {e.id: e for e in (await fed_directory.directory(session, federation_id)).values()}


# ---- the worker: reports ------------------------------------------------------------------


@post("/v1/bargaining/reports", opt=WRITE, tags=TAGS, security=SECURITY,
      summary="问题提报 Report a problem with a platform's rules (active members; needs "
              "Idempotency-Key)")
async def file_report(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], geo: NamedDependency[Any],
    data: JSONBody[ReportCreate], idempotency_key: IdempotencyKey,
) -> ReportRead:
    report = await reports.file_report(session, geo, caller, data, now=clock.now())
    return reports.report_read(report, {report.partner_id: data.partner}, [])


@get("/v1/bargaining/reports", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="我的提报 My reports, newest first")
async def my_reports(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    settings: NamedDependency[Settings],
    cursor: Cursor = None, limit: Limit = None,
) -> Page[ReportRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = list(await reports.mine(session, caller, after=decode_time_cursor(cursor),
                                   limit=size + 1))
    if not rows:
        return Page(items=[])
    codes = await reports.partner_codes(session, caller.tenant_id)
    return _page([reports.report_read(r, codes) for r in rows], rows, size, _by_created)


@get("/v1/bargaining/reports/{report_id:uuid}", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="提报详情 One of my reports, with the board items it fed (merges followed)")
async def my_report(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    report_id: Annotated[uuid.UUID, PathParameter()],
) -> ReportRead:
    report = await reports.own_report(session, caller, report_id)
    codes = await reports.partner_codes(session, caller.tenant_id)
    return reports.report_read(report, codes, await reports.trace(session, report.id))


# ---- the representative -------------------------------------------------------------------


@get("/v1/bargaining/rep/me", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="我的代表任命 My open designations as a representative")
async def my_designations(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
) -> list[RepresentativeRead]:
    rows = await reps.my_designations(session, caller)
    if not rows:
        return []
    tenants = await _tenants(session, caller.tenant_id)
    codes = await reports.partner_codes(session, caller.tenant_id)
    return [reps.rep_read(r, tenants, codes) for r in rows]


@get("/v1/bargaining/rep/reports", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="代表范围内的提报 Reports within my remit as a representative (never who "
             "reported), newest first")
async def remit_reports(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    settings: NamedDependency[Settings], geo: NamedDependency[Any],
    topic: TopicFilter = None, partner: PartnerFilter = None,
    cursor: Cursor = None, limit: Limit = None,
) -> Page[RemitReportRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = await reports.remit_reports(session, geo, caller, topic=topic, partner=partner,
                                       after=decode_time_cursor(cursor), limit=size + 1)
    return _page(rows, rows, size, _by_created)


@post("/v1/bargaining/rep/proposals", opt=WRITE, tags=TAGS, security=SECURITY,
      summary="代表提案 Group reports of my remit into a proposal for the board (needs "
              "Idempotency-Key)")
async def propose(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], geo: NamedDependency[Any],
    data: JSONBody[ProposalCreate], idempotency_key: IdempotencyKey,
) -> ProposalRead:
    proposal, ids = await reps.propose(session, geo, caller, data, now=clock.now())
    tenants = await _tenants(session, caller.tenant_id)
    return reps.proposal_read(proposal, ids, tenants[proposal.tenant_id].code,
                              {proposal.partner_id: data.partner})


@get("/v1/bargaining/rep/proposals", opt=WORKER, tags=TAGS, security=SECURITY,
     summary="我的代表提案 My proposals, newest first")
async def my_proposals(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    settings: NamedDependency[Settings], geo: NamedDependency[Any],
    cursor: Cursor = None, limit: Limit = None,
) -> Page[ProposalRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = list(await reps.my_proposals(session, caller, after=decode_time_cursor(cursor),
                                        limit=size + 1))
    if not rows:
        return Page(items=[])
    tenants = await _tenants(session, caller.tenant_id)
    codes = await reports.partner_codes(session, caller.tenant_id)
    ids = await reps.report_ids(session, [p.id for p in rows[:size]])
    items = [reps.proposal_read(p, ids[p.id], tenants[p.tenant_id].code, codes)
             for p in rows[:size]]
    return _page(items, rows, size, _by_created)


# ---- staff --------------------------------------------------------------------------------


@post("/v1/admin/bargaining/representatives", opt=STAFF, tags=TAGS, security=SECURITY,
      summary="任命骑手/司机代表 Designate an active member as representative for a station, "
              "delivery zone or platform (regional unions and HQ)")
async def designate(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    clock: NamedDependency[Clock], geo: NamedDependency[Any],
    data: JSONBody[RepresentativeCreate],
) -> RepresentativeAdminRead:
    rep = await reps.designate(session, geo, caller, data, now=clock.now())
    return await _rep_admin(session, rep)


async def _rep_admin(session: AsyncSession, rep: Any) -> RepresentativeAdminRead:
    tenants = await _tenants(session, rep.federation_id)
    codes = await reports.partner_codes(session, rep.federation_id)
    return reps.rep_admin_read(rep, await reps.member_no(session, rep.member_id), tenants, codes)


@get("/v1/admin/bargaining/representatives", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="代表名单 Representatives designated in my subtree, newest first")
async def list_representatives(
    session: NamedDependency[AsyncSession], settings: NamedDependency[Settings],
    kind: Annotated[RepKind | None, QueryParameter()] = None,
    include_ended: Annotated[bool, QueryParameter()] = False,
    cursor: Cursor = None, limit: Limit = None,
) -> Page[RepresentativeAdminRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = await reps.staff_list(session, kind=kind, include_ended=include_ended,
                                 after=decode_time_cursor(cursor), limit=size + 1)
    if not rows:
        return Page(items=[])
    fed = await reports.staff_federation(session)
    tenants = await _tenants(session, fed)
    codes = await reports.partner_codes(session, fed)
    items = [reps.rep_admin_read(r, no, tenants, codes) for r, no in rows[:size]]
    return _page(items, [r for r, _ in rows], size,
                 lambda r: (r.started_at.isoformat(), r.id))


@post("/v1/admin/bargaining/representatives/{rep_id:uuid}/end", opt=STAFF, tags=TAGS,
      security=SECURITY, status_code=200,
      summary="结束代表任命 End a designation, with a reason")
async def end_representative(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
    rep_id: Annotated[uuid.UUID, PathParameter()], data: JSONBody[RepresentativeEnd],
) -> RepresentativeAdminRead:
    rep = await reps.end(session, rep_id, reason=data.reason, now=clock.now())
    return await _rep_admin(session, rep)


@get("/v1/admin/bargaining/reports", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="问题提报 Reports of my subtree, newest first (reporter as member number only)")
async def staff_reports(
    session: NamedDependency[AsyncSession], settings: NamedDependency[Settings],
    topic: TopicFilter = None, partner: PartnerFilter = None,
    status: Annotated[Literal["ungrouped", "grouped", "on_item"] | None, QueryParameter(
        description="ungrouped 未归集, grouped 已归入代表提案, on_item 已列入协商事项")] = None,
    cursor: Cursor = None, limit: Limit = None,
) -> Page[ReportAdminRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = await reports.staff_reports(session, topic=topic, partner=partner, grouping=status,
                                       after=decode_time_cursor(cursor), limit=size + 1)
    return _page(rows, rows, size, _by_created)


@get("/v1/admin/bargaining/proposals", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="代表提案 Representatives' proposals in my subtree, newest first")
async def staff_proposals(
    session: NamedDependency[AsyncSession], settings: NamedDependency[Settings],
    status: Annotated[ProposalStatus | None, QueryParameter()] = None,
    cursor: Cursor = None, limit: Limit = None,
) -> Page[ProposalAdminRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = await reps.staff_proposals(session, status=status, after=decode_time_cursor(cursor),
                                      limit=size + 1)
    if not rows:
        return Page(items=[])
    fed = await reports.staff_federation(session)
    tenants = await _tenants(session, fed)
    codes = await reports.partner_codes(session, fed)
    ids = await reps.report_ids(session, [p.id for p, _, _ in rows[:size]])
    items = [reps.proposal_admin_read(p, rep, no, ids[p.id], tenants[p.tenant_id].code, codes)
             for p, rep, no in rows[:size]]
    return _page(items, [p for p, _, _ in rows], size, _by_created)


@post("/v1/admin/bargaining/proposals/{proposal_id:uuid}/decline", opt=STAFF, tags=TAGS,
      security=SECURITY, status_code=200,
      summary="不采纳代表提案 Decline a submitted proposal, with a reason")
async def decline_proposal(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
    proposal_id: Annotated[uuid.UUID, PathParameter()],
    data: JSONBody[ProposalDecline],
) -> ProposalAdminRead:
    p = await reps.decline(session, proposal_id, reason=data.reason, now=clock.now())
    rep, no = await reps.representative_of(session, p)
    tenants = await _tenants(session, p.federation_id)
    codes = await reports.partner_codes(session, p.federation_id)
    ids = await reps.report_ids(session, [p.id])
    return reps.proposal_admin_read(p, rep, no, ids[p.id], tenants[p.tenant_id].code, codes)


ROUTES = [file_report, my_reports, my_report, my_designations, remit_reports, propose,
          my_proposals, designate, list_representatives, end_representative, staff_reports,
          staff_proposals, decline_proposal]
