"""一个入口: the service catalogue and the worker's applications (services/catalogue,
services/applications; docs/services.md).

- `service_catalogue`: a federation's services (服务目录). `tenant_id` is the keeper: HQ (the
  entry applies federation-wide) or a region (its own entry, offered in its subtree). Each
  names who may apply (`eligibility`), the materials list (`materials`: code, labels,
  required), the reviewing unit (station / region / hq), the time limit in working days, and
  for `join-transfer` the existing flows it points to (`apply_links`). Code unique per
  federation.
- `service_events`: 文体活动 / 寒暑假看护点 sessions of an `events`-kind service, with a place,
  a date and places; `taken` moves only through `flexunion_take_service_place(event)` /
  `flexunion_release_service_place(event)` (one UPDATE each, so the cap holds under
  concurrency; SECURITY DEFINER because a worker may not update the event).
- `service_applications`: one application (申请) of a worker to a service, `tenant_id` the
  reviewing unit's tenant (the window), `filed_at` the station that took a walk-in
  (channel `walk_in`, `filed_by` its staff principal), the status (submitted / returned /
  approved / refused), the 补件 request (materials, note), the deadline (working days on the
  federation calendar; it restarts when a 补件 is answered) and the decision.
- `service_materials`: the files of an application (bytes in the evidence store, sha256).
- `worker_notifications` also tells a service application's decision (kind
  `service_application`, `application_id`; `case_id` is then NULL).

Sight (RLS, forced): the catalogue and events are read by the federation's staff and by
workers with a membership in the federation, written by HQ/regional admins in their subtree;
an application is read by its worker, by staff whose subtree holds its reviewing unit or the
station that filed it; its materials follow the application. Partners see none of it.

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
WORKER = "(SELECT flexunion_principal_worker())"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
ADMINS = f"({PRINCIPAL} ~ '^(hq_admin|regional_admin):' AND tenant_id = ANY {SCOPE})"
MEMBER_OF = ("EXISTS (SELECT 1 FROM members m WHERE m.worker_id = " + WORKER
             + " AND m.federation_id = {table}.federation_id AND m.status <> 'rejected')")
# Frozen copies of flexunion.services codes (migrations never import app code).
KINDS = ("application", "events", "join_transfer")
UNITS = ("station", "region", "hq")
STATUSES = ("submitted", "returned", "approved", "refused")
CHANNELS = ("app", "walk_in")
NOTICE_KINDS_BEFORE = ("case_status", "case_moved", "case_referred", "referral_accepted",
                       "referral_declined", "referral_closed", "referral_cancelled")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _tenancy(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{table}_tenant_id_in_federation"),
    ]


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


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


def _function(sql: str, signature: str, qa: str) -> None:
    op.execute(sql)
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {qa}")


def _notice_kinds(kinds: tuple[str, ...]) -> None:
    op.execute("ALTER TABLE worker_notifications DROP CONSTRAINT ck_worker_notifications_kind")
    op.execute("ALTER TABLE worker_notifications ADD CONSTRAINT ck_worker_notifications_kind"
               f" CHECK (kind IN {_in(kinds)})")


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    qa = _q(app)

    op.create_table(
        "service_catalogue", *_tenancy("service_catalogue"),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("summary_zh", sa.Text, nullable=False),
        sa.Column("eligibility", JSONB, nullable=False),
        sa.Column("materials", JSONB, nullable=False),
        sa.Column("reviewing_unit", sa.Text, nullable=False),
        sa.Column("time_limit_days", sa.Integer, nullable=False),
        sa.Column("apply_links", JSONB, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at"), _ts("updated_at"),
        sa.UniqueConstraint("federation_id", "code", name="uq_service_catalogue_code"),
        sa.CheckConstraint(f"kind IN {_in(KINDS)}", name="kind"),
        sa.CheckConstraint(f"reviewing_unit IN {_in(UNITS)}", name="reviewing_unit"),
        sa.CheckConstraint("time_limit_days BETWEEN 0 AND 365", name="time_limit"),
    )
    readers = f"({STAFF} AND federation_id = {FEDERATION}) OR "
    protect("service_catalogue", app, {
        "catalogue_read": ("SELECT:" + readers + MEMBER_OF.format(table="service_catalogue"),
                           None),
        "catalogue_insert": ("INSERT:", ADMINS),
        "catalogue_update": ("UPDATE:" + ADMINS, ADMINS),
    }, "SELECT, INSERT, UPDATE")

    op.create_table(
        "service_events", *_tenancy("service_events"),
        sa.Column("service_id", UUID(as_uuid=True), sa.ForeignKey("service_catalogue.id"),
                  nullable=False),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("place", sa.Text, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("places", sa.Integer, nullable=False),
        sa.Column("taken", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at"),
        sa.CheckConstraint("places > 0 AND taken BETWEEN 0 AND places", name="places"),
    )
    op.create_index("ix_service_events_service", "service_events", ["service_id", "starts_on"])
    protect("service_events", app, {
        "events_read": ("SELECT:" + readers + MEMBER_OF.format(table="service_events"), None),
        "events_insert": ("INSERT:", ADMINS),
        "events_update": ("UPDATE:" + ADMINS, ADMINS),
    }, "SELECT, INSERT, UPDATE (title_zh, title_en, place, starts_on, places)")
    # One place taken / given back, atomically (the row lock serialises concurrent sign-ups
    # and the WHERE is re-checked on the locked row): the cap holds whatever the load.
    _function(
        """CREATE FUNCTION flexunion_take_service_place(event uuid) RETURNS boolean
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          WITH taken AS (
            UPDATE service_events e SET taken = e.taken + 1
             WHERE e.id = event AND e.taken < e.places
               AND (e.federation_id = flexunion_federation()
                    OR EXISTS (SELECT 1 FROM members m
                                WHERE m.worker_id = flexunion_principal_worker()
                                  AND m.federation_id = e.federation_id
                                  AND m.status = 'active'))
            RETURNING 1)
          SELECT EXISTS (SELECT 1 FROM taken)
        $$""", "flexunion_take_service_place(uuid)", qa)
    _function(
        """CREATE FUNCTION flexunion_release_service_place(event uuid) RETURNS void
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          UPDATE service_events e SET taken = e.taken - 1
           WHERE e.id = event AND e.taken > 0 AND e.federation_id = flexunion_federation()
        $$""", "flexunion_release_service_place(uuid)", qa)

    op.create_table(
        "service_applications", *_tenancy("service_applications"),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("service_id", UUID(as_uuid=True), sa.ForeignKey("service_catalogue.id"),
                  nullable=False),
        sa.Column("event_id", UUID(as_uuid=True), sa.ForeignKey("service_events.id"),
                  nullable=True),
        sa.Column("worker_id", UUID(as_uuid=True), sa.ForeignKey("worker_accounts.id"),
                  nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("filed_at", UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("filed_by", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("requested", JSONB, nullable=False, server_default="[]"),
        sa.Column("request_note", sa.Text, nullable=True),
        _ts("requested_at", nullable=True),
        _ts("clock_started_at"),
        _ts("deadline_at"),
        sa.Column("decided_by", sa.Text, nullable=True),
        _ts("decided_at", nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        _ts("created_at"), _ts("updated_at"),
        sa.UniqueConstraint("federation_id", "number", name="uq_service_applications_number"),
        sa.CheckConstraint(f"status IN {_in(STATUSES)}", name="status"),
        sa.CheckConstraint(f"channel IN {_in(CHANNELS)}", name="channel"),
        sa.CheckConstraint("(channel = 'walk_in') = (filed_at IS NOT NULL)", name="walk_in"),
        sa.CheckConstraint("status <> 'refused' OR reason IS NOT NULL", name="refusal_reason"),
    )
    op.create_index("ix_service_applications_window", "service_applications",
                    ["tenant_id", "status", "deadline_at"])
    op.create_index("ix_service_applications_worker", "service_applications",
                    ["worker_id", "created_at"])
    op.create_index("ix_service_applications_filed_at", "service_applications", ["filed_at"])
    op.create_index("uq_service_applications_event_worker", "service_applications",
                    ["event_id", "worker_id"], unique=True,
                    postgresql_where=sa.text("event_id IS NOT NULL AND status <> 'refused'"))
    own = f"worker_id = {WORKER}"
    staff_sees = f"({STAFF} AND (tenant_id = ANY {SCOPE} OR filed_at = ANY {SCOPE}))"
    window = f"({STAFF} AND tenant_id = ANY {SCOPE})"
    protect("service_applications", app, {
        "applications_read": (f"SELECT:{own} OR {staff_sees}", None),
        "applications_worker_insert": ("INSERT:", f"{own} AND channel = 'app'"
                                                  f" AND filed_by = {PRINCIPAL}"),
        "applications_walk_in": ("INSERT:", f"{STAFF} AND channel = 'walk_in'"
                                            f" AND filed_at = ANY {SCOPE}"
                                            f" AND filed_by = {PRINCIPAL}"),
        # The worker answers a 补件 (returned → submitted, the clock restarted), no more.
        "applications_worker_answer": (f"UPDATE:{own} AND status = 'returned'",
                                       f"{own} AND status IN ('returned', 'submitted')"
                                       " AND decided_by IS NULL"),
        # The filing station hands in the member's 补件 at the counter: the same answer.
        "applications_filer_answer": (f"UPDATE:{STAFF} AND filed_at = ANY {SCOPE}"
                                      " AND status = 'returned'",
                                      f"{STAFF} AND filed_at = ANY {SCOPE}"
                                      " AND status IN ('returned', 'submitted')"
                                      " AND decided_by IS NULL"),
        "applications_window": ("UPDATE:" + window, window),
    }, "SELECT, INSERT, UPDATE (status, requested, request_note, requested_at,"
       " clock_started_at, deadline_at, decided_by, decided_at, reason, updated_at)")

    op.create_table(
        "service_materials", *_tenancy("service_materials"),
        sa.Column("application_id", UUID(as_uuid=True),
                  sa.ForeignKey("service_applications.id"), nullable=False),
        sa.Column("material", sa.Text, nullable=False),
        sa.Column("storage_key", sa.Text, nullable=False, unique=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("uploaded_by", sa.Text, nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_service_materials_application", "service_materials",
                    ["application_id", "created_at"])
    visible = ("EXISTS (SELECT 1 FROM service_applications a WHERE a.id = application_id"
               " AND a.tenant_id = service_materials.tenant_id)")
    protect("service_materials", app, {
        "materials_read": ("SELECT:" + visible, None),
        "materials_insert": ("INSERT:", f"uploaded_by = {PRINCIPAL} AND {visible}"),
    }, "SELECT, INSERT")

    # The worker's inbox tells an application's decision too.
    op.add_column("worker_notifications",
                  sa.Column("application_id", UUID(as_uuid=True),
                            sa.ForeignKey("service_applications.id"), nullable=True))
    op.alter_column("worker_notifications", "case_id", nullable=True)
    op.create_check_constraint("subject", "worker_notifications",
                               "num_nonnulls(case_id, application_id) = 1")
    _notice_kinds((*NOTICE_KINDS_BEFORE, "service_application"))
    op.execute(
        f"CREATE POLICY service_decision_insert ON worker_notifications FOR INSERT TO {qa}"
        f" WITH CHECK (created_by = {PRINCIPAL} AND sms = 'none' AND kind = 'service_application'"
        " AND EXISTS (SELECT 1 FROM service_applications a WHERE a.id = application_id"
        " AND a.worker_id = worker_notifications.worker_id))")


def downgrade() -> None:
    op.execute("DROP POLICY service_decision_insert ON worker_notifications")
    op.execute("DELETE FROM worker_notifications WHERE application_id IS NOT NULL")
    _notice_kinds(NOTICE_KINDS_BEFORE)
    op.drop_constraint("ck_worker_notifications_subject", "worker_notifications")
    op.alter_column("worker_notifications", "case_id", nullable=False)
    op.drop_column("worker_notifications", "application_id")
    for table in ("service_materials", "service_applications", "service_events",
                  "service_catalogue"):
        op.drop_table(table)
    for fn in ("flexunion_take_service_place(uuid)", "flexunion_release_service_place(uuid)"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
