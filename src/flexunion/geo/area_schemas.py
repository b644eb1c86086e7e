"""Shapes of the areas admin API and of point resolution."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class AreaRead(msgspec.Struct):
    id: uuid.UUID
    kind: str
    kind_zh: str
    code: str
    name_zh: str
    name_en: str
    tenant: str
    partner: str | None
    bbox_wgs84: list[float]
    area_km2: float
    vertices: int
    repaired: bool
    source: str
    updated_at: datetime


class AreaUploadResult(msgspec.Struct):
    kind: str
    crs: str
    created: list[str]
    updated: list[str]
    deleted: list[str]
    repaired: list[str]


class Position(msgspec.Struct):
    lon: float
    lat: float
    crs: str


class UnionRef(msgspec.Struct):
    code: str
    name_zh: str
    name_en: str
    city: str | None


class ResolvedArea(msgspec.Struct):
    kind: str
    code: str
    name_zh: str
    name_en: str
    tenant: str
    partner: str | None
    on_border: bool


class Jurisdiction(msgspec.Struct):
    """The regional union whose territory holds the point (工会辖区)."""

    union: UnionRef
    area: ResolvedArea
    on_border: bool


class Resolution(msgspec.Struct):
    point: Position
    wgs84: Position
    jurisdiction: Jurisdiction | None
    jurisdictions: list[ResolvedArea]
    delivery_zones: list[ResolvedArea]
    station_coverages: list[ResolvedArea]
    # Where a worker here could join (线上入会 `join`): stations whose reach holds the point,
    # then the jurisdiction's union.
    join_targets: list[UnionRef]
    index_version: int
