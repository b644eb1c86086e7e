"""Service areas: a union's jurisdiction, a platform's 配送片区, a station's reach.

Areas are stored as WKB in WGS84 (EPSG:4326, lon/lat): the embedded PostgreSQL has no
PostGIS, and every spatial question is answered by the in-process index (geo/index.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, TenantScoped, in_federation, uuid_pk
from flexunion.db.base import created_at as now  # the models have a column `created_at`

AREA_KINDS = {
    "jurisdiction": "工会辖区",
    "delivery_zone": "配送片区",
    "station_coverage": "站点服务范围",
}


class ServiceArea(TenantScoped, Base):
    """A polygon or multipolygon: a jurisdiction, a 配送片区 or a station's reach."""

    __tablename__ = "service_areas"
    __table_args__ = (
        in_federation("service_areas"),
        UniqueConstraint("federation_id", "kind", "code", name="uq_service_areas_code"),
        Index("ix_service_areas_tenant_kind", "tenant_id", "kind"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("platform_partners.id"))
    geom_wkb: Mapped[bytes] = mapped_column(LargeBinary)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    area_m2: Mapped[float] = mapped_column(Float)
    vertices: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    repaired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = now()
    updated_at: Mapped[datetime] = now()
