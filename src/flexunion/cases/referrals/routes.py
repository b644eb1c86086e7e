"""调解与法律援助衔接 over HTTP: the providers (staff), the nearest ones (workers and staff),
and a case's referrals (staff refer and cancel; the worker reads its own). Codes:
docs/referrals.md."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Router, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.cases.ledger.http import CASE_STAFF, CaseId
from flexunion.cases.referrals import service
from flexunion.cases.referrals.schemas import (
    CancelCreate,
    Kind,
    NearestProviders,
    ProviderCreate,
    ProviderRead,
    ProviderUpdate,
    ReferralCreate,
    ReferralRead,
)
from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_MOBILE
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.core.http import BEARER, WORKER, access, problems
from flexunion.geo.crs import Crs
from flexunion.geo.registry import GeoRegistry

ProviderCode = Annotated[str, PathParameter(max_length=64,
                                            pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
CrsParam = Annotated[Crs, QueryParameter(description="坐标系 coordinate system of the answer "
                                                     "(and of lon/lat where given)")]
RegionCode = Annotated[str | None, QueryParameter(max_length=64)]
KindParam = Annotated[Kind | None,
                      QueryParameter(description="mediation / legal_aid / arbitration")]
TOKEN_401 = "token_tenant_unknown: the token's tenant no longer exists"
CASE_404 = "case_not_found (also a case outside my scope)"
REFER_403 = "referral_staff_only, case_not_handled_here"


# ---- providers (staff) ---------------------------------------------------------------------


@get("/referral-providers", summary="调解与法律援助机构 The federation's providers",
     responses=problems({422: "unknown_region"}))
async def list_providers(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                         region: RegionCode = None, kind: KindParam = None,
                         crs: CrsParam = Crs.WGS84) -> list[ProviderRead]:
    rows, tenants = await service.providers(session, caller, region=region, kind=kind)
    return [service.read_provider(r, tenants, crs) for r in rows]


@post("/referral-providers",
      summary="新增机构 Add a provider to my region (HQ and regional admins)",
      responses=problems({403: "providers_admin_only, provider_outside_subtree",
                          409: "provider_code_taken",
                          422: "unknown_region, served_tenant_unknown, opening_hours_invalid, "
                               "coordinate_out_of_range"}))
async def create_provider(session: NamedDependency[AsyncSession],
                          caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                          data: JSONBody[ProviderCreate]) -> ProviderRead:
    row = await service.create_provider(session, caller, data, now=clock.now())
    return await service.provider_view(session, caller, row)


@patch("/referral-providers/{code:str}",
       summary="修改机构 Change or retire a provider of my subtree (HQ and regional admins)",
       responses=problems({403: "providers_admin_only, provider_outside_subtree",
                           404: "provider_not_found",
                           422: "served_tenant_unknown, opening_hours_invalid, "
                                "coordinate_out_of_range"}))
async def update_provider(session: NamedDependency[AsyncSession],
                          caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                          code: ProviderCode, data: JSONBody[ProviderUpdate]) -> ProviderRead:
    row = await service.update_provider(session, caller, code, data, now=clock.now())
    return await service.provider_view(session, caller, row)


# ---- referrals (staff) ---------------------------------------------------------------------


@post("/{case_id:uuid}/referrals",
      summary="转介 Refer the case to a provider: book a slot or record a hand-over",
      responses=problems({403: REFER_403, 404: CASE_404,
                          409: "case_not_open, provider_inactive, provider_takes_no_bookings, "
                               "slot_taken",
                          422: "referral_mode_required, unknown_provider, provider_not_serving, "
                               "slot_invalid, slot_in_past, slot_outside_hours, "
                               "handover_time_invalid"}))
async def refer_case(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock], case_id: CaseId,
                     data: JSONBody[ReferralCreate]) -> ReferralRead:
    row = await service.refer(session, caller, case_id, data, now=clock.now())
    return await service.read_one(session, row)


@get("/{case_id:uuid}/referrals", summary="转介记录 The case's referrals",
     responses=problems({404: CASE_404}))
async def case_referrals(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                         case_id: CaseId) -> list[ReferralRead]:
    return await service.staff_list(session, caller, case_id)


@post("/{case_id:uuid}/referrals/{referral_id:uuid}/cancel", status_code=200,
      summary="取消转介 Cancel a referral (frees a booked slot)",
      responses=problems({403: REFER_403, 404: CASE_404 + "; referral_not_found",
                          409: "referral_cancelled"}))
async def cancel_referral(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                          clock: NamedDependency[Clock], case_id: CaseId,
                          referral_id: Annotated[uuid.UUID, PathParameter()],
                          data: JSONBody[CancelCreate]) -> ReferralRead:
    row = await service.cancel(session, caller, case_id, referral_id, data.reason,
                               now=clock.now())
    return await service.read_one(session, row)


# ---- workers (and staff) -------------------------------------------------------------------


@get("/nearest", summary="附近的调解与法律援助 Nearest providers to where I work "
                         "(geodesic distance; serves_here for the point's jurisdiction)",
     responses=problems({401: TOKEN_401, 422: "coordinate_out_of_range"}))
async def nearest_providers(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    geo: NamedDependency[GeoRegistry],
    lat: Annotated[float, QueryParameter(description="纬度 latitude")],
    lon: Annotated[float, QueryParameter(description="经度 longitude")],
    crs: CrsParam = Crs.WGS84, kind: KindParam = None,
    limit: Annotated[int, QueryParameter(ge=1, le=20)] = 5,
) -> NearestProviders:
    return await service.nearest(session, geo, caller, lon=lon, lat=lat, crs=crs, kind=kind,
                                 limit=limit)


@get("/{case_id:uuid}/referrals",
     summary="我的转介 Where my case was referred: address, hours, map point, slot",
     responses=problems({404: "case_not_found"}))
async def my_referrals(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       case_id: CaseId, crs: CrsParam = Crs.WGS84) -> list[ReferralRead]:
    return await service.my_list(session, caller, case_id, crs)


router = Router("/", tags=["referrals 调解与法律援助"], security=BEARER, route_handlers=[
    Router("/v1/cases", opt=CASE_STAFF,
           route_handlers=[list_providers, create_provider, update_provider, refer_case,
                           case_referrals, cancel_referral]),
    Router("/v1/me/referrals",
           opt=access(AUDIENCE_MOBILE, AUDIENCE_ADMIN, roles={Role.WORKER, *ADMIN_ROLES}),
           route_handlers=[nearest_providers]),
    Router("/v1/me/cases", opt=WORKER, route_handlers=[my_referrals]),
])
