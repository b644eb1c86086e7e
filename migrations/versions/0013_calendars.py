"""The federation's working calendar (工作日历), append-only and versioned.

- calendar_versions: one row per change of a federation's calendar, numbered per federation
  (the service takes a transaction-level advisory lock per federation to number it).
- calendar_settings: weekly hours, make-up day hours, covered years as set at a version.
- calendar_days: a dated day of a tenant's layer (the HQ's: the federation's days; a
  region's: its local days) as set at a version: holiday, workday or cleared.

Who may do what (the app role; the owner applies tenants/ files through owner_all):
- read: staff of the federation and the federation's system principals (jobs);
- write the federation's layer and settings: an HQ admin (tenant_id = the federation);
- write a region's local layer: that region's admin (tenant_id = the caller's own tenant);
- SELECT and INSERT only: nothing is updated or deleted, so a deadline computed under an
  old version can always be recomputed.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FEDERATION = "(SELECT flexunion_federation())"
OWN_TENANT = "(SELECT nullif(current_setting('flexunion.tenant_id', true), '')::uuid)"
PRINCIPAL = "flexunion_principal()"
READ = (f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer|system):'"
        f" AND federation_id = {FEDERATION}")
HQ_WRITE = f"({PRINCIPAL} ~ '^hq_admin:' AND tenant_id = {FEDERATION})"
REGION_WRITE = (f"({PRINCIPAL} ~ '^regional_admin:' AND tenant_id = {OWN_TENANT}"
                f" AND tenant_id <> {FEDERATION})")
TABLES = ("calendar_days", "calendar_settings", "calendar_versions")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tenancy(table: str) -> list:
    return [
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{table}_tenant_id_in_federation"),
    ]


def _of_version(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["federation_id", "version"],
        ["calendar_versions.federation_id", "calendar_versions.version"],
        name=f"fk_{table}_version")


def protect(table: str, app: str, write: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)")
    op.execute(f"CREATE POLICY federation_read ON {table} AS PERMISSIVE FOR SELECT TO {_q(app)}"
               f" USING ({READ})")
    op.execute(f"CREATE POLICY layer_insert ON {table} AS PERMISSIVE FOR INSERT TO {_q(app)}"
               f" WITH CHECK ({write})")
    op.execute(f"GRANT SELECT, INSERT ON {table} TO {_q(app)}")


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    op.create_table(
        "calendar_versions", *_tenancy("calendar_versions"),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("change", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.UniqueConstraint("federation_id", "version", name="uq_calendar_versions_version"),
        sa.CheckConstraint("version > 0", name="version_positive"),
    )
    op.create_table(
        "calendar_settings", *_tenancy("calendar_settings"),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("weekly_hours", JSONB, nullable=False),
        sa.Column("makeup_day_hours", JSONB, nullable=False),
        sa.Column("covered_years", ARRAY(sa.Integer), nullable=False),
        _of_version("calendar_settings"),
        sa.UniqueConstraint("federation_id", "version", name="uq_calendar_settings_version"),
    )
    op.create_table(
        "calendar_days", *_tenancy("calendar_days"),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        _of_version("calendar_days"),
        sa.UniqueConstraint("tenant_id", "day", "version", name="uq_calendar_days_version"),
        sa.CheckConstraint("kind IN ('holiday', 'workday', 'cleared')", name="kind"),
    )
    op.create_index("ix_calendar_days_federation", "calendar_days", ["federation_id", "version"])
    protect("calendar_versions", app, f"{HQ_WRITE} OR {REGION_WRITE}")
    protect("calendar_settings", app, HQ_WRITE)
    protect("calendar_days", app, f"{HQ_WRITE} OR {REGION_WRITE}")


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
