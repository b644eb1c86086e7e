"""Partner rosters (花名册) and the coverage census (摸清人员底数): what callers send and see,
and the functions that build those answers from rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, cast

import msgspec

from flexunion.geo.census.models import CensusRun, RosterUpload
from flexunion.geo.crs import Crs

ZoneKind = Literal["delivery_zone", "jurisdiction"]
Engine = Literal["pandas", "dask"]
WorkerRef = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description=(
    "平台给出的化名编号 The partner's pseudonym for the worker: 1–64 of "
    "A-Z a-z 0-9 . _ : = / + - ; never a phone number or resident ID number"))]
ActiveDays = Annotated[int, msgspec.Meta(ge=0, le=366, description=(
    "近一段时间的出勤天数 Days the worker was active in the partner's reporting window"))]


class RosterWorker(msgspec.Struct, forbid_unknown_fields=True):
    """One worker: a last work location (lon/lat in the roster's `crs`) or a delivery zone
    code of this partner (配送片区), or both (the census then uses the location for
    jurisdictions and the zone code for delivery zones)."""

    worker_ref: WorkerRef
    active_days: ActiveDays
    platform: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    lon: float | None = None
    lat: float | None = None
    zone_code: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class RosterCreate(msgspec.Struct, forbid_unknown_fields=True):
    """上传花名册 A whole roster; it supersedes this partner's earlier rosters in the census."""

    workers: list[RosterWorker]
    crs: Crs = Crs.WGS84


class RosterRowError(msgspec.Struct, omit_defaults=True):
    """One problem in one row. `row` counts workers from 1 (JSON: the position in `workers`;
    CSV: the data row, `line` is the line in the file, the header being line 1)."""

    row: int
    code: str
    message: str
    field: str | None = None
    line: int | None = None


class RosterUploadRead(msgspec.Struct, omit_defaults=True):
    """花名册上传记录 One upload: counts, never rows. `current`: the one the census uses (the
    partner's newest). The upload's answer also says how the rows were located and how many
    lie outside every area (`outside_areas`: filed under the uploader's own tenant)."""

    id: uuid.UUID
    partner: str
    source: Literal["api", "csv"]
    crs: str
    rows: int
    uploaded_by: str
    uploaded_at: datetime
    current: bool
    located_by_point: int | None = None
    located_by_zone: int | None = None
    outside_areas: int | None = None


class CensusRequest(msgspec.Struct, forbid_unknown_fields=True):
    """发起摸底 Run a census of my subtree now."""

    zone_kind: ZoneKind = "delivery_zone"
    engine: Engine = "pandas"
    min_active_days: Annotated[int, msgspec.Meta(ge=0, le=366, description=(
        "Roster workers with fewer active days are left out (counted in "
        "`totals.workers_inactive`)"))] = 1


class CensusZone(msgspec.Struct):
    """One zone's figures. Percentages have one decimal and are null without a denominator."""

    zone_code: str
    name_zh: str
    name_en: str
    kind: str
    tenant: str
    platform: str | None
    workers: int
    members: int
    coverage_pct: float | None
    members_in_contact: int
    contact_pct: float | None
    effective_coverage_pct: float | None
    stations: int
    stations_per_1000_workers: float | None
    area_km2: float


class RosterUsed(msgspec.Struct):
    partner: str
    upload_id: uuid.UUID
    uploaded_at: datetime
    rows: int


class CensusTotals(msgspec.Struct):
    """Over the whole scope. `workers` counts roster entries (a worker on two platforms is on
    two rosters under two pseudonyms); members are people, counted once."""

    zones: int
    workers: int
    workers_in_zones: int
    workers_outside_zones: int
    workers_inactive: int
    members: int
    members_located: int
    members_unlocated: int
    members_in_zones: int
    members_in_contact: int
    stations_in_zones: int
    coverage_pct: float | None
    contact_pct: float | None
    effective_coverage_pct: float | None
    rosters: list[RosterUsed]


class CensusLinks(msgspec.Struct):
    csv: str
    geojson: str
    map_png: str


class CensusRunSummary(msgspec.Struct, kw_only=True):
    """摸底记录 One run: who asked, for which scope and zone kind, when."""

    id: uuid.UUID
    tenant: str
    zone_kind: ZoneKind
    engine: Engine
    contact_days: int
    min_active_days: int
    requested_by: str
    started_at: datetime
    finished_at: datetime
    totals: CensusTotals
    links: CensusLinks


class CensusRunRead(CensusRunSummary, kw_only=True):
    zones: list[CensusZone]


# ---- building answers -----------------------------------------------------------------------

Source = Literal["api", "csv"]


def shown_uploader(principal: str) -> str:
    """A partner client by its id; union staff by role only (no account names to partners)."""
    role, _, subject = principal.partition(":")
    return subject if role == "partner" else role


def upload_read(u: RosterUpload, partner_code: str, *, current: bool,
                **located: int) -> RosterUploadRead:
    """An upload by its counts; `located` (by point, by zone, outside areas) on its own
    answer only."""
    return RosterUploadRead(id=u.id, partner=partner_code, source=cast(Source, u.source),
                            crs=u.crs, rows=u.rows, uploaded_by=shown_uploader(u.uploaded_by),
                            uploaded_at=u.uploaded_at, current=current, **located)


def links(run_id: uuid.UUID) -> CensusLinks:
    base = f"/v1/admin/geo/census/{run_id}"
    return CensusLinks(csv=f"{base}/zones.csv", geojson=f"{base}/zones.geojson",
                       map_png=f"{base}/map.png")


def _summary_fields(run: CensusRun) -> dict[str, Any]:
    p = run.params
    return {"id": run.id, "tenant": p["scope"], "zone_kind": p["zone_kind"], "engine": run.engine,
            "contact_days": p["contact_days"], "min_active_days": p["min_active_days"],
            "requested_by": run.requested_by, "started_at": run.started_at,
            "finished_at": run.finished_at,
            "totals": msgspec.convert(run.totals, CensusTotals), "links": links(run.id)}


def run_summary(run: CensusRun) -> CensusRunSummary:
    return CensusRunSummary(**_summary_fields(run))


def run_read(run: CensusRun) -> CensusRunRead:
    return CensusRunRead(**_summary_fields(run),
                         zones=[msgspec.convert(z, CensusZone) for z in run.zones])
