"""分层分类: partners' events, weather warnings, work signals and service groups (issue 17;
services/events/, services/groups/, docs/services.md).

- `members` gains `birth_month` (the first day of the birth month) and `sex` ('F' / 'M'),
  derived from the resident ID at join (membership/identity.py) and backfilled for existing
  members by `flexunion services backfill-demographics` (through the keyring, not here):
  the 女骑手 and 大龄 groups need no more than that. A GIN index on `platforms` finds a
  member by a partner's rider id.
- `platform_events`: what a platform partner pushed (worker registered / deregistered, shift
  worked, injury reported), append-only, one row per (partner, event_id). `tenant_id` is the
  member's home when the rider id matched one, else the federation (unmatched).
- `work_signals`: one row per shift event of a matched member (day, hours, night and heat
  hours, zone), written by the partner's request in the event's transaction.
- `weather_warnings`: official warnings a region loaded (file or staff API).
- `service_group_rules`: each group's rule parameters and the service codes it offers, per
  federation (tenants/<fed>/service-groups.yaml, written by the owner only).
- `member_groups`: materialised membership of groups: since / until, and why.

Functions (SECURITY DEFINER, owner-owned):
  flexunion_partner_rider(rider)   (member_id, tenant_id) of the calling partner's rider in
                                   its federation (members.platforms), for partners only
  flexunion_my_service_offers()    the service codes the calling worker's open groups offer:
                                   codes only, never the group

Who sees what (row-level security, forced):
- a partner its own events and signals, nothing else of this; it writes only its own, and
  only the member its rider id names (the function re-checked in the policy);
- union staff events and signals of members homed in their subtree (unmatched events: HQ),
  weather warnings loaded in their subtree or by their parent region, group rules of their
  federation, and member groups of members homed in their subtree — except `hardship` rows,
  which only regional admins and station officers of the member's home region read
  (`region_id`), never HQ, a hotline operator, a partner or a worker;
- the job `system:jobs:service-groups` everything of these tables in its federation; it
  works on people, so `flexunion_people_scope()` / `flexunion_people_federation()` admit it
  as 0027 admits the transfer and ballot jobs (members, their transfers); it writes groups;
- workers none of these tables (their offers through the function).

Revision ID: 0054
Revises: 0053
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0054"
down_revision = "0053"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PEOPLE = "((SELECT flexunion_people_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
PARTNER = "(SELECT flexunion_partner())"
JOB = "system:jobs:service-groups"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
ADMINS = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin):'"
HOME_STAFF = f"{PRINCIPAL} ~ '^(regional_admin|station_officer):'"
IS_JOB = f"({PRINCIPAL} = '{JOB}' AND federation_id = {FEDERATION})"
CALLER_PARENT = ("(SELECT t.parent_id FROM tenants t WHERE t.id ="
                 " nullif(current_setting('flexunion.tenant_id', true), '')::uuid)")
KINDS = ("worker_registered", "worker_deregistered", "shift_worked", "injury_reported")
WARNINGS = ("heat", "cold", "storm")
GROUPS = ("new-registration", "night-heat-outdoor", "women", "cross-city", "hardship", "older")


# As 0027 made them, with the groups job added.
PEOPLE_SYSTEM_OLD = ("^system:(auto-approve|auto-release|census|station-board"
                     "|jobs:auto-release|jobs:close-ballots)$")
PEOPLE_SYSTEM_NEW = ("^system:(auto-approve|auto-release|census|station-board"
                     "|jobs:auto-release|jobs:close-ballots|jobs:service-groups)$")
_P = "FROM (SELECT coalesce(current_setting('flexunion.principal', true), '') AS p) s"


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


def _grant(app: str, fn: str) -> None:
    op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO {_q(app)}")


def _rider_function(app: str) -> None:
    op.execute(
        """CREATE FUNCTION flexunion_partner_rider(rider text)
        RETURNS TABLE (member_id uuid, tenant_id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT m.id, m.tenant_id FROM members m
            JOIN platform_partners p ON p.id = (SELECT flexunion_partner())
                                    AND p.tenant_id = m.federation_id
           WHERE flexunion_principal() ~ '^partner:'
             AND m.federation_id = (SELECT flexunion_federation())
             AND m.platforms @> jsonb_build_array(jsonb_build_object(
                   'partner', p.code, 'platform_worker_id', rider))
             AND m.status <> 'rejected'
           LIMIT 1
        $$""")
    _grant(app, "flexunion_partner_rider(text)")


def _offers_function(app: str) -> None:
    op.execute(
        """CREATE FUNCTION flexunion_my_service_offers() RETURNS text[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT coalesce(array_agg(DISTINCT o ORDER BY o), '{}') FROM members m
            JOIN member_groups g ON g.member_id = m.id AND g.until IS NULL
            JOIN service_group_rules r ON r.federation_id = m.federation_id
                                      AND r.code = g.group_code
            CROSS JOIN LATERAL unnest(r.offers) AS o
           WHERE 'worker:' || m.worker_id::text = current_setting('flexunion.principal', true)
             AND m.status = 'active'
        $$""")
    _grant(app, "flexunion_my_service_offers()")


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    op.add_column("members", sa.Column("birth_month", sa.Date, nullable=True))
    op.add_column("members", sa.Column("sex", sa.Text, nullable=True))
    op.create_check_constraint("sex", "members", "sex IN ('F', 'M')")
    op.create_check_constraint("birth_month_first_day", "members",
                               "birth_month IS NULL OR extract(day FROM birth_month) = 1")
    op.execute("CREATE INDEX ix_members_platforms ON members USING gin"
               " (platforms jsonb_path_ops)")
    _rider_function(app)

    op.create_table(
        "platform_events",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("platform_events"),
        sa.Column("partner_id", UUID(as_uuid=True), sa.ForeignKey("platform_partners.id"),
                  nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("rider_id", sa.Text, nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("received_by", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN {_in(KINDS)}", name="kind"),
        sa.CheckConstraint("member_id IS NOT NULL OR tenant_id = federation_id",
                           name="unmatched_at_federation"),
        sa.UniqueConstraint("partner_id", "event_id", name="uq_platform_events_partner_event"),
    )
    op.create_index("ix_platform_events_member", "platform_events", ["member_id", "occurred_at"])
    op.create_index("ix_platform_events_tenant", "platform_events", ["tenant_id", "received_at"])
    rider_ok = ("(member_id IS NULL AND tenant_id = federation_id) OR EXISTS (SELECT 1 FROM"
                " flexunion_partner_rider(rider_id) r WHERE r.member_id = platform_events.member_id"
                " AND r.tenant_id = platform_events.tenant_id)")
    protect("platform_events", app, {
        "read": (f"SELECT:(partner_id = {PARTNER} AND federation_id = {FEDERATION})"
                 f" OR ({STAFF} AND tenant_id = ANY {PEOPLE}) OR {IS_JOB}", None),
        "partner_push": ("INSERT:", f"partner_id = {PARTNER} AND federation_id = {FEDERATION}"
                                    f" AND received_by = {PRINCIPAL} AND ({rider_ok})"),
    }, "SELECT, INSERT")

    op.create_table(
        "work_signals",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("work_signals"),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("partner_id", UUID(as_uuid=True), sa.ForeignKey("platform_partners.id"),
                  nullable=False),
        sa.Column("event_ref", UUID(as_uuid=True), sa.ForeignKey("platform_events.id"),
                  nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("hours", sa.Numeric(5, 2), nullable=False),
        sa.Column("night_hours", sa.Numeric(5, 2), nullable=False),
        sa.Column("heat_hours", sa.Numeric(5, 2), nullable=False),
        sa.Column("zone_code", sa.Text, nullable=True),
        sa.CheckConstraint("hours >= 0 AND hours <= 24 AND night_hours >= 0 AND heat_hours >= 0"
                           " AND night_hours <= hours AND heat_hours <= hours", name="hours"),
        sa.UniqueConstraint("event_ref", name="uq_work_signals_event_ref"),
    )
    op.create_index("ix_work_signals_member_day", "work_signals", ["member_id", "day"])
    same_event = ("EXISTS (SELECT 1 FROM platform_events e WHERE e.id = event_ref"
                  f" AND e.partner_id = {PARTNER} AND e.member_id = work_signals.member_id"
                  " AND e.tenant_id = work_signals.tenant_id)")
    protect("work_signals", app, {
        "read": (f"SELECT:(partner_id = {PARTNER} AND federation_id = {FEDERATION})"
                 f" OR ({STAFF} AND tenant_id = ANY {PEOPLE}) OR {IS_JOB}", None),
        "partner_push": ("INSERT:", f"partner_id = {PARTNER} AND federation_id = {FEDERATION}"
                                    f" AND {same_event}"),
    }, "SELECT, INSERT")

    op.create_table(
        "weather_warnings",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("weather_warnings"),
        sa.Column("source_ref", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("area_codes", ARRAY(sa.Text), nullable=False),
        sa.Column("polygon", JSONB, nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.Text, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN {_in(WARNINGS)}", name="kind"),
        sa.CheckConstraint("valid_to > valid_from", name="valid"),
        sa.CheckConstraint("cardinality(area_codes) > 0 OR polygon IS NOT NULL", name="area"),
        sa.UniqueConstraint("tenant_id", "source_ref", name="uq_weather_warnings_tenant_id"),
    )
    protect("weather_warnings", app, {
        "read": (f"SELECT:({STAFF} AND (tenant_id = ANY {SCOPE} OR tenant_id = {CALLER_PARENT}))"
                 f" OR {IS_JOB}", None),
        "staff_load": ("INSERT:", f"{ADMINS} AND tenant_id = ANY {SCOPE}"
                                  f" AND loaded_by = {PRINCIPAL}"),
    }, "SELECT, INSERT")

    op.create_table(
        "service_group_rules",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("service_group_rules"),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("parameters", JSONB, nullable=False),
        sa.Column("offers", ARRAY(sa.Text), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"code IN {_in(GROUPS)}", name="code"),
        sa.CheckConstraint("tenant_id = federation_id", name="at_federation"),
        sa.UniqueConstraint("federation_id", "code", name="uq_service_group_rules_federation_id"),
    )
    protect("service_group_rules", app, {
        "read": (f"SELECT:({STAFF} AND federation_id = {FEDERATION}) OR {IS_JOB}", None),
    }, "SELECT")

    op.create_table(
        "member_groups",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("member_groups"),
        sa.Column("region_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("group_code", sa.Text, nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("why", JSONB, nullable=False),
        sa.Column("ended_why", JSONB, nullable=True),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.CheckConstraint(f"group_code IN {_in(GROUPS)}", name="group_code"),
        sa.CheckConstraint("until IS NULL OR until >= since", name="until"),
    )
    op.execute("CREATE UNIQUE INDEX uq_member_groups_open ON member_groups"
               " (member_id, group_code) WHERE until IS NULL")
    op.create_index("ix_member_groups_list", "member_groups",
                    ["federation_id", "group_code", "tenant_id"],
                    postgresql_where=sa.text("until IS NULL"))
    home_region = f"(region_id = ANY {SCOPE} OR region_id = {CALLER_PARENT})"
    sight = (f"(group_code <> 'hardship' AND {STAFF} AND tenant_id = ANY {PEOPLE})"
             f" OR (group_code = 'hardship' AND {HOME_STAFF} AND {home_region})")
    write = f"{IS_JOB} OR ({STAFF} AND tenant_id = ANY {PEOPLE} AND updated_by = {PRINCIPAL})"
    protect("member_groups", app, {
        "read": (f"SELECT:{sight} OR {IS_JOB}", None),
        "write": ("INSERT:", write),
        "change": (f"UPDATE:{sight} OR {IS_JOB}", write),
    }, "SELECT, INSERT, UPDATE")
    _offers_function(app)
    # The job works on people (members, their transfers): it joins the system principals
    # flexunion_people_scope() admits (0027). A policy of its own on members would be OR-ed
    # into every members query and cost the name search its index-only plan.
    for sql in _people_functions(PEOPLE_SYSTEM_NEW):
        op.execute(sql)


def downgrade() -> None:
    for sql in _people_functions(PEOPLE_SYSTEM_OLD):
        op.execute(sql)
    op.execute("DROP FUNCTION IF EXISTS flexunion_my_service_offers()")
    for table in ("member_groups", "service_group_rules", "weather_warnings", "work_signals",
                  "platform_events"):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS flexunion_partner_rider(text)")
    op.execute("DROP INDEX IF EXISTS ix_members_platforms")
    op.drop_constraint("birth_month_first_day", "members", type_="check")
    op.drop_constraint("sex", "members", type_="check")
    op.drop_column("members", "sex")
    op.drop_column("members", "birth_month")
