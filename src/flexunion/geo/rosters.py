"""Partner rosters (花名册): pseudonymous workers with their last work place, by API or CSV.

A roster is checked whole before anything is written: every row's problems are
collected (the first `MAX_ERRORS` are reported, with row numbers) and one bad row
refuses the upload. Personal data must not come in: a `worker_ref` that looks like a
phone number or a resident ID number is refused, and only ASCII pseudonyms pass.

Each entry is filed under the tenant owning the place the worker is in (this
partner's delivery zone there, else the jurisdiction there), so that a regional
union's census (row-level security: its subtree) sees the workers in its zones; a
place outside every area, or owned outside the uploader's subtree, falls back to the
uploader's tenant. Entries go in with one INSERT … SELECT FROM unnest(…) per batch
(COPY is not available under row-level security).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.auth.models import PartnerClient
from flexunion.core.errors import InvalidInput, NotFound, Unauthenticated
from flexunion.federation.models import PlatformPartner
from flexunion.geo.census_schemas import RosterCreate, RosterRowError, RosterUploadRead
from flexunion.geo.crs import AbsurdCoordinate, Crs, to_wgs84
from flexunion.geo.models import RosterUpload
from flexunion.geo.registry import GeoSnapshot

MAX_BYTES = 20 * 1024 * 1024
MAX_ERRORS = 50
BATCH = 20_000
CSV_COLUMNS = ("worker_ref", "platform", "lon", "lat", "zone_code", "active_days")
CSV_REQUIRED = ("worker_ref", "active_days")

_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=/+-]{0,63}\Z")
_PLATFORM = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}\Z")
_DIGIT_RUNS = re.compile(r"\d+[Xx]?")
_MOBILE = re.compile(r"(?:0{0,2}86)?1[3-9]\d{9}\Z")
_SERVICE_NO = re.compile(r"[48]00\d{7}\Z")
_SEPARATORS = re.compile(r"[\s\-.()/]")


@dataclass(frozen=True, slots=True)
class Uploader:  # the partner, and the principal and tenant acting for it
    partner_id: uuid.UUID
    partner_code: str
    principal: str
    tenant_id: uuid.UUID
    federation_id: uuid.UUID


@dataclass(slots=True)
class Checked:  # a roster that passed every check, as columns (WGS84)
    refs: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    lons: list[float | None] = field(default_factory=list)
    lats: list[float | None] = field(default_factory=list)
    zones: list[str | None] = field(default_factory=list)
    days: list[int] = field(default_factory=list)


class RosterRejected(InvalidInput):
    code, title, title_en = "roster_invalid", "花名册未通过校验", "Roster rejected"


_UNREADABLE = object()  # a CSV cell already reported as not a number


def personal_data_kind(ref: str) -> str | None:
    """'phone' or 'resident ID number' when the reference looks like one, else None."""
    from stdnum.cn import ric

    compact = _SEPARATORS.sub("", ref)
    runs = set(_DIGIT_RUNS.findall(ref))
    if compact.lstrip("+").isdigit():
        runs.add(compact.lstrip("+"))
    for run in runs:
        if len(run) == 18 and ric.is_valid(run.upper()):
            return "resident ID number"
        digits = run.rstrip("Xx")
        if _MOBILE.match(digits) or _SERVICE_NO.match(digits):
            return "phone number"
    if compact.startswith(("0", "+86")) and compact.lstrip("+").isdigit():
        import phonenumbers

        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(compact, "CN")):
                return "phone number"
        except phonenumbers.NumberParseException:
            pass
    return None


class RowErrors:
    def __init__(self, csv_lines: bool) -> None:
        self.items: list[RosterRowError] = []
        self.count = 0
        self.csv_lines = csv_lines

    def add(self, row: int, code: str, message: str, field_: str | None = None) -> None:
        self.count += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append(RosterRowError(row=row, code=code, message=message, field=field_,
                                             line=row + 1 if self.csv_lines else None))

    def raise_if_any(self) -> None:
        if self.count:
            raise RosterRejected(
                f"{self.count} problem(s) in the roster; nothing was stored. The first "
                f"{len(self.items)} are listed in `errors` (row numbers count workers from 1).",
                extra={"errors": [msgspec.to_builtins(e) for e in self.items],
                       "error_count": self.count})


# ---- reading the body ----------------------------------------------------------------------
Row = tuple[object, object, object, object, object, object]  # ref, platform, lon, lat, zone, days


def parse_json(body: bytes) -> tuple[Crs, list[Row]]:
    try:
        roster = msgspec.json.decode(body, type=RosterCreate)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = re.search(r"\$\.workers\[(\d+)\](?:\.(\w+))?", message)
        errors = RowErrors(csv_lines=False)
        if found:
            errors.add(int(found.group(1)) + 1, "value_invalid", message, found.group(2))
            errors.raise_if_any()
        raise RosterRejected(message, extra={"errors": [], "error_count": 1}) from exc
    except msgspec.DecodeError as exc:
        from flexunion.core.errors import MalformedRequest

        raise MalformedRequest("The request body is not valid JSON.") from exc
    return roster.crs, [(w.worker_ref, w.platform, w.lon, w.lat, w.zone_code, w.active_days)
                        for w in roster.workers]


def parse_csv(body: bytes) -> tuple[list[Row | None], RowErrors]:
    """Rows of a CSV roster, converted; type problems are reported like every other."""
    try:
        content = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The CSV file is not UTF-8 text; save it as CSV UTF-8.",
                           code="csv_encoding_invalid") from exc
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        raise InvalidInput(f"The CSV header cannot be read: {exc}",
                           code="csv_header_invalid") from exc
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [h for h in CSV_REQUIRED if h not in header]
    if not header or unknown or missing or len(set(header)) != len(header):
        raise InvalidInput(
            f"The first line must be the header {','.join(CSV_COLUMNS)} (worker_ref and "
            f"active_days required; columns in any order). Unknown: {unknown or '-'}; "
            f"missing: {missing or '-'}.", code="csv_header_invalid")
    where = {name: header.index(name) if name in header else None for name in CSV_COLUMNS}
    errors = RowErrors(csv_lines=True)
    rows: list[Row | None] = []
    for n, values in enumerate(_lines(reader), start=1):
        if isinstance(values, csv.Error):
            errors.add(n, "csv_row_malformed", f"unreadable CSV: {values}")
            rows.append(None)
            break
        if not any(v.strip() for v in values):
            continue  # blank lines (a trailing newline, an empty spreadsheet row)
        if len(values) != len(header):
            errors.add(n, "csv_row_malformed",
                       f"{len(values)} fields where the header has {len(header)}")
            rows.append(None)
            continue
        cell = {name: (values[i].strip() or None) if i is not None else None
                for name, i in where.items()}
        lon = _number(cell["lon"], n, "lon", errors)
        lat = _number(cell["lat"], n, "lat", errors)
        days_raw = cell["active_days"]
        days: object = None
        if days_raw is None or not re.fullmatch(r"\d{1,3}", days_raw):
            errors.add(n, "active_days_invalid", "active_days must be a whole number 0–366",
                       "active_days")
        else:
            days = int(days_raw)
        rows.append((cell["worker_ref"] or "", cell["platform"], lon, lat, cell["zone_code"],
                     days))
    return rows, errors


def _lines(reader: Any) -> Iterator[list[str] | csv.Error]:
    try:
        yield from reader
    except csv.Error as exc:  # a broken quote or a huge field: the rest cannot be read
        yield exc


def _number(raw: str | None, row: int, name: str, errors: RowErrors) -> object:
    try:
        return None if raw is None else float(raw)
    except ValueError:
        errors.add(row, "coordinate_invalid", f"{name} is not a number", name)
        return _UNREADABLE


# ---- checking ------------------------------------------------------------------------------
def check_rows(rows: list[Row | None], crs: Crs, partner_code: str, zone_codes: set[str] | dict,
               errors: RowErrors | None = None) -> Checked:
    """Every row checked; all-or-nothing. Coordinates come back in WGS84. `None` rows were
    unreadable (their problem is already in `errors`)."""
    if not rows:
        raise InvalidInput("The roster has no workers.", code="roster_empty")
    errors = errors or RowErrors(csv_lines=False)
    out = Checked()
    first_row: dict[str, int] = {}
    for n, row in enumerate(rows, start=1):
        if row is None:
            continue
        ref, platform, lon, lat, zone, days = row
        ref = str(ref)
        kind = personal_data_kind(ref)
        if kind:
            errors.add(n, "worker_ref_personal_data", f"worker_ref looks like a {kind}: send "
                       "the platform's pseudonym, never personal data", "worker_ref")
        elif not _REF.match(ref):
            errors.add(n, "worker_ref_invalid", "worker_ref must be 1–64 of A-Z a-z 0-9 "
                       ". _ : = / + - (a pseudonym, starting with a letter or digit)",
                       "worker_ref")
        elif ref in first_row:
            errors.add(n, "worker_ref_duplicate",
                       f"worker_ref repeats row {first_row[ref]}", "worker_ref")
        else:
            first_row[ref] = n
        if platform is not None and not _PLATFORM.match(str(platform)):
            errors.add(n, "platform_invalid", "platform must be 1–32 of a-z 0-9 _ . -",
                       "platform")
        if not isinstance(days, int) or not 0 <= days <= 366:
            if days is not None:  # a CSV row already said so
                errors.add(n, "active_days_invalid", "active_days must be 0–366", "active_days")
        if zone is not None and zone not in zone_codes:
            errors.add(n, "zone_unknown", f"zone_code {zone!r} is not a delivery zone of "
                       f"{partner_code}", "zone_code")
        wlon = wlat = None
        if lon is _UNREADABLE or lat is _UNREADABLE:
            pass
        elif (lon is None) != (lat is None):
            errors.add(n, "location_incomplete", "give both lon and lat, or neither",
                       "lon" if lon is None else "lat")
        elif lon is not None:
            try:
                if float(lon) == 0.0 and float(lat) == 0.0:  # type: ignore[arg-type]
                    raise AbsurdCoordinate("(0, 0) is a failed GPS fix, not a work place")
                wlon, wlat = to_wgs84(float(lon), float(lat), crs)  # type: ignore[arg-type]
            except AbsurdCoordinate as exc:
                errors.add(n, "coordinate_out_of_range", str(exc), "lon")
        elif zone is None:
            errors.add(n, "location_missing", "give lon and lat, or a zone_code", "zone_code")
        out.refs.append(ref)
        out.platforms.append(str(platform) if platform is not None else partner_code)
        out.lons.append(wlon)
        out.lats.append(wlat)
        out.zones.append(zone)  # type: ignore[arg-type]
        out.days.append(days)  # type: ignore[arg-type]
    errors.raise_if_any()
    return out


def delivery_zone_codes(snapshot: GeoSnapshot, partner_code: str) -> dict[str, int]:
    """This partner's delivery zones: code → position in the snapshot's area index."""
    return {ref.code: i for i, ref in enumerate(snapshot.areas.refs)
            if ref.kind == "delivery_zone" and ref.partner_code == partner_code}


def owning_tenants(snapshot: GeoSnapshot, partner_code: str, roster: Checked,
                   scope: set[uuid.UUID], fallback: uuid.UUID) -> tuple[list[uuid.UUID], int]:
    """Each entry's tenant, and how many fell back to the uploader's (CPU: run in a thread)."""
    import geopandas

    from flexunion.geo.spatial_join import zone_of_points

    refs = snapshot.areas.refs
    own_zones = delivery_zone_codes(snapshot, partner_code)
    owner: list[uuid.UUID | None] = [
        refs[own_zones[z]].tenant_id if z is not None else None for z in roster.zones]
    pending = [i for i, t in enumerate(owner) if t is None and roster.lons[i] is not None]
    for positions in (sorted(own_zones.values()),
                      [i for i, r in enumerate(refs) if r.kind == "jurisdiction"]):
        if not pending or not positions:
            continue
        points = geopandas.GeoDataFrame(geometry=geopandas.points_from_xy(
            [roster.lons[i] for i in pending], [roster.lats[i] for i in pending]), crs=4326)
        zones = geopandas.GeoDataFrame(
            geometry=geopandas.GeoSeries(snapshot.areas.geoms[np.asarray(positions)]), crs=4326)
        hits = zone_of_points(points, zones)
        missed = hits.isna().to_numpy()
        found = hits.fillna(-1).to_numpy(dtype=np.int64)
        for k, i in enumerate(pending):
            if not missed[k]:
                owner[i] = refs[positions[found[k]]].tenant_id
        pending = [i for k, i in enumerate(pending) if missed[k]]
    tenants = [t if t is not None and t in scope else fallback for t in owner]
    return tenants, sum(1 for t in owner if t is None or t not in scope)


# ---- the database --------------------------------------------------------------------------
async def partner_of_client(session: AsyncSession, client_id: str) -> tuple[uuid.UUID, str]:
    row = (await session.execute(
        select(PartnerClient.partner_id, PartnerClient.disabled, PlatformPartner.code)
        .join(PlatformPartner, PlatformPartner.id == PartnerClient.partner_id)
        .where(PartnerClient.client_id == client_id))).first()
    if row is None:
        raise NotFound("This partner client is not known.", code="partner_client_not_found")
    if row.disabled:
        raise Unauthenticated("This partner client is disabled.", code="client_disabled")
    return row.partner_id, row.code


async def partner_by_code(session: AsyncSession, federation_id: uuid.UUID,
                          code: str) -> tuple[uuid.UUID, str]:
    found = await session.scalar(select(PlatformPartner.id).where(
        PlatformPartner.tenant_id == federation_id, PlatformPartner.code == code))
    if found is None:
        raise InvalidInput(f"No platform partner '{code}' in this federation.",
                           code="platform_unknown")
    return found, code


async def scope_ids(session: AsyncSession) -> set[uuid.UUID]:
    ids = (await session.execute(text("SELECT flexunion_tenant_scope()"))).scalar_one()
    return {uuid.UUID(str(i)) for i in ids or ()}


_INSERT = text("""
INSERT INTO roster_entries (upload_id, federation_id, tenant_id, worker_ref, platform, lon, lat,
                            zone_code, active_days)
