"""调解与法律援助衔接: each region's providers and a case's referrals to them (issue 15).

- `referral_providers`: 调解组织 / 法律援助站 / 劳动人事争议仲裁院 kept by a region
  (`tenant_id`), with the tenants it serves (`serves`, tenant ids), its opening hours (the
  stations' JSON shape), its WGS84 point and, when it takes bookings, `slot_minutes`.
  A public directory: read by the federation's staff and partners (`flexunion_federation()`)
  and by a worker of the federation (its own `worker_accounts` row names the federation);
  written by hq_admin / regional_admin within their subtree. Never deleted: `active` retires.
- `case_referrals`: a case referred to a provider, a booked slot (`mode` booking, status
  booked) or a recorded hand-over (what was sent, to whom, when; status handed_over);
  cancelling stamps `cancelled_*`. A slot is booked once while it stands: the partial UNIQUE
  index on (provider_id, slot_start) WHERE status = 'booked'. Read by the case's staff
  readers and by the worker the case is about (never a partner, a pick-up code or a job);
  written by hq_admin / regional_admin / station_officer whose subtree holds the case's
  tenant, as themselves, to a provider of the same federation.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
WORKER = "(SELECT flexunion_principal_worker())"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer|hotline_operator):'"
MANAGERS = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin):'"
REFERRERS = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
# Frozen copies of flexunion.cases.referrals (migrations never import app code).
KINDS = ("mediation", "legal_aid", "arbitration")
MODES = ("booking", "handover")
STATUSES = ("booked", "handed_over", "cancelled")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _tenancy(table: str) -> list:
    return [
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{table}_tenant_id_in_federation"),
    ]


def protect(table: str, app: str, policies: dict[str, tuple[str, str | None]], grants: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)")
    for name, (command_and_using, check) in policies.items():
        command, _, using = command_and_using.partition(":")
        sql = f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command} TO {_q(app)}"
        if using:
            sql += f" USING ({using})"
        if check:
            sql += f" WITH CHECK ({check})"
        op.execute(sql)
    op.execute(f"GRANT {grants} ON {table} TO {_q(app)}")


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    op.create_table(
        "referral_providers",
        sa.Column("id", UUID(as_uuid=True), primary_key=True), *_tenancy("referral_providers"),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("lon", sa.Double, nullable=False),
        sa.Column("lat", sa.Double, nullable=False),
        sa.Column("serves", ARRAY(UUID(as_uuid=True)), nullable=False),
        sa.Column("opening_hours", JSONB, nullable=False),
        sa.Column("phone", sa.Text, nullable=True),
        sa.Column("slot_minutes", sa.Integer, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at"), _ts("updated_at"),
        sa.CheckConstraint(f"kind IN {_in(KINDS)}", name="kind"),
        sa.CheckConstraint("slot_minutes IS NULL OR slot_minutes BETWEEN 10 AND 480",
                           name="slot_minutes"),
        sa.CheckConstraint("lon BETWEEN -180 AND 180 AND lat BETWEEN -90 AND 90",
                           name="lon_lat"),
        sa.UniqueConstraint("federation_id", "code", name="uq_referral_providers_federation_code"),
    )
    worker_fed = ("federation_id = (SELECT w.tenant_id FROM worker_accounts w"
                  f" WHERE w.id = {WORKER})")
    managers = f"({MANAGERS} AND tenant_id = ANY {SCOPE})"
    protect("referral_providers", app, {
        "directory_read": (f"SELECT:federation_id = {FEDERATION} OR {worker_fed}", None),
        "manager_insert": ("INSERT:", f"{managers} AND created_by = {PRINCIPAL}"),
        "manager_update": ("UPDATE:" + managers, managers),
    }, "SELECT, INSERT, UPDATE (name_zh, name_en, address, lon, lat, serves, opening_hours,"
       " phone, slot_minutes, active, updated_at)")

    op.create_table(
        "case_referrals",
        sa.Column("id", UUID(as_uuid=True), primary_key=True), *_tenancy("case_referrals"),
        sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("provider_id", UUID(as_uuid=True), sa.ForeignKey("referral_providers.id"),
                  nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        _ts("slot_start", nullable=True), _ts("slot_end", nullable=True),
        sa.Column("sent_what", sa.Text, nullable=True),
        sa.Column("sent_to", sa.Text, nullable=True),
        _ts("sent_at", nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at"),
        sa.Column("cancelled_by", sa.Text, nullable=True),
        _ts("cancelled_at", nullable=True),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.CheckConstraint(f"mode IN {_in(MODES)}", name="mode"),
        sa.CheckConstraint(f"status IN {_in(STATUSES)}", name="status"),
        sa.CheckConstraint("(mode = 'booking') = (slot_start IS NOT NULL AND slot_end IS NOT NULL"
                           " AND slot_end > slot_start)", name="booking_slot"),
        sa.CheckConstraint("(mode = 'handover') = (sent_what IS NOT NULL AND sent_to IS NOT NULL"
                           " AND sent_at IS NOT NULL)", name="handover_record"),
        sa.CheckConstraint("(status = 'cancelled') = (cancelled_at IS NOT NULL)",
                           name="cancelled"),
    )
    op.create_index("ix_case_referrals_case", "case_referrals", ["case_id", "created_at"])
    op.create_index("uq_case_referrals_slot", "case_referrals", ["provider_id", "slot_start"],
                    unique=True, postgresql_where=sa.text("status = 'booked'"))
    own_case = ("EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id"
                " AND c.tenant_id = case_referrals.tenant_id"
                " AND c.federation_id = case_referrals.federation_id)")
    worker_case = f"EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id AND c.worker_id = {WORKER})"
    provider_here = ("EXISTS (SELECT 1 FROM referral_providers p WHERE p.id = provider_id"
                     " AND p.federation_id = case_referrals.federation_id)")
    writers = f"({REFERRERS} AND tenant_id = ANY {SCOPE} AND {own_case})"
    protect("case_referrals", app, {
        "case_read": (f"SELECT:({STAFF} AND {own_case}) OR {worker_case}", None),
        "referrer_insert": ("INSERT:", f"{writers} AND created_by = {PRINCIPAL}"
                                       f" AND status <> 'cancelled' AND {provider_here}"),
        "referrer_cancel": ("UPDATE:" + writers,
                            f"{writers} AND status = 'cancelled'"
                            f" AND cancelled_by = {PRINCIPAL}"),
    }, "SELECT, INSERT, UPDATE (status, cancelled_by, cancelled_at, cancel_reason)")


def downgrade() -> None:
    for table in ("case_referrals", "referral_providers"):
        op.drop_table(table)
