"""The demand ledger (需求清单): cases, their append-only handling events, coordination
assignments (会办单), evidence, the HQ's policy library (政策库) and the platforms allowed to
push hotline work orders (12351 工单平台). Also the `hotline_operator` staff role.

Who sees a case (row-level security):
- staff (hq_admin / regional_admin / station_officer / hotline_operator principals) whose
  subtree holds the case's tenant (the tenant where the worker works: the handling tenant;
  its ancestors see it too, since their subtree holds it);
- staff whose subtree holds a unit with an open assignment on the case (lead or assisting:
  `flexunion_case_units()`), while the assignment is open;
- the worker the case is about (`flexunion_principal_worker()`), never another worker;
- a platform partner whose platform has an open assignment on the case
  (`flexunion_case_partners()`), or that pushed it as a hotline platform; the worker is masked
  in what the API answers (cases/schemas.py);
- the holder of an anonymous suggestion's pick-up code (principal `pickup:<sha256>`).
An anonymous suggestion (channel `qr_suggestion`) stores no worker, member or contact
(a CHECK constraint): no row anywhere says who sent it, so not even HQ can see it.

`case_events` is append-only: the app role may INSERT and SELECT, never UPDATE or DELETE.

Closing the loop (回访复核): `case_followups` (one row per follow-up: 已解决 closes the case,
阶段推进 / 暂难解决 keep a next node, its due date and a responsible unit), `case_ratings` (the
worker's satisfaction, one per closing: UNIQUE (case_id, closing)) and the worker's own
UPDATE of a closed case (reopening, within the window the service checks). The worker's
inbox: `worker_notifications`, readable and markable only by that worker; written by whoever
changes the case's status (who must see the case, and the case must be that worker's);
`flexunion_notice_sms(id)` hands the notification's creator the worker's sealed phone once,
and only when the worker's latest `sms_notice` consent is granted.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer|hotline_operator):'"
HQ = f"({PRINCIPAL} ~ '^hq_admin:' AND tenant_id = ANY {SCOPE})"
PARTNER = "(SELECT flexunion_partner())"
WORKER = "(SELECT flexunion_principal_worker())"
CASE_VISIBLE = "EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id)"
ROLES_OLD = "('hq_admin', 'regional_admin', 'station_officer')"
ROLES_NEW = "('hq_admin', 'regional_admin', 'station_officer', 'hotline_operator')"

# Frozen copies of flexunion.cases.codes (migrations never import app code).
CHANNELS = ("app", "station", "visit", "hotline", "hotline_platform", "qr_suggestion",
            "followup")
OUTCOMES = ("resolved", "in_progress", "hard")
RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")
ENDED = "('answered', 'merged', 'closed')"
STATUSES = ("received", "assigned", "accepted", "returned", "answered", "merged",
            "followed_up", "closed", "reopened")
ROUTES = ("instant", "coordinate", "bargaining", "policy")
TIERS = ("general", "difficult", "complex")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True)


def _uuid(name: str, target: str | None = None, nullable: bool = False) -> sa.Column:
    if target is None:
        return sa.Column(name, UUID(as_uuid=True), nullable=nullable)
    return sa.Column(name, UUID(as_uuid=True), sa.ForeignKey(f"{target}.id"), nullable=nullable)


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


def _function(sql: str, signature: str, qa: str) -> None:
    op.execute(sql)
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {qa}")


def _roles(check: str) -> None:
    for table in ("admin_accounts", "console_sessions"):
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT ck_{table}_role")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_role CHECK (role IN {check})")


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    qa = _q(app)
    _roles(ROLES_NEW)

    # ---- the policy library (政策库) and the hotline platforms ------------------------------
    op.create_table(
        "case_policies", _id(), *_tenancy("case_policies"),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at"), _ts("updated_at"),
        sa.UniqueConstraint("federation_id", "code", name="uq_case_policies_federation_code"),
    )
    protect("case_policies", app, {
        "staff_read": (f"SELECT:{STAFF} AND (federation_id = {FEDERATION})", None),
        "hq_insert": ("INSERT:", HQ),
        "hq_update": ("UPDATE:" + HQ, HQ),
    }, "SELECT, INSERT, UPDATE (title_zh, title_en, source, body, url, active, updated_at)")

    op.create_table(
        "case_intake_partners", _id(), *_tenancy("case_intake_partners"),
        _uuid("partner_id", "platform_partners"),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at"),
        sa.CheckConstraint("kind IN ('hotline')", name="kind"),
        sa.UniqueConstraint("partner_id", "kind", name="uq_case_intake_partners_partner_id"),
    )
    protect("case_intake_partners", app, {
        "staff_or_partner_read": (f"SELECT:({STAFF} AND tenant_id = ANY {SCOPE})"
                                  f" OR partner_id = {PARTNER}", None),
        "hq_insert": ("INSERT:", HQ),
    }, "SELECT, INSERT")

    # ---- cases -------------------------------------------------------------------------------
    op.create_table(
        "cases", _id(), *_tenancy("cases"),
        sa.Column("case_no", sa.Text, nullable=False),
        _uuid("worker_id", "worker_accounts", nullable=True),
        _uuid("member_id", "members", nullable=True),
        sa.Column("is_member", sa.Boolean, nullable=False),
        sa.Column("contact", JSONB, nullable=False),
        _uuid("partner_id", "platform_partners", nullable=True),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("employment_form", sa.Text, nullable=True),
        sa.Column("tags", ARRAY(sa.Text), nullable=False),
        sa.Column("tier", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("place", JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("route", sa.Text, nullable=True),
        sa.Column("route_details", JSONB, nullable=False),
        sa.Column("agenda_item_id", UUID(as_uuid=True), sa.ForeignKey("agenda_items.id"),
                  nullable=True),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("merged_into_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=True),
        _uuid("intake_partner_id", "platform_partners", nullable=True),
        sa.Column("external_ref", sa.Text, nullable=True),
        sa.Column("intake_digest", sa.Text, nullable=True),
        sa.Column("pickup_hash", sa.Text, nullable=True),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at"), _ts("updated_at"), _ts("answered_at", nullable=True),
        # 回访复核: the closing, how often it was closed and reopened, the next node of a
        # follow-up that did not close it, the satisfaction of the current closing, and the
        # case a follow-up's new problem came from.
        _ts("closed_at", nullable=True), _ts("reopen_until", nullable=True),
        sa.Column("closings", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reopens", sa.Integer, nullable=False, server_default="0"),
        _ts("next_due_at", nullable=True),
        _uuid("next_unit_id", "tenants", nullable=True),
        sa.Column("satisfaction", sa.Text, nullable=True),
        sa.Column("source_case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=True),
        sa.CheckConstraint(f"channel IN {_in(CHANNELS)}", name="channel"),
        sa.CheckConstraint(f"satisfaction IS NULL OR satisfaction IN {_in(RATINGS)}",
                           name="satisfaction"),
        sa.CheckConstraint(f"status IN {_in(STATUSES)}", name="status"),
        sa.CheckConstraint(f"route IS NULL OR route IN {_in(ROUTES)}", name="route"),
        sa.CheckConstraint(f"tier IN {_in(TIERS)}", name="tier"),
        sa.CheckConstraint(
            "channel <> 'qr_suggestion' OR (worker_id IS NULL AND member_id IS NULL"
            " AND contact = '{}'::jsonb AND pickup_hash IS NOT NULL)", name="anonymous"),
        sa.CheckConstraint("(external_ref IS NULL) = (intake_partner_id IS NULL)",
                           name="external_ref"),
        sa.UniqueConstraint("federation_id", "case_no", name="uq_cases_federation_case_no"),
    )
    op.create_index("uq_cases_external_ref", "cases",
                    ["intake_partner_id", "external_ref"], unique=True,
                    postgresql_where=sa.text("external_ref IS NOT NULL"))
    op.create_index("uq_cases_pickup_hash", "cases", ["pickup_hash"], unique=True,
                    postgresql_where=sa.text("pickup_hash IS NOT NULL"))
    op.create_index("ix_cases_tenant_created", "cases", ["tenant_id", "created_at", "id"])
    op.create_index("ix_cases_worker", "cases", ["worker_id", "created_at", "id"])
    op.create_index("ix_cases_open_dupes", "cases", ["worker_id", "category"],
                    postgresql_where=sa.text(f"status NOT IN {ENDED}"))
    # 退回件 (the returned list, newest return first) and the open cases (the overdue list's
    # helper query), each one ordered range per tenant of the scope.
    op.create_index("ix_cases_returned", "cases", ["tenant_id", "updated_at", "id"],
                    postgresql_where=sa.text("status = 'returned'"))
    op.create_index("ix_cases_open", "cases", ["tenant_id", "created_at", "id"],
                    postgresql_where=sa.text(f"status NOT IN {ENDED}"))

    op.create_table(
        "case_assignments", _id(), *_tenancy("case_assignments"),
        _uuid("case_id", "cases"),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        _uuid("unit_tenant_id", "tenants", nullable=True),
        _uuid("unit_partner_id", "platform_partners", nullable=True),
        sa.Column("evidence_required", ARRAY(sa.Text), nullable=False),
        _ts("feedback_due_at", nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("feedback", sa.Text, nullable=True),
        sa.Column("assigned_by", sa.Text, nullable=False),
        _ts("assigned_at"), _ts("accepted_at", nullable=True), _ts("ended_at", nullable=True),
        sa.Column("end_reason", sa.Text, nullable=True),
        sa.CheckConstraint("role IN ('lead', 'assist')", name="role"),
        sa.CheckConstraint("(unit_tenant_id IS NULL) <> (unit_partner_id IS NULL)", name="unit"),
        sa.CheckConstraint("role = 'assist' OR unit_tenant_id IS NOT NULL", name="lead_unit"),
        sa.CheckConstraint("status IN ('assigned', 'accepted', 'answered', 'returned',"
                           " 'reassigned', 'closed')", name="status"),
    )
    op.create_index("ix_case_assignments_case", "case_assignments", ["case_id", "seq"])
    op.create_index("uq_case_assignments_one_lead", "case_assignments", ["case_id"],
                    unique=True, postgresql_where=sa.text("role = 'lead' AND ended_at IS NULL"))
    op.create_index("ix_case_assignments_open_tenant", "case_assignments", ["unit_tenant_id"],
                    postgresql_where=sa.text("ended_at IS NULL"))
    op.create_index("ix_case_assignments_open_partner", "case_assignments", ["unit_partner_id"],
                    postgresql_where=sa.text("ended_at IS NULL"))

    # Owner-owned readers of the open assignments, so the cases policy does not recurse
    # through case_assignments' own policy (which reads cases).
    _function(
        f"""CREATE FUNCTION flexunion_case_units() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT coalesce(array_agg(DISTINCT case_id), '{{}}') FROM case_assignments
           WHERE ended_at IS NULL AND unit_tenant_id = ANY (flexunion_tenant_scope())
             AND {STAFF}
        $$""", "flexunion_case_units()", qa)
    _function(
        """CREATE FUNCTION flexunion_case_partners() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT coalesce(array_agg(DISTINCT case_id), '{}') FROM case_assignments
           WHERE ended_at IS NULL AND unit_partner_id = flexunion_partner()
        $$""", "flexunion_case_partners()", qa)
    # The anonymous suggestion link: a station by code (no tenant row is visible to an
    # anonymous caller) and how many suggestions it took since a moment (the rate limit).
    _function(
        """CREATE FUNCTION flexunion_suggestion_station(station text)
        RETURNS TABLE (id uuid, federation_id uuid, name_zh text, name_en text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT t.id, t.federation_id, t.name_zh, t.name_en FROM tenants t
           WHERE t.code = station AND t.kind = 'station'
        $$""", "flexunion_suggestion_station(text)", qa)
    _function(
        """CREATE FUNCTION flexunion_suggestions_since(station uuid, since timestamptz)
        RETURNS bigint
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT count(*) FROM cases
           WHERE tenant_id = station AND channel = 'qr_suggestion' AND created_at >= since
        $$""", "flexunion_suggestions_since(uuid, timestamptz)", qa)

    staff_own = f"({STAFF} AND tenant_id = ANY {SCOPE})"
    staff_unit = f"({STAFF} AND id = ANY ((SELECT flexunion_case_units())::uuid[]))"
    read = " OR ".join((
        staff_own, staff_unit, f"worker_id = {WORKER}",
        "id = ANY ((SELECT flexunion_case_partners())::uuid[])",
        f"(intake_partner_id = {PARTNER} AND federation_id = {FEDERATION})",
        f"(pickup_hash IS NOT NULL AND {PRINCIPAL} = 'pickup:' || pickup_hash)",
    ))
    insert = " OR ".join((
        f"({staff_own} AND channel IN ('station', 'visit', 'hotline', 'followup'))",
        f"(worker_id = {WORKER} AND channel = 'app')",
        f"(channel = 'hotline_platform' AND intake_partner_id = {PARTNER}"
        f" AND federation_id = {FEDERATION})",
        f"(channel = 'qr_suggestion' AND {PRINCIPAL} = 'pickup:' || pickup_hash)",
    ))
    protect("cases", app, {
        "read": ("SELECT:" + read, None),
        "insert": ("INSERT:", insert),
        "staff_update": (f"UPDATE:{staff_own} OR {staff_unit}", f"{staff_own} OR {staff_unit}"),
        # The worker rates a closed case of their own, or reopens it.
        "worker_update": (f"UPDATE:worker_id = {WORKER} AND status = 'closed'",
                          f"worker_id = {WORKER} AND status IN ('closed', 'reopened')"),
    }, "SELECT, INSERT, UPDATE (status, route, route_details, agenda_item_id, answer,"
       " merged_into_id, updated_at, answered_at, tier, closed_at, closings, reopens,"
       " next_due_at, next_unit_id, satisfaction, reopen_until)")

    op.create_table(
        "case_events", _id(), *_tenancy("case_events"),
        _uuid("case_id", "cases"),
        sa.Column("kind", sa.Text, nullable=False),
        _ts("at"),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("details", JSONB, nullable=False),
        sa.CheckConstraint("actor <> ''", name="actor_named"),
    )
    op.create_index("ix_case_events_case", "case_events", ["case_id", "at", "id"])
    protect("case_events", app, {
        "read": (f"SELECT:{CASE_VISIBLE}", None),
        "append_as_self": ("INSERT:", f"actor = {PRINCIPAL} AND {CASE_VISIBLE}"),
    }, "SELECT, INSERT")

    not_partner = f"{PRINCIPAL} !~ '^partner:'"
    protect("case_assignments", app, {
        "read": (f"SELECT:{CASE_VISIBLE}", None),
        "staff_insert": ("INSERT:", f"{STAFF} AND {CASE_VISIBLE}"),
        "unit_update": (
            f"UPDATE:({STAFF} AND ({CASE_VISIBLE} OR unit_tenant_id = ANY {SCOPE}))"
            f" OR unit_partner_id = {PARTNER}",
            f"({STAFF} AND {CASE_VISIBLE}) OR unit_partner_id = {PARTNER}"),
    }, "SELECT, INSERT, UPDATE (status, feedback, accepted_at, ended_at, end_reason)")

    op.create_table(
        "case_attachments", _id(), *_tenancy("case_attachments"),
        _uuid("case_id", "cases"),
        sa.Column("storage_key", sa.Text, nullable=False, unique=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("uploaded_by", sa.Text, nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_case_attachments_case", "case_attachments", ["case_id"])
    _followups(app, qa)
    protect("case_attachments", app, {
        "read": (f"SELECT:{CASE_VISIBLE} AND {not_partner}", None),
        "insert_as_self": ("INSERT:", f"uploaded_by = {PRINCIPAL} AND {CASE_VISIBLE}"
                                      f" AND {not_partner}"),
    }, "SELECT, INSERT")


def _followups(app: str, qa: str) -> None:
    """回访复核, satisfaction and the worker's inbox."""
    not_partner = f"{PRINCIPAL} !~ '^partner:'"
    op.create_table(
        "case_followups", _id(), *_tenancy("case_followups"),
        _uuid("case_id", "cases"),
        sa.Column("closing", sa.Integer, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("worker_informed", sa.Boolean, nullable=False),
        sa.Column("worker_accepts", sa.Boolean, nullable=False),
        sa.Column("new_problem", sa.Text, nullable=True),
        sa.Column("new_case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("next_node", sa.Text, nullable=True),
        _ts("next_due_at", nullable=True),
        _uuid("responsible_tenant_id", "tenants", nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("by", sa.Text, nullable=False),
        _ts("at"),
        sa.CheckConstraint(f"outcome IN {_in(OUTCOMES)}", name="outcome"),
        sa.CheckConstraint("outcome = 'resolved' OR (next_node IS NOT NULL AND next_due_at IS"
                           " NOT NULL AND responsible_tenant_id IS NOT NULL)", name="next_node"),
    )
    op.create_index("ix_case_followups_case", "case_followups", ["case_id", "at", "id"])
    protect("case_followups", app, {
        "read": (f"SELECT:{CASE_VISIBLE} AND {not_partner}", None),
        "staff_insert": ("INSERT:", f"{STAFF} AND by = {PRINCIPAL} AND {CASE_VISIBLE}"),
    }, "SELECT, INSERT")

    op.create_table(
        "case_ratings", _id(), *_tenancy("case_ratings"),
        _uuid("case_id", "cases"),
        sa.Column("closing", sa.Integer, nullable=False),
        _uuid("worker_id", "worker_accounts"),
        sa.Column("rating", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        _ts("at"),
        sa.CheckConstraint(f"rating IN {_in(RATINGS)}", name="rating"),
        sa.UniqueConstraint("case_id", "closing", name="uq_case_ratings_case_closing"),
    )
    protect("case_ratings", app, {
        "read": (f"SELECT:{CASE_VISIBLE} AND {not_partner}", None),
        "worker_insert": ("INSERT:", f"worker_id = {WORKER} AND {CASE_VISIBLE}"),
    }, "SELECT, INSERT")

    op.create_table(
        "worker_notifications", _id(), *_tenancy("worker_notifications"),
        _uuid("worker_id", "worker_accounts"),
        _uuid("case_id", "cases"),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("case_no", sa.Text, nullable=False),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("sms", sa.Text, nullable=False, server_default="none"),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at"), _ts("read_at", nullable=True),
        sa.CheckConstraint("kind IN ('case_status')", name="kind"),
        sa.CheckConstraint("sms IN ('none', 'queued')", name="sms"),
    )
    op.create_index("ix_worker_notifications_worker", "worker_notifications",
                    ["worker_id", "created_at", "id"])
    own = f"worker_id = {WORKER}"
    protect("worker_notifications", app, {
        "own_read": ("SELECT:" + own, None),
        "own_mark_read": ("UPDATE:" + own, own),
        "case_change_insert": ("INSERT:", f"created_by = {PRINCIPAL} AND sms = 'none' AND EXISTS"
                                          " (SELECT 1 FROM cases c WHERE c.id = case_id"
                                          " AND c.worker_id = worker_notifications.worker_id)"),
    }, "SELECT, INSERT, UPDATE (read_at)")
    # The notification's creator, in its own transaction's work, may have the worker's
    # sealed phone once, when the worker's latest sms_notice consent is a grant.
    _function(
        """CREATE FUNCTION flexunion_notice_sms(notification uuid) RETURNS bytea
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          UPDATE worker_notifications n SET sms = 'queued'
           WHERE n.id = notification AND n.sms = 'none'
             AND n.created_by = flexunion_principal()
             AND coalesce((SELECT c.granted FROM worker_consents c
                            WHERE c.worker_id = n.worker_id AND c.purpose = 'sms_notice'
                            ORDER BY c.created_at DESC, c.id LIMIT 1), false)
          RETURNING (SELECT w.phone_cipher FROM worker_accounts w WHERE w.id = n.worker_id)
        $$""", "flexunion_notice_sms(uuid)", qa)
    # A registered 12351 platform links a work order to a member by number (partners read no
    # members otherwise: migration 0016).
    _function(
        """CREATE FUNCTION flexunion_hotline_member(federation uuid, number text)
        RETURNS TABLE (id uuid, worker_id uuid, status text, name_masked text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT m.id, m.worker_id, m.status, m.name_masked FROM members m
           WHERE m.federation_id = federation AND m.member_no = number
             AND EXISTS (SELECT 1 FROM case_intake_partners p
                          WHERE p.partner_id = flexunion_partner() AND p.kind = 'hotline'
                            AND p.federation_id = federation)
        $$""", "flexunion_hotline_member(uuid, text)", qa)


def downgrade() -> None:
    for fn in ("flexunion_notice_sms(uuid)", "flexunion_hotline_member(uuid, text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    for table in ("worker_notifications", "case_ratings", "case_followups"):
        op.drop_table(table)
    for table in ("case_attachments", "case_events", "case_assignments", "cases",
                  "case_intake_partners", "case_policies"):
        op.drop_table(table)
    for fn in ("flexunion_case_units()", "flexunion_case_partners()",
               "flexunion_suggestion_station(text)",
               "flexunion_suggestions_since(uuid, timestamptz)"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    _roles(ROLES_OLD)
