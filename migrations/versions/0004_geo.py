"""Geo: service areas, stations (驿站) and their upkeep, check-ins, rosters, census.

- service_areas: polygons as WKB in WGS84 (no PostGIS: the embedded server has
  none). Staff of the federation read them; the owning subtree writes them.
- geo_versions: a per-federation counter bumped by trigger on every area or
  station change, with NOTIFY flexunion_geo so every instance reloads its index.
- service_points + station_duties/supplies/checks: a station's public face and
  its upkeep, written by the owning tenant's officers.
- location_checkins, transfer_suggestions: the worker's own (principal-only);
  admins never read raw check-ins. A census reads members' last positions through
  one SECURITY DEFINER function limited to the caller's subtree.
- roster_uploads/roster_entries, census_runs: partner rosters and census results,
  scoped by tenant.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, JSONB, UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
WORKER_SELF = f"{PRINCIPAL} = 'worker:' || worker_id::text"
IN_SUBTREE = f"tenant_id = ANY {SCOPE}"
FEDERATION_READ = f"federation_id = {FEDERATION} OR tenant_id = ANY {SCOPE}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ts(name: str, nullable: bool = False, default: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True)


def _tenancy(table: str) -> list:
    return [
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{table}_tenant_id_in_federation"),
    ]


def _point_fk() -> sa.Column:
    return sa.Column("point_id", UUID(as_uuid=True), sa.ForeignKey("service_points.id"),
                     nullable=False)


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


def _staff_kept(table: str, app: str, *, deletable: bool = False) -> None:
    """Read by the federation's staff, written by the owning subtree. DELETE only where the
    domain needs it (an area withdrawn, a day's roster replaced); stations are deactivated."""
    policies = {
        "federation_read": ("SELECT:" + FEDERATION_READ, None),
        "subtree_insert": ("INSERT:", IN_SUBTREE),
        "subtree_update": ("UPDATE:" + IN_SUBTREE, IN_SUBTREE),
    }
    if deletable:
        policies["subtree_delete"] = ("DELETE:" + IN_SUBTREE, None)
    protect(table, app, policies, "SELECT, INSERT, UPDATE" + (", DELETE" if deletable else ""))


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    qa = _q(app)

    # ---- areas and the version every instance watches ------------------------------------
    op.create_table(
        "service_areas", _id(), *_tenancy("service_areas"),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("partner_id", UUID(as_uuid=True), sa.ForeignKey("platform_partners.id"),
                  nullable=True),
        sa.Column("geom_wkb", BYTEA, nullable=False),
        *(sa.Column(c, sa.Float, nullable=False) for c in ("min_lon", "min_lat", "max_lon",
                                                            "max_lat", "area_m2")),
        sa.Column("vertices", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("repaired", sa.Boolean, nullable=False),
        _ts("created_at", default=True),
        _ts("updated_at", default=True),
        sa.UniqueConstraint("federation_id", "kind", "code", name="uq_service_areas_code"),
        sa.CheckConstraint("kind IN ('jurisdiction', 'delivery_zone', 'station_coverage')",
                           name="kind"),
        sa.CheckConstraint("kind <> 'delivery_zone' OR partner_id IS NOT NULL",
                           name="zone_has_platform"),
        sa.CheckConstraint("min_lon >= -180 AND max_lon <= 180 AND min_lat >= -90"
                           " AND max_lat <= 90 AND min_lon <= max_lon AND min_lat <= max_lat",
                           name="bbox_wgs84"),
        sa.CheckConstraint("code ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'", name="code_format"),
    )
    op.create_index("ix_service_areas_tenant_kind", "service_areas", ["tenant_id", "kind"])
    _staff_kept("service_areas", app, deletable=True)

    op.create_table(
        "geo_versions",
        sa.Column("federation_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"),
                  primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        _ts("changed_at", default=True),
    )
    protect("geo_versions", app, {
        "federation_read": (f"SELECT:federation_id = {FEDERATION}"
                            f" OR federation_id = ANY {SCOPE}", None),
    }, "SELECT")
    op.execute(
        """CREATE FUNCTION flexunion_geo_changed() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE fed uuid;
        BEGIN
          IF TG_OP = 'DELETE' THEN fed := OLD.federation_id; ELSE fed := NEW.federation_id; END IF;
          INSERT INTO geo_versions (federation_id, version) VALUES (fed, 1)
          ON CONFLICT (federation_id) DO UPDATE
            SET version = geo_versions.version + 1, changed_at = now();
          -- Delivered at commit; identical payloads in one transaction fold into one.
          PERFORM pg_notify('flexunion_geo', fed::text);
          RETURN NULL;
        END $$"""
    )

    # ---- stations (驿站/服务点) and their upkeep --------------------------------------------
    op.create_table(
        "service_points", _id(), *_tenancy("service_points"),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("amenities", ARRAY(sa.Text), nullable=False),
        sa.Column("opening_hours", JSONB, nullable=False),
        sa.Column("shift_changes", JSONB, nullable=False),
        sa.Column("phone", sa.Text, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        _ts("created_at", default=True),
        _ts("updated_at", default=True),
        sa.UniqueConstraint("federation_id", "code", name="uq_service_points_code"),
        sa.CheckConstraint("lon BETWEEN -180 AND 180 AND lat BETWEEN -90 AND 90",
                           name="wgs84"),
        sa.CheckConstraint("code ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'", name="code_format"),
    )
    op.create_index("ix_service_points_tenant", "service_points", ["tenant_id"])
    _staff_kept("service_points", app)
    for table in ("service_areas", "service_points"):
        op.execute(f"CREATE TRIGGER geo_changed AFTER INSERT OR UPDATE OR DELETE ON {table}"
                   " FOR EACH ROW EXECUTE FUNCTION flexunion_geo_changed()")

    op.create_table(
        "station_duties", _id(), *_tenancy("station_duties"), _point_fk(),
        sa.Column("duty_date", sa.Date, nullable=False),
        sa.Column("shift_no", sa.Integer, nullable=False),
        _ts("starts_at"),
        _ts("ends_at"),
        sa.Column("officer_name", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at", default=True),
        sa.UniqueConstraint("point_id", "duty_date", "shift_no", "officer_name",
                            name="uq_station_duties_slot_officer"),
        sa.CheckConstraint("starts_at < ends_at", name="ordered"),
    )
    op.create_index("ix_station_duties_point_start", "station_duties", ["point_id", "starts_at"])
    _staff_kept("station_duties", app, deletable=True)

    op.create_table(
        "station_supplies", _id(), *_tenancy("station_supplies"), _point_fk(),
        sa.Column("season", sa.Text, nullable=False),
        sa.Column("item", sa.Text, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at", default=True),
        sa.CheckConstraint("season IN ('heat', 'cold_wave', 'rainstorm')", name="season"),
        sa.CheckConstraint("quantity >= 0 AND valid_from <= valid_to", name="sane"),
    )
    op.create_index("ix_station_supplies_point_to", "station_supplies", ["point_id", "valid_to"])
    _staff_kept("station_supplies", app)

    op.create_table(
        "station_checks", _id(), *_tenancy("station_checks"), _point_fk(),
        sa.Column("iso_week", sa.Text, nullable=False),
        sa.Column("restocked", sa.Boolean, nullable=False),
        sa.Column("cleaned", sa.Boolean, nullable=False),
        sa.Column("equipment", sa.Text, nullable=False),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("checked_by", sa.Text, nullable=False),
        _ts("checked_at", default=True),
        sa.UniqueConstraint("point_id", "iso_week", name="uq_station_checks_week"),
        sa.CheckConstraint("equipment IN ('ok', 'needs_repair', 'out_of_service')",
                           name="equipment"),
        sa.CheckConstraint("iso_week ~ '^[0-9]{4}-W[0-9]{2}$'", name="iso_week"),
    )
    _staff_kept("station_checks", app)

    # ---- the worker's own: check-ins and transfer suggestions ----------------------------
    op.create_table(
        "location_checkins", _id(), *_tenancy("location_checkins"),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("worker_id", UUID(as_uuid=True), sa.ForeignKey("worker_accounts.id"),
                  nullable=False),
        _ts("recorded_at"),
        sa.Column("local_day", sa.Date, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("accuracy_m", sa.Float, nullable=True),
        sa.Column("jurisdiction_tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"),
                  nullable=True),
        _ts("created_at", default=True),
        sa.CheckConstraint("lon BETWEEN -180 AND 180 AND lat BETWEEN -90 AND 90",
                           name="wgs84"),
    )
    op.create_index("ix_location_checkins_member_at", "location_checkins",
                    ["member_id", "recorded_at"])
    op.create_index("ix_location_checkins_recorded_at", "location_checkins", ["recorded_at"])
    protect("location_checkins", app, {
        "self_read": ("SELECT:" + WORKER_SELF, None),
        "self_insert": ("INSERT:", WORKER_SELF),
        # Withdrawing consent erases one's own check-ins at once.
        "self_delete": ("DELETE:" + WORKER_SELF, None),
    }, "SELECT, INSERT, DELETE")

    op.create_table(
        "transfer_suggestions", _id(), *_tenancy("transfer_suggestions"),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("worker_id", UUID(as_uuid=True), sa.ForeignKey("worker_accounts.id"),
                  nullable=False),
        sa.Column("to_tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"),
                  nullable=False),
        sa.Column("days_away", sa.Integer, nullable=False),
        sa.Column("window_days", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("transfer_id", UUID(as_uuid=True), sa.ForeignKey("transfers.id"),
                  nullable=True),
        _ts("offered_at"),
        _ts("decided_at", nullable=True),
        sa.CheckConstraint("status IN ('offered', 'accepted', 'dismissed')", name="status"),
    )
    op.execute("CREATE UNIQUE INDEX uq_transfer_suggestions_one_open ON transfer_suggestions"
               " (member_id) WHERE status = 'offered'")
    op.create_index("ix_transfer_suggestions_member_to", "transfer_suggestions",
                    ["member_id", "to_tenant_id", "decided_at"])
    protect("transfer_suggestions", app, {
        "self_read": ("SELECT:" + WORKER_SELF, None),
        "self_insert": ("INSERT:", WORKER_SELF + " AND status = 'offered'"),
        "self_update": ("UPDATE:" + WORKER_SELF, WORKER_SELF),
    }, "SELECT, INSERT, UPDATE (status, transfer_id, decided_at)")

    # ---- partner rosters and census runs ----------------------------------------------------
    op.create_table(
        "roster_uploads", _id(), *_tenancy("roster_uploads"),
        sa.Column("partner_id", UUID(as_uuid=True), sa.ForeignKey("platform_partners.id"),
                  nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("crs", sa.Text, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("uploaded_by", sa.Text, nullable=False),
        _ts("uploaded_at", default=True),
        sa.CheckConstraint("source IN ('api', 'csv')", name="source"),
    )
    op.create_index("ix_roster_uploads_partner_at", "roster_uploads",
                    ["partner_id", "uploaded_at"])
    protect("roster_uploads", app, {
        "subtree_read": ("SELECT:" + IN_SUBTREE, None),
        "subtree_insert": ("INSERT:", IN_SUBTREE),
    }, "SELECT, INSERT")
    op.create_table(
        "roster_entries",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("upload_id", UUID(as_uuid=True),
                  sa.ForeignKey("roster_uploads.id", ondelete="CASCADE"), nullable=False),
        *_tenancy("roster_entries"),
        sa.Column("worker_ref", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("lon", sa.Float, nullable=True),
        sa.Column("lat", sa.Float, nullable=True),
        sa.Column("zone_code", sa.Text, nullable=True),
        sa.Column("active_days", sa.Integer, nullable=False),
        sa.UniqueConstraint("upload_id", "worker_ref", name="uq_roster_entries_worker"),
        sa.CheckConstraint("(lon IS NOT NULL AND lat IS NOT NULL) OR zone_code IS NOT NULL",
                           name="located"),
        sa.CheckConstraint("active_days >= 0", name="active_days"),
    )
    protect("roster_entries", app, {
        "subtree_read": ("SELECT:" + IN_SUBTREE, None),
        "subtree_insert": ("INSERT:", IN_SUBTREE),
    }, "SELECT, INSERT")
    op.execute(f"GRANT USAGE ON SEQUENCE roster_entries_id_seq TO {qa}")

    op.create_table(
        "census_runs", _id(), *_tenancy("census_runs"),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("engine", sa.Text, nullable=False),
        sa.Column("params", JSONB, nullable=False),
        sa.Column("zones", JSONB, nullable=False),
        sa.Column("totals", JSONB, nullable=False),
        _ts("started_at"),
        _ts("finished_at"),
        sa.CheckConstraint("engine IN ('pandas', 'dask')", name="engine"),
    )
    op.create_index("ix_census_runs_tenant_at", "census_runs", ["tenant_id", "started_at"])
    protect("census_runs", app, {
        "subtree_read": ("SELECT:" + IN_SUBTREE, None),
        "subtree_insert": ("INSERT:", IN_SUBTREE),
    }, "SELECT, INSERT")

    # Members' last known positions for a census of the caller's subtree: active members
    # whose home is in scope, with their latest check-in since `since` (NULL if none).
    # Only ids and coordinates leave; the census aggregates them per zone.
    op.execute(
        """CREATE FUNCTION flexunion_census_members(since timestamptz)
        RETURNS TABLE (member_id uuid, home_tenant_id uuid, lon double precision,
                       lat double precision, seen_at timestamptz)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT m.id, m.tenant_id, c.lon, c.lat, c.recorded_at
            FROM members m
            LEFT JOIN LATERAL (
              SELECT lon, lat, recorded_at FROM location_checkins lc
               WHERE lc.member_id = m.id AND lc.recorded_at >= since
               ORDER BY lc.recorded_at DESC LIMIT 1) c ON true
           WHERE m.status = 'active'
             AND m.tenant_id = ANY ((SELECT flexunion_tenant_scope())::uuid[])
        $$"""
    )
    op.execute("REVOKE ALL ON FUNCTION flexunion_census_members(timestamptz) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION flexunion_census_members(timestamptz) TO {qa}")


def downgrade() -> None:
    op.execute("DROP FUNCTION flexunion_census_members(timestamptz)")
    for table in ("census_runs", "roster_entries", "roster_uploads", "transfer_suggestions",
                  "location_checkins", "station_checks", "station_supplies", "station_duties",
                  "service_points", "geo_versions", "service_areas"):
        op.drop_table(table)
    op.execute("DROP FUNCTION flexunion_geo_changed()")