SELECT CAST(:upload AS uuid), CAST(:federation AS uuid), u.t, u.r, u.p, u.x, u.y, u.z, u.d
  FROM unnest(CAST(:t AS uuid[]), CAST(:r AS text[]), CAST(:p AS text[]),
              CAST(:x AS float8[]), CAST(:y AS float8[]), CAST(:z AS text[]),
              CAST(:d AS int[])) AS u(t, r, p, x, y, z, d)
""")


async def store(session: AsyncSession, who: Uploader, snapshot: GeoSnapshot, roster: Checked,
                *, source: str, crs: Crs, now: datetime) -> RosterUploadRead:
    """Write the upload and its entries (the caller's transaction; nothing commits here)."""
    scope = await scope_ids(session)
    tenants, fell_back = await asyncio.to_thread(
        owning_tenants, snapshot, who.partner_code, roster, scope, who.tenant_id)
    upload = RosterUpload(id=uuid.uuid4(), federation_id=who.federation_id,
                          tenant_id=who.tenant_id, partner_id=who.partner_id, source=source,
                          crs=crs.value, rows=len(roster.refs), uploaded_by=who.principal,
                          uploaded_at=now)
    session.add(upload)
    await session.flush()
    for start in range(0, len(roster.refs), BATCH):
        end = start + BATCH
        await session.execute(_INSERT, {
            "upload": upload.id, "federation": who.federation_id, "t": tenants[start:end],
            "r": roster.refs[start:end], "p": roster.platforms[start:end],
            "x": roster.lons[start:end], "y": roster.lats[start:end],
            "z": roster.zones[start:end], "d": roster.days[start:end]})
    by_point = sum(1 for x in roster.lons if x is not None)
    return RosterUploadRead(
        id=upload.id, partner=who.partner_code, source=source,  # type: ignore[arg-type]
        crs=crs.value, rows=upload.rows, uploaded_by=_shown(who.principal), uploaded_at=now,
        current=True, located_by_point=by_point, located_by_zone=upload.rows - by_point,
        outside_areas=fell_back)


def _shown(principal: str) -> str:
    """A partner client by its id; union staff by role only (no account names to partners)."""
    role, _, subject = principal.partition(":")
    return subject if role == "partner" else role


async def list_uploads(session: AsyncSession, partner_id: uuid.UUID, partner_code: str, *,
                       after: tuple[datetime, uuid.UUID] | None,
                       limit: int) -> list[RosterUploadRead]:
    latest = await session.scalar(
        select(RosterUpload.id).where(RosterUpload.partner_id == partner_id)
        .order_by(RosterUpload.uploaded_at.desc(), RosterUpload.id.desc()).limit(1))
    query = select(RosterUpload).where(RosterUpload.partner_id == partner_id)
    if after is not None:
        query = query.where(func.row(RosterUpload.uploaded_at, RosterUpload.id)
                            < func.row(after[0], after[1]))
    rows = (await session.scalars(query.order_by(RosterUpload.uploaded_at.desc(),
                                                 RosterUpload.id.desc()).limit(limit))).all()
    return [RosterUploadRead(id=u.id, partner=partner_code, source=u.source,  # type: ignore[arg-type]
                             crs=u.crs, rows=u.rows, uploaded_by=_shown(u.uploaded_by),
                             uploaded_at=u.uploaded_at, current=u.id == latest)
            for u in rows]
