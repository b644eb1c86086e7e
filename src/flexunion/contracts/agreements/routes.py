"""协议 over HTTP: HQ and regional admins make agreements, versions and clauses; staff,
partners (their own) and workers (clauses in force for their platforms) read them."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Router, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.contracts.agreements import service
from flexunion.contracts.agreements.models import Agreement
from flexunion.contracts.agreements.schemas import (
    AgreementCreate,
    AgreementDetail,
    AgreementRead,
    ClauseCreate,
    ClausePatch,
    ClauseRead,
    Kind,
    RenewalCreate,
    VersionDetail,
    VersionDiff,
    VersionRead,
    agreement_read,
    clause_read,
    version_detail,
    version_read,
)
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, PARTNER, STAFF, UNION_ADMINS, WORKER, problems

AgreementId = Annotated[uuid.UUID, PathParameter()]
ClauseId = Annotated[uuid.UUID, PathParameter()]
Number = Annotated[int, PathParameter(description="版本号 version number")]
PartnerQ = Annotated[str | None, QueryParameter(max_length=64, description="平台代码 partner")]
KindQ = Annotated[Kind | None, QueryParameter(description="协议类型 kind")]
StatusQ = Annotated[str | None, QueryParameter(pattern=r"^(draft|in_force|ended)$",
                                               description="状态 status")]
ItemId = Annotated[uuid.UUID, PathParameter(description="协商事项 agenda item id")]
CLAUSE_INVALID = ("parameter_invalid, parameter_missing, template_invalid, "
                  "evidence_schema_invalid, condition_syntax, condition_ill_typed, "
                  "condition_not_boolean: refused, with `path`, and `line`/`column` for a "
                  "condition")


async def _detail(session: AsyncSession, caller: Caller, a: Agreement) -> AgreementDetail:
    tenants, partners = await service.codes(session, caller)
    base = agreement_read(a, tenants, partners)
    return AgreementDetail(**msgspec.structs.asdict(base), versions=[
        version_read(v) for v in await service.versions(session, a)])


async def _version(session: AsyncSession, agreement_id: uuid.UUID,
                   number: int) -> VersionDetail:
    a = await service.access(session, agreement_id)
    v = await service.version(session, a, number)
    return version_detail(v, list(await service.version_clauses(session, v)))


# ---- staff ---------------------------------------------------------------------------------


@post("/agreements", summary="订立协议 A new agreement with a platform (version 1, draft)",
      responses=problems({403: "scope_not_yours", 409: "agreement_code_taken",
                          422: "invalid_scope, unknown_partner, invalid_term"}))
async def create_agreement(session: NamedDependency[AsyncSession],
                           caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                           data: JSONBody[AgreementCreate]) -> AgreementDetail:
    return await _detail(session, caller, await service.create(session, caller, data,
                                                               now=clock.now()))


@get("/agreements", summary="协议 Agreements I may see (my subtree's and the federation's)",
     responses=problems({422: "unknown_partner"}))
async def list_agreements(session: NamedDependency[AsyncSession],
                          caller: NamedDependency[Caller], partner: PartnerQ = None,
                          kind: KindQ = None, status: StatusQ = None) -> list[AgreementRead]:
    tenants, partners = await service.codes(session, caller)
    return [agreement_read(a, tenants, partners) for a in
            await service.listed(session, caller, partner=partner, kind=kind, status=status)]


@get("/agreements/{agreement_id:uuid}", summary="协议详情 One agreement and its versions",
     responses=problems({404: "agreement_not_found"}))
async def get_agreement(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        agreement_id: AgreementId) -> AgreementDetail:
    return await _detail(session, caller, await service.access(session, agreement_id))


@get("/agreements/{agreement_id:uuid}/versions/{number:int}",
     summary="协议版本 One version with its annex of clauses",
     responses=problems({404: "agreement_not_found, agreement_version_not_found"}))
async def get_version(session: NamedDependency[AsyncSession], agreement_id: AgreementId,
                      number: Number) -> VersionDetail:
    return await _version(session, agreement_id, number)


@get("/agreements/{agreement_id:uuid}/versions/{a:int}/diff/{b:int}",
     summary="版本对比 What changed from version a to b, clause by clause",
     responses=problems({404: "agreement_not_found, agreement_version_not_found"}))
async def diff_versions(session: NamedDependency[AsyncSession], agreement_id: AgreementId,
                        a: Number, b: Number) -> VersionDiff:
    return await service.diff(session, agreement_id, a, b)


@post("/agreements/{agreement_id:uuid}/renewals",
      summary="续签 A new draft version (renewal or amendment), clauses copied from the latest",
      responses=problems({404: "agreement_not_found", 409: "draft_version_open, agreement_ended",
                          422: "invalid_term"}))
async def renew_agreement(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                          agreement_id: AgreementId,
                          data: JSONBody[RenewalCreate]) -> VersionRead:
    return version_read(await service.renew(session, agreement_id, data, now=clock.now()))


@post("/agreements/{agreement_id:uuid}/versions/{number:int}/clauses",
      summary="添加条款 Add a clause from a template to a draft version's annex",
      responses=problems({404: "agreement_not_found, agreement_version_not_found, "
                               "clause_template_not_found",
                          409: "version_not_draft, clause_key_taken", 422: CLAUSE_INVALID}))
async def add_clause(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], agreement_id: AgreementId, number: Number,
                     data: JSONBody[ClauseCreate]) -> ClauseRead:
    return clause_read(await service.add_clause(session, caller, agreement_id, number, data,
                                                now=clock.now()))


@patch("/clauses/{clause_id:uuid}",
       summary="修改条款 Change a draft clause's parameters, condition or position",
       responses=problems({404: "clause_not_found, agreement_not_found",
                           409: "version_not_draft, clause_without_template",
                           422: "nothing_to_change, " + CLAUSE_INVALID}))
async def edit_clause(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                      clause_id: ClauseId, data: JSONBody[ClausePatch]) -> ClauseRead:
    return clause_read(await service.patch_clause(session, clause_id, data, now=clock.now()))


@delete("/clauses/{clause_id:uuid}", status_code=200,
        summary="移除条款 Take a clause out of a draft version's annex",
        responses=problems({404: "clause_not_found, agreement_not_found",
                            409: "version_not_draft"}))
async def remove_clause(session: NamedDependency[AsyncSession],
                        clause_id: ClauseId) -> ClauseRead:
    return clause_read(await service.remove_clause(session, clause_id))


@get("/clauses/{clause_id:uuid}", summary="条款 One clause",
     responses=problems({404: "clause_not_found"}))
async def get_clause(session: NamedDependency[AsyncSession], clause_id: ClauseId) -> ClauseRead:
    return clause_read(await service.clause(session, clause_id))


@get("/items/{item_id:uuid}/clauses",
     summary="事项条款 The clauses an agenda item produced (every version)")
async def item_clauses(session: NamedDependency[AsyncSession],
                       item_id: ItemId) -> list[ClauseRead]:
    return [clause_read(c) for c in await service.clauses_of_items(session, [item_id])]


# ---- partners and workers ------------------------------------------------------------------


@get("/agreements", summary="我方协议 My platform's agreements with the union")
async def partner_agreements(session: NamedDependency[AsyncSession],
                             caller: NamedDependency[Caller]) -> list[AgreementRead]:
    tenants, partners = await service.codes(session, caller)
    return [agreement_read(a, tenants, partners) for a in
            await service.listed(session, caller, partner=None, kind=None, status=None)]


@get("/agreements/{agreement_id:uuid}", summary="协议详情 One of my agreements",
     responses=problems({404: "agreement_not_found"}))
async def partner_agreement(session: NamedDependency[AsyncSession],
                            caller: NamedDependency[Caller],
                            agreement_id: AgreementId) -> AgreementDetail:
    return await _detail(session, caller, await service.access(session, agreement_id))


@get("/agreements/{agreement_id:uuid}/versions/{number:int}",
     summary="协议版本 One version of my agreement with its clauses",
     responses=problems({404: "agreement_not_found, agreement_version_not_found"}))
async def partner_version(session: NamedDependency[AsyncSession], agreement_id: AgreementId,
                          number: Number) -> VersionDetail:
    return await _version(session, agreement_id, number)


@get("/clauses/{clause_id:uuid}", summary="条款 One of my clauses",
     responses=problems({404: "clause_not_found"}))
async def partner_clause(session: NamedDependency[AsyncSession],
                         clause_id: ClauseId) -> ClauseRead:
    return clause_read(await service.clause(session, clause_id))


@get("/clauses", summary="适用条款 Clauses in force for my platforms (公示)")
async def my_clauses(session: NamedDependency[AsyncSession]) -> list[ClauseRead]:
    return [clause_read(c) for c in await service.in_force_clauses(session)]


router = Router("/", tags=["contracts 协议条款"], security=BEARER, route_handlers=[
    Router("/v1/admin/contracts", opt=STAFF, route_handlers=[
        list_agreements, get_agreement, get_version, diff_versions, get_clause, item_clauses]),
    Router("/v1/admin/contracts", opt=UNION_ADMINS, route_handlers=[
        create_agreement, renew_agreement, add_clause, edit_clause, remove_clause]),
    Router("/v1/partner/contracts", opt=PARTNER, tags=["partner 平台方"], route_handlers=[
        partner_agreements, partner_agreement, partner_version, partner_clause]),
    Router("/v1/me/contracts", opt=WORKER, tags=["me 我的"], route_handlers=[my_clauses]),
])
