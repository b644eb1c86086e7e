"""帮扶台账: the assistance ledger (services/assistance/, docs/services.md).

- `assistance_policies`: per federation (HQ's row) the per-member yearly total cap (fen), the
  urgent clock (hours per step) and the ordinary one (working days per step), and how many
  days special-category details are kept after a case closes.
- `assistance_cases`: a hardship case (患病致困 / 工伤恢复 / 家庭突发变故 / 其他) on its own
  track: applied → accepted (受理) → verified (核实) → approved | refused (会商) → granted
  (发放/帮扶) → closed (回访). The trigger `assistance_cases_transition` holds a frozen copy of
  services/assistance/lifecycle.py (`PAIRS`); a CHECK keeps the verifier apart from the
  person who accepted (第二人核实). `(federation_id, source, source_ref)` is unique: a case
  opened from an event is opened once.
- `assistance_details`: the special-category data (diagnosis, injury, family event, the
  supporting documents), sealed with the keyring, one row per case, apart from the case.
  Read only by the handling staff of the case's own subtree (regional admins and station
  officers: the committee sits at the region) — not HQ, never a partner, never the worker
  after filing; deleted by the `assistance-purge` job after the retention period.
- `assistance_budget_lines`: 经费科目 per region and year, the allocated amount and what is
  used (`used_fen <= allocated_fen` is a CHECK: the line's row is locked by each grant).
- `assistance_grants`: each grant of a case: amount (fen, > 0), its budget line, its year.
- `assistance_member_totals`: a member's granted total per year, federation-wide, locked by
  each grant (the yearly cap holds under concurrent grants).

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0053"
down_revision = "0052"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PEOPLE_FED = "(SELECT flexunion_people_federation())"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
WORKER = "(SELECT flexunion_principal_worker())"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
HANDLERS = f"{PRINCIPAL} ~ '^(regional_admin|station_officer):'"
ADMINS = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin):'"
PURGE = f"({PRINCIPAL} = 'system:jobs:assistance-purge' AND federation_id = {FEDERATION})"
IN_SCOPE = f"tenant_id = ANY {SCOPE}"
# Frozen copy of flexunion.services.assistance.lifecycle (migrations never import app code).
PAIRS = (("applied", "accepted"), ("accepted", "verified"), ("verified", "approved"),
         ("verified", "refused"), ("approved", "granted"), ("granted", "closed"),
         ("refused", "closed"))
STEPS = ("applied", "accepted", "verified", "approved", "refused", "granted", "closed")
KINDS = ("illness", "injury_recovery", "family_emergency", "other")
SOURCES = ("app", "walk_in", "event")


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


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]

    op.create_table(
        "assistance_policies",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("assistance_policies"),
        sa.Column("yearly_cap_fen", sa.BigInteger, nullable=False),
        sa.Column("urgent_step_hours", sa.Integer, nullable=False),
        sa.Column("ordinary_step_days", sa.Integer, nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        _at("updated_at", nullable=False),
        sa.CheckConstraint("yearly_cap_fen > 0", name="cap_positive"),
        sa.CheckConstraint("urgent_step_hours BETWEEN 1 AND 72", name="urgent_hours"),
        sa.CheckConstraint("ordinary_step_days BETWEEN 1 AND 30", name="ordinary_days"),
        sa.CheckConstraint("retention_days BETWEEN 30 AND 3650", name="retention"),
        sa.UniqueConstraint("federation_id", name="uq_assistance_policies_federation_id"),
    )
    protect("assistance_policies", app, {
        "staff_read": (f"SELECT:({STAFF} AND federation_id = {PEOPLE_FED}) OR {PURGE}", None),
        "hq_write": ("INSERT:", f"{PRINCIPAL} ~ '^hq_admin:' AND {IN_SCOPE}"
                                 " AND tenant_id = federation_id"),
        "hq_update": (f"UPDATE:{PRINCIPAL} ~ '^hq_admin:' AND {IN_SCOPE}",
                      f"{PRINCIPAL} ~ '^hq_admin:' AND {IN_SCOPE}"),
    }, "SELECT, INSERT, UPDATE")

    op.create_table(
        "assistance_cases",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("assistance_cases"),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("worker_id", UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_ref", sa.Text, nullable=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("asked_zh", sa.Text, nullable=True),
        sa.Column("opened_by", sa.Text, nullable=False),
        sa.Column("accepted_by", sa.Text, nullable=True),
        _at("accepted_at"),
        sa.Column("verified_by", sa.Text, nullable=True),
        _at("verified_at"),
        sa.Column("verify_note", sa.Text, nullable=True),
        sa.Column("committee_members", ARRAY(sa.Text), nullable=True),
        sa.Column("committee_note", sa.Text, nullable=True),
        sa.Column("approved_fen", sa.BigInteger, nullable=True),
        sa.Column("refusal_reason", sa.Text, nullable=True),
        sa.Column("decided_by", sa.Text, nullable=True),
        _at("decided_at"),
        sa.Column("granted_fen", sa.BigInteger, nullable=False),
        sa.Column("followup_by", sa.Text, nullable=True),
        _at("followup_at"),
        sa.Column("followup_note", sa.Text, nullable=True),
        _at("step_due_at"),
        _at("closed_at"),
        _at("details_purged_at"),
        _at("created_at", nullable=False),
        _at("updated_at", nullable=False),
        sa.CheckConstraint(f"kind IN {_in(KINDS)}", name="kind"),
        sa.CheckConstraint(f"step IN {_in(STEPS)}", name="step"),
        sa.CheckConstraint(f"source IN {_in(SOURCES)}", name="source"),
        sa.CheckConstraint("verified_by IS NULL OR verified_by <> accepted_by",
                           name="second_person"),
        sa.CheckConstraint("approved_fen IS NULL OR approved_fen > 0", name="approved_positive"),
        sa.CheckConstraint("granted_fen >= 0", name="granted_nonnegative"),
        sa.UniqueConstraint("federation_id", "source", "source_ref",
                            name="uq_assistance_cases_source_ref"),
    )
    op.create_index("ix_assistance_cases_tenant_step", "assistance_cases",
                    ["tenant_id", "step", "step_due_at"])
    op.create_index("ix_assistance_cases_worker", "assistance_cases", ["worker_id"])
    pairs = " OR ".join(f"(OLD.step = '{a}' AND NEW.step = '{b}')" for a, b in PAIRS)
    op.execute(f"""CREATE FUNCTION assistance_cases_transition() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.step IS DISTINCT FROM OLD.step AND NOT ({pairs}) THEN
            RAISE EXCEPTION 'assistance case step % -> % not allowed', OLD.step, NEW.step
              USING ERRCODE = 'check_violation', CONSTRAINT = 'assistance_step_order';
          END IF;
          IF NEW.step = 'verified' AND OLD.step = 'accepted'
             AND (NEW.verified_by IS NULL OR NEW.verified_by = NEW.accepted_by) THEN
            RAISE EXCEPTION 'assistance case verified by the person who accepted it'
              USING ERRCODE = 'check_violation', CONSTRAINT = 'assistance_second_person';
          END IF;
          RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER assistance_cases_transition BEFORE UPDATE ON assistance_cases"
               " FOR EACH ROW EXECUTE FUNCTION assistance_cases_transition()")
    protect("assistance_cases", app, {
        "staff_read": (f"SELECT:{STAFF} AND {IN_SCOPE}", None),
        "worker_read": (f"SELECT:worker_id = {WORKER}", None),
        "purge_read": (f"SELECT:{PURGE}", None),
        "staff_open": ("INSERT:", f"{HANDLERS} AND {IN_SCOPE} AND opened_by = {PRINCIPAL}"),
        "worker_apply": ("INSERT:", f"worker_id = {WORKER} AND step = 'applied'"
                                    f" AND source = 'app' AND opened_by = {PRINCIPAL}"),
        "staff_step": (f"UPDATE:{STAFF} AND {IN_SCOPE}", f"{STAFF} AND {IN_SCOPE}"),
        "purge_mark": (f"UPDATE:{PURGE} AND closed_at IS NOT NULL", PURGE),
    }, "SELECT, INSERT, UPDATE")

    op.create_table(
        "assistance_details",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("assistance_details"),
        sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("assistance_cases.id"),
                  nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("fields", ARRAY(sa.Text), nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        _at("created_at", nullable=False),
        sa.UniqueConstraint("case_id", name="uq_assistance_details_case_id"),
    )
    own_case = ("EXISTS (SELECT 1 FROM assistance_cases c WHERE c.id = case_id"
                f" AND c.worker_id = {WORKER} AND c.tenant_id = tenant_id)")
    protect("assistance_details", app, {
        "handlers_read": (f"SELECT:{HANDLERS} AND {IN_SCOPE}", None),
        "handlers_write": ("INSERT:", f"{HANDLERS} AND {IN_SCOPE}"
                                      f" AND created_by = {PRINCIPAL}"),
        "handlers_update": (f"UPDATE:{HANDLERS} AND {IN_SCOPE}", f"{HANDLERS} AND {IN_SCOPE}"),
        "worker_file": ("INSERT:", f"{own_case} AND created_by = {PRINCIPAL}"),
        "purge_read": (f"SELECT:{PURGE}", None),
        "purge_delete": (f"DELETE:{PURGE}", None),
    }, "SELECT, INSERT, UPDATE, DELETE")

    op.create_table(
        "assistance_budget_lines",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("assistance_budget_lines"),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("allocated_fen", sa.BigInteger, nullable=False),
        sa.Column("used_fen", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        _at("created_at", nullable=False),
        sa.CheckConstraint("allocated_fen >= 0", name="allocated_nonnegative"),
        sa.CheckConstraint("used_fen >= 0 AND used_fen <= allocated_fen", name="within_budget"),
        sa.CheckConstraint("code ~ '^[a-z0-9][a-z0-9-]{1,62}$'", name="code_format"),
        sa.UniqueConstraint("tenant_id", "year", "code",
                            name="uq_assistance_budget_lines_tenant_year_code"),
    )
    protect("assistance_budget_lines", app, {
        "staff_read": (f"SELECT:{STAFF} AND {IN_SCOPE}", None),
        "admins_write": ("INSERT:", f"{ADMINS} AND {IN_SCOPE} AND created_by = {PRINCIPAL}"),
        "admins_update": (f"UPDATE:{ADMINS} AND {IN_SCOPE}", f"{ADMINS} AND {IN_SCOPE}"),
    }, "SELECT, INSERT, UPDATE")

    op.create_table(
        "assistance_grants",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("assistance_grants"),
        sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("assistance_cases.id"),
                  nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("budget_line_id", UUID(as_uuid=True),
                  sa.ForeignKey("assistance_budget_lines.id"), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("granted_by", sa.Text, nullable=False),
        _at("granted_at", nullable=False),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
    )
    op.create_index("ix_assistance_grants_case", "assistance_grants", ["case_id"])
    protect("assistance_grants", app, {
        "staff_read": (f"SELECT:{STAFF} AND {IN_SCOPE}", None),
        "admins_grant": ("INSERT:", f"{ADMINS} AND {IN_SCOPE} AND granted_by = {PRINCIPAL}"),
    }, "SELECT, INSERT")

    op.create_table(
        "assistance_member_totals",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("assistance_member_totals"),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.CheckConstraint("total_fen >= 0", name="total_nonnegative"),
        sa.UniqueConstraint("member_id", "year", name="uq_assistance_member_totals_member_year"),
    )
    admins_fed = f"{ADMINS} AND federation_id = {PEOPLE_FED}"
    protect("assistance_member_totals", app, {
        "admins_read": (f"SELECT:{admins_fed}", None),
        "admins_write": ("INSERT:", f"{admins_fed} AND tenant_id = federation_id"),
        "admins_update": (f"UPDATE:{admins_fed}", admins_fed),
    }, "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    for table in ("assistance_member_totals", "assistance_grants", "assistance_budget_lines",
                  "assistance_details"):
        op.drop_table(table)
    op.execute("DROP TRIGGER assistance_cases_transition ON assistance_cases")
    op.drop_table("assistance_cases")
    op.execute("DROP FUNCTION assistance_cases_transition()")
    op.drop_table("assistance_policies")
