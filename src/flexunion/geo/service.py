"""Geo services shared by the geo routes: whose federation, and what covers a point."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.core.context import Caller, Role
from flexunion.core.errors import InvalidInput
from flexunion.geo.crs import AbsurdCoordinate, Crs, to_wgs84
from flexunion.geo.index import AreaHit
from flexunion.geo.registry import GeoRegistry, GeoSnapshot


async def federation_of(session: AsyncSession, caller: Caller) -> uuid.UUID:
    """A worker's token names its federation; staff and partners are anchored in a tenant of it."""
    if caller.role is Role.WORKER:
        return caller.tenant_id
    fed = (await session.execute(text("SELECT flexunion_federation()"))).scalar_one_or_none()
    if fed is None:  # the caller's own tenant is always in its scope; this would be a bug
        raise RuntimeError("caller's tenant not visible")
    return fed


async def snapshot_for(session: AsyncSession, caller: Caller, geo: GeoRegistry) -> GeoSnapshot:
    return await geo.get(await federation_of(session, caller))


def wgs84_point(lon: float, lat: float, crs: Crs) -> tuple[float, float]:
    """The caller's point in our canonical WGS84, or a 422 naming what is wrong."""
    try:
        return to_wgs84(lon, lat, crs)
    except AbsurdCoordinate as exc:
        raise InvalidInput(str(exc), code="coordinate_out_of_range") from exc


def jurisdiction_of(hits: list[AreaHit], prefer: uuid.UUID | None = None) -> AreaHit | None:
    """One jurisdiction for a point. Inside one: that one. On a shared border: the caller's
    own region if it is one of them (no flapping for a member riding along the line),
    else the lowest code, flagged `on_border` so nobody mistakes it for a clear answer."""
    jur = [h for h in hits if h.area.kind == "jurisdiction"]
    if not jur:
        return None
    inside = [h for h in jur if not h.on_border]
    if inside:
        return inside[0]
    for h in jur:
        if prefer is not None and h.area.tenant_id == prefer:
            return h
    return jur[0]
