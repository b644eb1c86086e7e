"""Partner rosters (花名册) in, the coverage census (摸清人员底数) out.

Partners upload rosters by machine API (JSON or CSV); a regional or HQ admin may upload a
CSV on behalf of a partner without API access (audited). Admins run a census of their
subtree and read it as JSON, CSV, GeoJSON or a PNG map.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.config import AUDIENCE_ADMIN, AUDIENCE_PARTNER, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import DomainError, InvalidInput
from flexunion.core.pagination import Page, clamp, decode_time_cursor, encode_cursor
from flexunion.core.problems import PROBLEM_JSON, Problem
from flexunion.geo import census, census_render, rosters
from flexunion.geo.census_schemas import (
    CensusLinks,
    CensusRequest,
    CensusRunRead,
    CensusRunSummary,
    CensusTotals,
    CensusZone,
    RosterCreate,
    RosterUploadRead,
)
from flexunion.geo.crs import Crs
from flexunion.geo.models import CensusRun
from flexunion.geo.registry import GeoRegistry
from flexunion.geo.service import federation_of

PARTNER = {"audiences": (AUDIENCE_PARTNER,), "roles": {Role.PARTNER}}
ADMINS = {"audiences": (AUDIENCE_ADMIN,), "roles": {Role.REGIONAL_ADMIN, Role.HQ_ADMIN}}
TAGS = ["census 摸清底数"]
SECURITY = [{"bearer": []}]
RunId = Annotated[uuid.UUID, PathParameter()]
CSV_MEDIA = "text/csv"
CSV_EXAMPLE = "worker_ref,platform,lon,lat,zone_code,active_days\nw-7f3a9c,,121.4321,31.2001,,22\n"


class UnsupportedMediaType(DomainError):
    status, code, title, title_en = (415, "unsupported_media_type", "不支持的内容类型",
                                     "Unsupported media type")


def _problems(codes: dict[int, str]) -> dict[int, ResponseSpec]:
    return {status: ResponseSpec(Problem, description=text, media_type=PROBLEM_JSON)
            for status, text in codes.items()}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return _inline(defs[ref.rsplit("/", 1)[1]], defs) | rest
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


@dataclass
class RosterBodyOperation(Operation):
    """The roster body is read raw (JSON or CSV by Content-Type); document both."""

    def __post_init__(self) -> None:
        (ref,), defs = msgspec.json.schema_components([RosterCreate],
                                                      ref_template="#/components/schemas/{name}")
        self.request_body = RequestBody(required=True, content={
            "application/json": OpenAPIMediaType(schema=_inline(ref, defs)),  # type: ignore[arg-type]
            CSV_MEDIA: OpenAPIMediaType(schema=Schema(
                type="string", description="Header worker_ref,platform,lon,lat,zone_code,"
                "active_days (worker_ref and active_days required, any order); UTF-8; "
                "coordinates in `crs` (query)"), example=CSV_EXAMPLE)},
            description="花名册 JSON {crs, workers:[…]} or CSV (Content-Type: text/csv)")


_ROSTER_PROBLEMS = _problems({
    400: "malformed_request: the JSON cannot be parsed",
    413: "payload_too_large: a body over 20 MiB",
    415: "unsupported_media_type: neither application/json nor text/csv",
    422: "roster_invalid (with `errors`: row, field, code — worker_ref_personal_data, "
         "worker_ref_invalid, worker_ref_duplicate, zone_unknown, location_missing, "
         "location_incomplete, coordinate_out_of_range, coordinate_invalid, active_days_invalid,"
         " platform_invalid, csv_row_malformed, value_invalid), roster_empty, "
         "csv_header_invalid, csv_encoding_invalid, crs_conflict"})


async def _ingest(request: Request[Any, Any, Any], session: AsyncSession, geo: GeoRegistry,
                  clock: Clock, who: rosters.Uploader, crs: Crs | None,
                  action: str = "roster.uploaded") -> RosterUploadRead:
    media = request.content_type[0].lower()
    body = await request.body()
    snapshot = await geo.get(who.federation_id)
    zone_codes = rosters.delivery_zone_codes(snapshot, who.partner_code)
    if media == "application/json":
        body_crs, rows = rosters.parse_json(body)
        if crs is not None and crs is not body_crs:
            raise InvalidInput(f"The query says crs={crs.value} but the body says "
                               f"{body_crs.value}.", code="crs_conflict")
        crs, errors, source = body_crs, None, "api"
    elif media == CSV_MEDIA:
        rows, errors = rosters.parse_csv(body)
        crs, source = crs or Crs.WGS84, "csv"
    else:
        raise UnsupportedMediaType("Send the roster as application/json or text/csv.")
    checked = await asyncio.to_thread(rosters.check_rows, rows, crs, who.partner_code,
                                      zone_codes, errors)
    result = await rosters.store(session, who, snapshot, checked, source=source, crs=crs,
                                 now=clock.now())
    await audit.record(session, action, tenant_id=who.tenant_id,
                       object_type="roster_upload", object_id=result.id,
                       payload={"partner": who.partner_code, "rows": result.rows,
                                "source": source, "by": who.principal})
    return result


@post("/v1/partner/rosters", opt=PARTNER, tags=TAGS, security=SECURITY, status_code=201,
      request_max_body_size=rosters.MAX_BYTES, operation_class=RosterBodyOperation,
      responses=_ROSTER_PROBLEMS,
      summary="上传花名册 Upload a roster of pseudonymous workers (JSON or CSV)",
      description="All or nothing: any bad row refuses the whole roster (422 `roster_invalid` "
                  "listing the first 50 problems by row). Each worker needs lon/lat (in `crs`) "
                  "or a `zone_code` of one of your delivery zones. `worker_ref` is your "
                  "pseudonym: phone numbers and ID numbers are refused. The newest roster "
                  "replaces your earlier ones in the census. Up to 20 MiB.")
async def upload_roster(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
    caller: NamedDependency[Caller], geo: NamedDependency[GeoRegistry],
    clock: NamedDependency[Clock],
    crs: Annotated[Crs | None, QueryParameter(
        description="Coordinate system of a CSV body (JSON names it in the body)")] = None,
) -> RosterUploadRead:
    fed = await federation_of(session, caller)
    partner_id, code = await rosters.partner_of_client(session, caller.subject)
    who = rosters.Uploader(partner_id, code, caller.principal, caller.tenant_id, fed)
    return await _ingest(request, session, geo, clock, who, crs)


@get("/v1/partner/rosters", opt=PARTNER, tags=TAGS, security=SECURITY,
     summary="我的花名册 My uploads, newest first (counts, not rows)")
async def list_rosters(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    settings: NamedDependency[Settings],
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    limit: Annotated[int | None, QueryParameter()] = None,
) -> Page[RosterUploadRead]:
    partner_id, code = await rosters.partner_of_client(session, caller.subject)
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = await rosters.list_uploads(session, partner_id, code, after=decode_time_cursor(cursor),
                                      limit=size + 1)
    last = rows[size - 1] if len(rows) > size else None
    return Page(items=rows[:size], next_cursor=encode_cursor(last.uploaded_at.isoformat(),
                                                             last.id) if last else None)


@post("/v1/admin/geo/rosters", opt=ADMINS, tags=TAGS, security=SECURITY, status_code=201,
      request_max_body_size=rosters.MAX_BYTES, operation_class=RosterBodyOperation,
      responses=_ROSTER_PROBLEMS | _problems({
          422: "platform_unknown, and every roster problem of POST /v1/partner/rosters"}),
      summary="代传花名册 Upload a roster on behalf of a partner without API access (audited)",
      description="Same body and checks as POST /v1/partner/rosters. Filed under your tenant; "
                  "workers in areas of your subtree are filed under the area's owner.")
async def upload_roster_for_partner(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
    caller: NamedDependency[Caller], geo: NamedDependency[GeoRegistry],
    clock: NamedDependency[Clock],
    partner: Annotated[str, QueryParameter(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$",
                                           description="Platform partner code")],
    crs: Annotated[Crs | None, QueryParameter()] = None,
) -> RosterUploadRead:
    fed = await federation_of(session, caller)
    partner_id, code = await rosters.partner_by_code(session, fed, partner)
    who = rosters.Uploader(partner_id, code, caller.principal, caller.tenant_id, fed)
    return await _ingest(request, session, geo, clock, who, crs,
                         action="roster.uploaded_for_partner")


# ---- the census -----------------------------------------------------------------------------
def _links(run_id: uuid.UUID) -> CensusLinks:
    base = f"/v1/admin/geo/census/{run_id}"
    return CensusLinks(csv=f"{base}/zones.csv", geojson=f"{base}/zones.geojson",
                       map_png=f"{base}/map.png")


def _summary_fields(run: CensusRun) -> dict[str, Any]:
    p = run.params
    return {"id": run.id, "tenant": p["scope"], "zone_kind": p["zone_kind"], "engine": run.engine,
            "contact_days": p["contact_days"], "min_active_days": p["min_active_days"],
            "requested_by": run.requested_by, "started_at": run.started_at,
            "finished_at": run.finished_at,
            "totals": msgspec.convert(run.totals, CensusTotals), "links": _links(run.id)}


def run_read(run: CensusRun) -> CensusRunRead:
    return CensusRunRead(**_summary_fields(run),
                         zones=[msgspec.convert(z, CensusZone) for z in run.zones])


_RUN_404 = _problems({404: "census_run_not_found (also another tenant's run)"})


@post("/v1/admin/geo/census", opt=ADMINS, tags=TAGS, security=SECURITY, status_code=201,
      summary="发起摸底 Run a coverage census of my subtree now",
      description="Zones: service areas of `zone_kind` owned in your subtree. Workers: each "
                  "partner's newest roster; members: active members homed in your subtree, "
                  "placed by their latest opt-in check-in (never checked in: "
                  "`totals.members_unlocated`). `engine=dask` runs the spatial join on Dask "
                  "(the configured scheduler, else a local cluster started for the run).")
async def run_census(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    geo: NamedDependency[GeoRegistry], clock: NamedDependency[Clock],
    settings: NamedDependency[Settings], data: JSONBody[CensusRequest | None] = None,
) -> CensusRunRead:
    ask = data or CensusRequest()
    fed = await federation_of(session, caller)
    # Which roster is each partner's newest is federation-wide (upload ids and times only);
    # the entries themselves are then read within the caller's subtree.
    async with geo.federation_reader(fed, principal="system:census") as conn:
        latest = census.latest_rosters(await conn.fetch(census.LATEST_UPLOADS, fed))
    run = await census.run(
        session, federation_id=fed, tenant_id=caller.tenant_id, tenant_code=caller.tenant_code,
        requested_by=caller.principal, rosters=latest, zone_kind=ask.zone_kind,
        engine=ask.engine, scheduler=settings.geo.dask_scheduler,
        contact_days=settings.geo.census_contact_days, min_active_days=ask.min_active_days,
        now=clock.now())
    return run_read(run)


@get("/v1/admin/geo/census", opt=ADMINS, tags=TAGS, security=SECURITY,
     summary="摸底记录 Census runs of my subtree, newest first (totals, no zones)")
async def list_census_runs(
    session: NamedDependency[AsyncSession], settings: NamedDependency[Settings],
    cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    limit: Annotated[int | None, QueryParameter()] = None,
) -> Page[CensusRunSummary]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = await census.list_runs(session, after=decode_time_cursor(cursor), limit=size + 1)
    last = rows[size - 1] if len(rows) > size else None
    return Page(items=[CensusRunSummary(**_summary_fields(r)) for r in rows[:size]],
                next_cursor=encode_cursor(last.started_at.isoformat(), last.id) if last else None)


@get("/v1/admin/geo/census/{run_id:uuid}", opt=ADMINS, tags=TAGS, security=SECURITY,
     responses=_RUN_404, summary="摸底结果 One census run with its zones")
async def get_census_run(session: NamedDependency[AsyncSession], run_id: RunId) -> CensusRunRead:
    return run_read(await census.access_run(session, run_id))


@get("/v1/admin/geo/census/{run_id:uuid}/zones.csv", opt=ADMINS, tags=TAGS, security=SECURITY,
     media_type="text/csv; charset=utf-8", responses=_RUN_404,
     summary="摸底结果表格 The zones as CSV (UTF-8 with BOM, opens in Excel)")
async def census_csv(session: NamedDependency[AsyncSession], run_id: RunId) -> Response[bytes]:
    run = await census.access_run(session, run_id)
    return Response(census_render.zones_csv(run.zones), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="census-{run.id}-zones.csv"'})


@get("/v1/admin/geo/census/{run_id:uuid}/zones.geojson", opt=ADMINS, tags=TAGS,
     security=SECURITY, media_type="application/geo+json", responses=_RUN_404,
     summary="摸底结果地图数据 The zones with their figures as a GeoJSON FeatureCollection")
async def census_geojson(
    session: NamedDependency[AsyncSession], run_id: RunId,
    crs: Annotated[Crs, QueryParameter(description="Output coordinates")] = Crs.WGS84,
) -> Response[dict[str, Any]]:
    run = await census.access_run(session, run_id)
    body = await asyncio.to_thread(census_render.zones_geojson, run.zones, crs, str(run.id))
    return Response(body, media_type="application/geo+json")


@get("/v1/admin/geo/census/{run_id:uuid}/map.png", opt=ADMINS, tags=TAGS, security=SECURITY,
     media_type="image/png", responses=_RUN_404,
     summary="覆盖率地图 A choropleth map of coverage % (PNG)")
async def census_map(session: NamedDependency[AsyncSession], run_id: RunId) -> Response[bytes]:
    run = await census.access_run(session, run_id)
    png = await asyncio.to_thread(census_render.map_png, run.zones, kind=run.params["zone_kind"],
                                  scope=run.params["scope"], as_of=run.params["as_of"])
    return Response(png, media_type="image/png",
                    headers={"Content-Disposition": f'inline; filename="census-{run.id}.png"'})


ROUTES = [upload_roster, list_rosters, upload_roster_for_partner, run_census, list_census_runs,
          get_census_run, census_csv, census_geojson, census_map]
