"""劳动规则与算法公示: the platform rules register (contracts/rules/, docs/platform-rules.md).

- `platform_rules`: one entry per platform partner and rule (`code` unique per partner): its
  category (派单, 收入与抽成, 工作时长与休息, 时间预估与路线规划, 考核与奖惩, 封禁/限制接单依据,
  自动化监控), its title. `tenant_id` is where it was filed: the federation (HQ) for a partner's
  filing, the recording union for an entry staff copied from what the platform published
  elsewhere.
- `platform_rule_versions`: append-only versions of an entry: the text (Chinese), typed
  parameters, the date it takes effect, the partner's stated reason for a change, where it came
  from (`partner_api`, or `published` with the source noted), the bargaining topics it touches,
  the notice it was given (`notified_on`, `earliest_effective` — the notice period in working
  days on the federation's calendar — and `short_notice`, set only on a staff-recorded change
  the platform made without that notice), and the agenda item opened for consultation
  (`consultation_item_id`, DEFERRABLE: the version is written first and names the item the
  same transaction then creates).

Who sees them (row-level security, forced):
- union staff (hq_admin / regional_admin / station_officer) of the federation, every entry of
  every partner: a platform's rules apply across the federation, so the register is
  federation-wide (a region's subtree holds no partner); staff write (record) only as HQ or
  regional admins, in their own subtree, with the source noted;
- a platform partner its own register only (`partner_id = flexunion_partner()`), and it files
  into its own only, at the federation, as itself;
- a worker the rules of the platforms its active membership names (`members.platforms`:
  `flexunion_member_platforms()`): public texts, nothing personal.
- agenda_items gain `partner_consultation_insert`: a partner may put on the board only an item
  addressed to itself, federation-wide, `on_agenda`, created by itself, that a version it filed
  names as its consultation item.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
PARTNER = "(SELECT flexunion_partner())"
PLATFORMS = "((SELECT flexunion_member_platforms())::uuid[])"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
RECORDERS = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin):'"
READ = (f"({STAFF} AND federation_id = {FEDERATION}) OR partner_id = {PARTNER}"
        f" OR partner_id = ANY {PLATFORMS}")
IN_FEDERATION = ("EXISTS (SELECT 1 FROM platform_partners p WHERE p.id = partner_id"
                 " AND p.tenant_id = federation_id)")
# Frozen copy of flexunion.contracts.rules.categories (migrations never import app code).
CATEGORIES = ("order_allocation", "pay_commission", "working_time_rest",
              "time_estimates_routes", "assessment_rewards_penalties", "deactivation",
              "monitoring")
SOURCES = ("partner_api", "published")


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


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    op.execute(
        """CREATE FUNCTION flexunion_member_platforms() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT coalesce(array_agg(DISTINCT p.id), '{}') FROM members m
            CROSS JOIN LATERAL jsonb_array_elements(m.platforms) AS link
            JOIN platform_partners p ON p.tenant_id = m.federation_id
                                    AND p.code = link->>'partner'
           WHERE 'worker:' || m.worker_id::text = current_setting('flexunion.principal', true)
             AND m.status = 'active'
        $$""")
    op.execute("REVOKE ALL ON FUNCTION flexunion_member_platforms() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION flexunion_member_platforms() TO {_q(app)}")

    op.create_table(
        "platform_rules",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("platform_rules"),
        sa.Column("partner_id", UUID(as_uuid=True), sa.ForeignKey("platform_partners.id"),
                  nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=True),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"category IN {_in(CATEGORIES)}", name="category"),
        sa.CheckConstraint("code ~ '^[a-z0-9][a-z0-9-]{1,62}$'", name="code_format"),
        sa.UniqueConstraint("partner_id", "code", name="uq_platform_rules_partner_code"),
    )
    op.create_index("ix_platform_rules_partner_category", "platform_rules",
                    ["partner_id", "category"])
    protect("platform_rules", app, {
        "register_read": (f"SELECT:{READ}", None),
        "partner_file": ("INSERT:", f"partner_id = {PARTNER} AND tenant_id = federation_id"
                                    f" AND federation_id = {FEDERATION}"
                                    f" AND created_by = {PRINCIPAL}"),
        "staff_record": ("INSERT:", f"{RECORDERS} AND tenant_id = ANY {SCOPE}"
                                    f" AND created_by = {PRINCIPAL} AND {IN_FEDERATION}"),
    }, "SELECT, INSERT")

    op.create_table(
        "platform_rule_versions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("platform_rule_versions"),
        sa.Column("rule_id", UUID(as_uuid=True), sa.ForeignKey("platform_rules.id"),
                  nullable=False),
        sa.Column("partner_id", UUID(as_uuid=True), sa.ForeignKey("platform_partners.id"),
                  nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("text_zh", sa.Text, nullable=False),
        sa.Column("text_en", sa.Text, nullable=True),
        sa.Column("parameters", JSONB, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_note", sa.Text, nullable=True),
        sa.Column("topics", ARRAY(sa.Text), nullable=False),
        sa.Column("notice_days", sa.Integer, nullable=True),
        sa.Column("notified_on", sa.Date, nullable=False),
        sa.Column("earliest_effective", sa.Date, nullable=True),
        sa.Column("short_notice", sa.Boolean, nullable=False),
        sa.Column("consultation_item_id", UUID(as_uuid=True),
                  sa.ForeignKey("agenda_items.id", deferrable=True, initially="DEFERRED"),
                  nullable=True),
        sa.Column("filed_by", sa.Text, nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name="version"),
        sa.CheckConstraint("version = 1 OR reason IS NOT NULL", name="change_has_reason"),
        sa.CheckConstraint(f"source IN {_in(SOURCES)}", name="source"),
        sa.CheckConstraint("source <> 'published' OR source_note IS NOT NULL",
                           name="published_source_noted"),
        sa.CheckConstraint("source = 'published' OR NOT short_notice",
                           name="short_notice_only_recorded"),
        sa.UniqueConstraint("rule_id", "version", name="uq_platform_rule_versions_rule_id"),
        sa.UniqueConstraint("consultation_item_id",
                            name="uq_platform_rule_versions_consultation_item_id"),
    )
    op.create_index("ix_platform_rule_versions_partner_effective", "platform_rule_versions",
                    ["partner_id", "effective_from"])
    same_rule = ("EXISTS (SELECT 1 FROM platform_rules r WHERE r.id = rule_id"
                 " AND r.partner_id = platform_rule_versions.partner_id"
                 " AND r.federation_id = platform_rule_versions.federation_id)")
    protect("platform_rule_versions", app, {
        "register_read": (f"SELECT:{READ}", None),
        "partner_file": ("INSERT:", f"partner_id = {PARTNER} AND tenant_id = federation_id"
                                    f" AND federation_id = {FEDERATION}"
                                    f" AND filed_by = {PRINCIPAL} AND source = 'partner_api'"
                                    f" AND NOT short_notice AND {same_rule}"),
        "staff_record": ("INSERT:", f"{RECORDERS} AND tenant_id = ANY {SCOPE}"
                                    f" AND filed_by = {PRINCIPAL} AND source = 'published'"
                                    f" AND {IN_FEDERATION} AND {same_rule}"),
    }, "SELECT, INSERT")

    op.execute(
        f"CREATE POLICY partner_consultation_insert ON agenda_items AS PERMISSIVE FOR INSERT"
        f" TO {_q(app)} WITH CHECK (partner_id = {PARTNER} AND tenant_id = federation_id"
        f" AND federation_id = {FEDERATION}"
        f" AND status = 'on_agenda' AND created_by = {PRINCIPAL} AND EXISTS (SELECT 1 FROM"
        " platform_rule_versions v WHERE v.consultation_item_id = agenda_items.id"
        f" AND v.partner_id = agenda_items.partner_id AND v.filed_by = {PRINCIPAL}))")


def downgrade() -> None:
    op.execute("DROP POLICY partner_consultation_insert ON agenda_items")
    op.drop_table("platform_rule_versions")
    op.drop_table("platform_rules")
    op.execute("DROP FUNCTION flexunion_member_platforms()")
