"""Partner rosters (花名册) and the coverage census (摸清人员底数) over HTTP.

Partners upload rosters by machine API (JSON or CSV); a regional or HQ admin may upload a
CSV on behalf of a partner without API access (audited). Admins run a census of their
subtree and read it as JSON, CSV, GeoJSON or a PNG map.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, cast

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import (
    BEARER,
    IDEMPOTENT,
    PAGING,
    PARTNER,
    UNION_ADMINS,
    IdempotencyKey,
    Paging,
    problems,
)
from flexunion.core.pagination import Page, decode_time_cursor, page_of, time_key
from flexunion.geo.census import render, rosters, service
from flexunion.geo.census.schemas import (
    CensusRequest,
    CensusRunRead,
    CensusRunSummary,
    RosterCreate,
    RosterUploadRead,
    run_read,
    run_summary,
)
from flexunion.geo.crs import Crs
from flexunion.geo.registry import GeoRegistry

RunId = Annotated[uuid.UUID, PathParameter()]
CSV_EXAMPLE = "worker_ref,platform,lon,lat,zone_code,active_days\nw-7f3a9c,,121.4321,31.2001,,22\n"


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
        # msgspec's JSON Schema, inlined, is a valid OpenAPI 3.1 schema object; litestar
        # writes a plain dict out as it is, so it stands in for its own Schema class.
        json_schema = cast(Schema, _inline(ref, defs))
        self.request_body = RequestBody(required=True, content={
            "application/json": OpenAPIMediaType(schema=json_schema),
            service.CSV_MEDIA: OpenAPIMediaType(schema=Schema(
                type=OpenAPIType.STRING, max_length=rosters.MAX_BYTES,
                description="Header worker_ref,platform,lon,lat,zone_code,"
                "active_days (worker_ref and active_days required, any order); UTF-8; "
                "coordinates in `crs` (query)"), example=CSV_EXAMPLE)},
            description="花名册 JSON {crs, workers:[…]} or CSV (Content-Type: text/csv)")


_ROSTER_PROBLEMS = {
    400: "malformed_request: the JSON cannot be parsed",
    415: "unsupported_media_type: neither application/json nor text/csv",
    422: "roster_invalid (with `errors`: row, field, code — worker_ref_personal_data, "
         "worker_ref_invalid, worker_ref_duplicate, zone_unknown, location_missing, "
         "location_incomplete, coordinate_out_of_range, coordinate_invalid, active_days_invalid,"
         " platform_invalid, csv_row_malformed, value_invalid), roster_empty, "
         "csv_header_invalid, csv_encoding_invalid, crs_conflict"}
_RUN_404 = problems({404: "census_run_not_found (also another tenant's run)"})


async def _ingest(request: Request[Any, Any, Any], session: AsyncSession, geo: GeoRegistry,
                  clock: Clock, who: service.Uploader, crs: Crs | None,
                  action: str = "roster.uploaded") -> RosterUploadRead:
    return await service.ingest(session, geo, who, media=request.content_type[0].lower(),
                                body=await request.body(), crs=crs, now=clock.now(),
                                action=action)


# ---- rosters --------------------------------------------------------------------------------


@post("/", status_code=201, request_max_body_size=rosters.MAX_BYTES, opt=IDEMPOTENT,
      operation_class=RosterBodyOperation,
      responses=problems(_ROSTER_PROBLEMS | {
          401: "client_disabled; token_tenant_unknown: the token's tenant no longer exists",
          404: "partner_client_not_found"}),
      summary="上传花名册 Upload a roster of pseudonymous workers (JSON or CSV)",
      description="All or nothing: any bad row refuses the whole roster (422 `roster_invalid` "
                  "listing the first 50 problems by row). Each worker needs lon/lat (in `crs`) "
                  "or a `zone_code` of one of your delivery zones. `worker_ref` is your "
                  "pseudonym: phone numbers and ID numbers are refused. The newest roster "
                  "replaces your earlier ones in the census. Up to 20 MiB. A retry with the "
                  "same Idempotency-Key and body replays the first answer.")
async def upload_roster(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
    caller: NamedDependency[Caller], geo: NamedDependency[GeoRegistry],
    clock: NamedDependency[Clock], idempotency_key: IdempotencyKey,
    crs: Annotated[Crs | None, QueryParameter(
        description="Coordinate system of a CSV body (JSON names it in the body)")] = None,
) -> RosterUploadRead:
    who = await service.uploader_for_client(session, caller)
    return await _ingest(request, session, geo, clock, who, crs)


@get("/", dependencies=PAGING, summary="我的花名册 My uploads, newest first (counts, not rows)",
     responses=problems({
         401: "client_disabled",
         404: "partner_client_not_found",
         422: "cursor_invalid"}))
async def list_rosters(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    paging: NamedDependency[Paging],
) -> Page[RosterUploadRead]:
    rows = await service.uploads(session, caller, after=decode_time_cursor(paging.cursor),
                                 limit=paging.size + 1)
    return page_of(rows, paging.size, lambda r: r, lambda r: time_key(r.uploaded_at, r.id))


@post("/", status_code=201, request_max_body_size=rosters.MAX_BYTES,
      operation_class=RosterBodyOperation,
      responses=problems(_ROSTER_PROBLEMS | {
          401: "token_tenant_unknown: the token's tenant no longer exists",
          422: "unknown_partner; " + _ROSTER_PROBLEMS[422]}),
      summary="代传花名册 Upload a roster on behalf of a partner without API access (audited)",
      description="Same body and checks as POST /v1/partner/rosters. Filed under your tenant; "
                  "workers in areas of your subtree are filed under the area's owner.")
async def upload_roster_for_partner(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
    caller: NamedDependency[Caller], geo: NamedDependency[GeoRegistry],
    clock: NamedDependency[Clock],
    partner: Annotated[str, QueryParameter(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}(?!\n)$",
                                           description="Platform partner code")],
    crs: Annotated[Crs | None, QueryParameter()] = None,
) -> RosterUploadRead:
    who = await service.uploader_for_partner(session, caller, partner)
    return await _ingest(request, session, geo, clock, who, crs,
                         action="roster.uploaded_for_partner")


# ---- the census -----------------------------------------------------------------------------


@post("/", status_code=201,
      summary="发起摸底 Run a coverage census of my subtree now",
      description="Zones: service areas of `zone_kind` owned in your subtree. Workers: each "
                  "partner's newest roster; members: active members homed in your subtree, "
                  "placed by their latest opt-in check-in (never checked in: "
                  "`totals.members_unlocated`). `engine=dask` runs the spatial join on Dask "
                  "(the configured scheduler, else a local cluster started for the run).",
      responses=problems({
          401: "token_tenant_unknown: the token's tenant no longer exists",
          503: "dask_unavailable: the Dask scheduler cannot be reached"}))
async def run_census(
    session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
    geo: NamedDependency[GeoRegistry], clock: NamedDependency[Clock],
    settings: NamedDependency[Settings], data: JSONBody[CensusRequest | None] = None,
) -> CensusRunRead:
    ask = data or CensusRequest()
    run = await service.run_for(
        session, caller, geo, zone_kind=ask.zone_kind, engine=ask.engine,
        scheduler=settings.geo.dask_scheduler, contact_days=settings.geo.census_contact_days,
        min_active_days=ask.min_active_days, now=clock.now())
    return run_read(run)


@get("/", dependencies=PAGING,
     summary="摸底记录 Census runs of my subtree, newest first (totals, no zones)",
     responses=problems({422: "cursor_invalid"}))
async def list_census_runs(
    session: NamedDependency[AsyncSession], paging: NamedDependency[Paging],
) -> Page[CensusRunSummary]:
    rows = await service.runs(session, after=decode_time_cursor(paging.cursor),
                              limit=paging.size + 1)
    return page_of(rows, paging.size, run_summary, lambda r: time_key(r.started_at, r.id))


@get("/{run_id:uuid}", responses=_RUN_404, summary="摸底结果 One census run with its zones")
async def get_census_run(session: NamedDependency[AsyncSession], run_id: RunId) -> CensusRunRead:
    return run_read(await service.access_run(session, run_id))


@get("/{run_id:uuid}/zones.csv", media_type="text/csv", responses=_RUN_404,
     summary="摸底结果表格 The zones as CSV (UTF-8 with BOM, opens in Excel)")
async def census_csv(session: NamedDependency[AsyncSession], run_id: RunId) -> Response[bytes]:
    run = await service.access_run(session, run_id)
    return Response(render.zones_csv(run.zones), media_type="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="census-{run.id}-zones.csv"'})


@get("/{run_id:uuid}/zones.geojson", media_type="application/geo+json", responses=_RUN_404,
     summary="摸底结果地图数据 The zones with their figures as a GeoJSON FeatureCollection")
async def census_geojson(
    session: NamedDependency[AsyncSession], run_id: RunId,
    crs: Annotated[Crs, QueryParameter(description="Output coordinates")] = Crs.WGS84,
) -> Response[dict[str, Any]]:
    run = await service.access_run(session, run_id)
    body = await asyncio.to_thread(render.zones_geojson, run.zones, crs, str(run.id))
    return Response(body, media_type="application/geo+json")


@get("/{run_id:uuid}/map.png", media_type="image/png", responses=_RUN_404,
     summary="覆盖率地图 A choropleth map of coverage % (PNG)")
async def census_map(session: NamedDependency[AsyncSession], run_id: RunId) -> Response[bytes]:
    run = await service.access_run(session, run_id)
    png = await asyncio.to_thread(render.map_png, run.zones, kind=run.params["zone_kind"],
                                  scope=run.params["scope"], as_of=run.params["as_of"])
    return Response(png, media_type="image/png",
                    headers={"Content-Disposition": f'inline; filename="census-{run.id}.png"'})


router = Router("/", tags=["census 摸清底数"], security=BEARER, route_handlers=[
    Router("/v1/partner/rosters", opt=PARTNER, route_handlers=[upload_roster, list_rosters]),
    Router("/v1/admin/geo/rosters", opt=UNION_ADMINS, route_handlers=[upload_roster_for_partner]),
    Router("/v1/admin/geo/census", opt=UNION_ADMINS, route_handlers=[
        run_census, list_census_runs, get_census_run, census_csv, census_geojson, census_map]),
])
