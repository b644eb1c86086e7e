"""The version counter the spatial registry watches. The other geo tables live with their
sub-domains (areas/, stations/, checkins/, census/). `geo_versions` belongs to no one
sub-domain: a trigger bumps it on every change to service_areas or service_points
(migration 0004), and registry.py compares it to reload a federation's snapshot."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from flexunion.db.base import Base, created_at


class GeoVersion(Base):
    """Bumped by trigger on every area or station change; instances compare and reload."""

    __tablename__ = "geo_versions"

    federation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = created_at()
