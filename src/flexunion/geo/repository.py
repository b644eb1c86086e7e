"""The registry's reads: a federation's areas, stations and tenants for its snapshot, and
the version counter, on the registry's own asyncpg connections.

Each read runs in a transaction whose scope is the federation's root (`enter_scope`), as
the app role: row-level security still applies. Areas, active stations and the tenant
tree are the federation's shared reference data, never personal data."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from flexunion.db.scope import SET_SCOPE_SQL

_AREAS = """
SELECT a.id, a.kind, a.code, a.name_zh, a.name_en, a.tenant_id, t.code AS tenant_code,
       p.code AS partner_code, a.geom_wkb
  FROM service_areas a
  JOIN tenants t ON t.id = a.tenant_id
  LEFT JOIN platform_partners p ON p.id = a.partner_id
 WHERE a.federation_id = $1
 ORDER BY a.kind, a.code
"""
_POINTS = """
SELECT s.id, s.code, s.name_zh, s.name_en, s.tenant_id, t.code AS tenant_code, s.address,
       s.lon, s.lat, s.amenities, s.opening_hours, s.phone
  FROM service_points s JOIN tenants t ON t.id = s.tenant_id
 WHERE s.federation_id = $1 AND s.active
 ORDER BY s.code
"""
# A station has its region's city and adcode (行政区划代码) unless it names its own.
_TENANTS = """
SELECT t.id, t.code, t.kind, t.name_zh, t.name_en, coalesce(t.city, p.city) AS city,
       coalesce(t.adcode, p.adcode) AS adcode
  FROM tenants t LEFT JOIN tenants p ON p.id = t.parent_id
 WHERE t.federation_id = $1
"""
_VERSION = "SELECT version FROM geo_versions WHERE federation_id = $1"

Rows = Sequence[Any]  # asyncpg Records, read by column name


@dataclass(frozen=True, slots=True)
class SnapshotRows:
    version: int
    areas: Rows
    points: Rows
    tenants: Rows


async def enter_scope(conn: asyncpg.Connection, federation_id: uuid.UUID,
                      principal: str) -> None:
    """Scope this transaction to the whole federation, acting as `principal`."""
    await conn.execute(SET_SCOPE_SQL, str(federation_id), principal, "")


async def version(conn: asyncpg.Connection, federation_id: uuid.UUID) -> int:
    return int(await conn.fetchval(_VERSION, federation_id) or 0)


async def snapshot_rows(conn: asyncpg.Connection, federation_id: uuid.UUID) -> SnapshotRows:
    """Everything a snapshot is built from, read at one version (call in a repeatable-read
    transaction)."""
    return SnapshotRows(version=await version(conn, federation_id),
                        areas=await conn.fetch(_AREAS, federation_id),
                        points=await conn.fetch(_POINTS, federation_id),
                        tenants=await conn.fetch(_TENANTS, federation_id))
