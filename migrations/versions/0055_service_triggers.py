"""系统衔接 triggers: rules that map partners' events and weather warnings to actions (issue 17;
services/triggers/, docs/services.md).

- `service_trigger_rules`: a unit's (HQ's or a region's) rule set, versioned: each version has
  an `effective_from` day and its `rules` (JSON: on an event kind, conditions over its fields,
  actions). A region's latest version in effect applies to members homed in its subtree; where
  a region has none in effect, HQ's. Written by the owner (`flexunion tenants apply`,
  tenants/<fed>/service-triggers.yaml) and by HQ / regional admins for their own unit (a new
  version on edit; none is ever updated or deleted).
- `trigger_actions`: one row per (source, rule, action, target) — UNIQUE: a retried or re-run
  job, or an event re-sent ten times, makes one action and so one message. `tenant_id` is the
  member's home (a station for a station notice; the federation for an unmatched rider).
- `worker_notifications` gains `trigger_action_id` (the subject of kinds `join_invitation`,
  `service_offer`, `legal_information`), unique: one inbox row per action.

The job `system:jobs:service-triggers`, in its federation only, reads events, warnings and rule
sets, writes actions and their inbox rows, and opens assistance cases (its
own, source `event`); it works on people, so `flexunion_people_scope()` admits it (as 0054
admits `service-groups`).

Who sees actions: staff whose subtree holds the action's tenant (the station its notice), the
partner the invitation of its own unmatched rider (to relay it: the union holds no phone of a
rider who is not a member), never another partner; a worker reads its inbox rows only.

Revision ID: 0055
Revises: 0054
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0055"
down_revision = "0054"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
PARTNER = "(SELECT flexunion_partner())"
JOB = "system:jobs:service-triggers"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
ADMINS = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin):'"
IS_JOB = f"({PRINCIPAL} = '{JOB}' AND federation_id = {FEDERATION})"
ACTIONS = ("invite_join", "offer_service", "station_notice", "assistance_case")
NOTICE_KINDS_BEFORE = ("case_status", "case_moved", "case_referred", "referral_accepted",
                       "referral_declined", "referral_closed", "referral_cancelled",
                       "service_application")
NOTICE_KINDS = ("join_invitation", "service_offer", "legal_information")

PEOPLE_SYSTEM_OLD = ("^system:(auto-approve|auto-release|census|station-board"
                     "|jobs:auto-release|jobs:close-ballots|jobs:service-groups)$")
PEOPLE_SYSTEM_NEW = ("^system:(auto-approve|auto-release|census|station-board"
                     "|jobs:auto-release|jobs:close-ballots|jobs:service-groups"
                     "|jobs:service-triggers)$")
_P = "FROM (SELECT coalesce(current_setting('flexunion.principal', true), '') AS p) s"

JOB_POLICIES = (  # (table, name, command, using, check)
    ("platform_events", "triggers_job_read", "SELECT", IS_JOB, None),
    ("weather_warnings", "triggers_job_read", "SELECT", IS_JOB, None),
    ("assistance_policies", "triggers_job_read", "SELECT", IS_JOB, None),
    ("assistance_cases", "triggers_job_read", "SELECT",
     f"{IS_JOB} AND source = 'event'", None),
    ("assistance_cases", "triggers_job_open", "INSERT", None,
     f"{IS_JOB} AND source = 'event' AND step = 'applied' AND opened_by = {PRINCIPAL}"),
)


def _people_functions(people_system: str) -> list[str]:
    no_people = (f"p ~ '^(partner|hotline_operator):' OR (p ~ '^system:'"
                 f" AND p !~ '{people_system}')")
    return [f"""CREATE OR REPLACE FUNCTION flexunion_people_scope() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
          SELECT CASE WHEN {no_people} THEN '{{}}'::uuid[]
                      ELSE flexunion_tenant_scope() END {_P}
        $$""", f"""CREATE OR REPLACE FUNCTION flexunion_people_federation() RETURNS uuid
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
          SELECT CASE WHEN {no_people} THEN NULL
                      ELSE flexunion_federation() END {_P}
        $$"""]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _tenancy(table: str) -> list:
    return [
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
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


def _notice_kinds(kinds: tuple[str, ...]) -> None:
    op.execute("ALTER TABLE worker_notifications DROP CONSTRAINT ck_worker_notifications_kind")
    op.execute("ALTER TABLE worker_notifications ADD CONSTRAINT ck_worker_notifications_kind"
               f" CHECK (kind IN {_in(kinds)})")


def _subject(columns: str) -> None:
    op.execute("ALTER TABLE worker_notifications DROP CONSTRAINT ck_worker_notifications_subject")
    op.execute("ALTER TABLE worker_notifications ADD CONSTRAINT ck_worker_notifications_subject"
               f" CHECK (num_nonnulls({columns}) = 1)")


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    qa = _q(app)
    op.create_table(
        "service_trigger_rules", *_tenancy("service_trigger_rules"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("rules", JSONB, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version > 0", name="version"),
        sa.CheckConstraint("jsonb_typeof(rules) = 'array'", name="rules"),
        sa.UniqueConstraint("tenant_id", "version", name="uq_service_trigger_rules_version"),
    )
    protect("service_trigger_rules", app, {
        "read": (f"SELECT:({STAFF} AND federation_id = {FEDERATION}) OR {IS_JOB}", None),
        "admin_version": ("INSERT:", f"{ADMINS} AND tenant_id = ANY {SCOPE}"
                                     f" AND created_by = {PRINCIPAL}"),
    }, "SELECT, INSERT")

    op.create_table(
        "trigger_actions", *_tenancy("trigger_actions"),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_id", UUID(as_uuid=True), nullable=False),
        sa.Column("rule_code", sa.Text, nullable=False),
        sa.Column("rule_unit", UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("rule_version", sa.Integer, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=True),
        sa.Column("worker_id", UUID(as_uuid=True), sa.ForeignKey("worker_accounts.id"),
                  nullable=True),
        sa.Column("partner_id", UUID(as_uuid=True), sa.ForeignKey("platform_partners.id"),
                  nullable=True),
        sa.Column("rider_id", sa.Text, nullable=True),
        sa.Column("station_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("service_code", sa.Text, nullable=True),
        sa.Column("assistance_case_id", UUID(as_uuid=True),
                  sa.ForeignKey("assistance_cases.id"), nullable=True),
        sa.Column("delivery", sa.Text, nullable=False),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('platform_event', 'weather_warning')", name="source"),
        sa.CheckConstraint(f"action IN {_in(ACTIONS)}", name="action"),
        sa.CheckConstraint("delivery IN ('inbox', 'partner_relay', 'station')", name="delivery"),
        sa.UniqueConstraint("source_id", "rule_code", "action", "target",
                            name="uq_trigger_actions_once"),
    )
    op.create_index("ix_trigger_actions_tenant", "trigger_actions", ["tenant_id", "created_at"])
    protect("trigger_actions", app, {
        "read": (f"SELECT:({STAFF} AND tenant_id = ANY {SCOPE}) OR {IS_JOB}"
                 f" OR (partner_id = {PARTNER} AND delivery = 'partner_relay'"
                 f" AND federation_id = {FEDERATION})", None),
        "job_insert": ("INSERT:", f"{IS_JOB} AND created_by = {PRINCIPAL}"),
    }, "SELECT, INSERT")

    op.add_column("worker_notifications", sa.Column(
        "trigger_action_id", UUID(as_uuid=True), sa.ForeignKey("trigger_actions.id"),
        nullable=True))
    op.create_index("uq_worker_notifications_trigger_action", "worker_notifications",
                    ["trigger_action_id"], unique=True,
                    postgresql_where=sa.text("trigger_action_id IS NOT NULL"))
    _subject("case_id, application_id, trigger_action_id")
    _notice_kinds((*NOTICE_KINDS_BEFORE, *NOTICE_KINDS))
    op.execute(
        f"CREATE POLICY trigger_action_insert ON worker_notifications FOR INSERT TO {qa}"
        f" WITH CHECK ({PRINCIPAL} = '{JOB}' AND created_by = {PRINCIPAL} AND sms = 'none'"
        f" AND kind IN {_in(NOTICE_KINDS)}"
        " AND EXISTS (SELECT 1 FROM trigger_actions a WHERE a.id = trigger_action_id"
        " AND a.worker_id = worker_notifications.worker_id))")
    for table, name, command, using, check in JOB_POLICIES:
        sql = f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command} TO {qa}"
        if using:
            sql += f" USING ({using})"
        if check:
            sql += f" WITH CHECK ({check})"
        op.execute(sql)
    for sql in _people_functions(PEOPLE_SYSTEM_NEW):
        op.execute(sql)


def downgrade() -> None:
    for sql in _people_functions(PEOPLE_SYSTEM_OLD):
        op.execute(sql)
    for table, name, *_ in reversed(JOB_POLICIES):
        op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
    op.execute("DROP POLICY trigger_action_insert ON worker_notifications")
    op.execute("DELETE FROM worker_notifications WHERE trigger_action_id IS NOT NULL")
    _notice_kinds(NOTICE_KINDS_BEFORE)
    _subject("case_id, application_id")
    op.drop_index("uq_worker_notifications_trigger_action", "worker_notifications")
    op.drop_column("worker_notifications", "trigger_action_id")
    op.drop_table("trigger_actions")
    op.drop_table("service_trigger_rules")
