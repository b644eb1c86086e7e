"""争议处置 Disputes: a case kind with its own rules (issue 15, first part).

A dispute is a case with a dispute record (`case_disputes`, one per case): its kind (欠薪,
欠保, 超时, 职业防护, 罚款/扣分, 封号/限单, 工伤), the platform partner it is addressed to, the
statement the union addresses to it, and where it stands on the ladder.

- `dispute_evidence` (固定证据): an evidence item filling a slot of the kind's checklist — a
  case attachment (`case_attachments`, by id) with its sha256, who supplied it (worker /
  cadre / partner), by whom and when, and the request it fulfilled.
- `dispute_requests`: a request to the partner for a slot, with a deadline (working days on
  the case's calendar), fulfilled once.
- `dispute_steps`: the ladder 提示 → 会商 → 发函 → 整改复核 → 衔接, append-only (the
  consultation's minutes, the letter, a recorded reason for advancing without evidence).
- `dispute_replies`: the partner's answer to a step (one per step).
- `dispute_referrals`: the hand-over (衔接) record: to whom, and what was sent.

Who sees them (row-level security, forced):
- union staff (hq_admin / regional_admin / station_officer) whose subtree holds the dispute's
  tenant (the case's tenant: the handling tenant and its ancestors); they write;
- the worker whose case it is (read only);
- the platform partner the dispute is addressed to: its dispute, the steps, its own requests,
  the evidence that fulfilled them and the replies (its own); never the referral. The
  dispute stores nothing of the worker (the case is not visible to the partner).
A partner also INSERTs the case attachment that fulfils its request (`case_attachments`
`partner_dispute_insert`), and never reads attachments back (0015's read arm stays).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PRINCIPAL = "flexunion_principal()"
PARTNER = "(SELECT flexunion_partner())"
WORKER = "(SELECT flexunion_principal_worker())"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
IS_PARTNER = f"{PRINCIPAL} ~ '^partner:'"
NOT_PARTNER = f"{PRINCIPAL} !~ '^partner:'"
STAFF_HERE = f"({STAFF} AND tenant_id = ANY {SCOPE})"
DISPUTE_VISIBLE = "EXISTS (SELECT 1 FROM case_disputes d WHERE d.id = dispute_id)"


def _same(table: str) -> str:
    """A row written under a dispute I see, and in that dispute's tenant."""
    return ("EXISTS (SELECT 1 FROM case_disputes d WHERE d.id = dispute_id"
            f" AND d.tenant_id = {table}.tenant_id AND d.federation_id = {table}.federation_id)")

# Frozen copies of flexunion.cases.disputes.codes (migrations never import app code).
KINDS = ("unpaid_pay", "social_insurance", "overtime", "protection", "penalty",
         "deactivation", "work_injury")
STEPS = ("reminder", "consultation", "letter", "review", "handover")
SUPPLIERS = ("worker", "cadre", "partner")
REFERRALS = ("superior_union", "labour_inspection", "arbitration")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True)


def _ref(name: str, target: str, nullable: bool = False) -> sa.Column:
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


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]

    op.create_table(
        "case_disputes", _id(), *_tenancy("case_disputes"),
        _ref("case_id", "cases"),
        sa.Column("case_no", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        _ref("partner_id", "platform_partners"),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("step", sa.Text, nullable=True),
        sa.Column("opened_by", sa.Text, nullable=False),
        _ts("opened_at"), _ts("updated_at"),
        sa.CheckConstraint(f"kind IN {_in(KINDS)}", name="kind"),
        sa.CheckConstraint(f"step IS NULL OR step IN {_in(STEPS)}", name="step"),
        sa.UniqueConstraint("case_id", name="uq_case_disputes_case_id"),
    )
    op.create_index("ix_case_disputes_partner", "case_disputes", ["partner_id", "opened_at"])
    own_case = "EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id AND c.worker_id = " \
               f"{WORKER})"
    protect("case_disputes", app, {
        "read": (f"SELECT:{STAFF_HERE} OR partner_id = {PARTNER} OR {own_case}", None),
        "staff_insert": ("INSERT:", f"{STAFF_HERE} AND opened_by = {PRINCIPAL} AND EXISTS"
                                    " (SELECT 1 FROM cases c WHERE c.id = case_id"
                                    " AND c.tenant_id = case_disputes.tenant_id)"),
        "staff_update": ("UPDATE:" + STAFF_HERE, STAFF_HERE),
    }, "SELECT, INSERT, UPDATE (step, statement, updated_at)")

    op.create_table(
        "dispute_requests", _id(), *_tenancy("dispute_requests"),
        _ref("dispute_id", "case_disputes"),
        sa.Column("slot", sa.Text, nullable=False),
        _ref("partner_id", "platform_partners"),
        sa.Column("note", sa.Text, nullable=True),
        _ts("due_at"),
        sa.Column("requested_by", sa.Text, nullable=False),
        _ts("requested_at"),
        _ts("fulfilled_at", nullable=True),
        sa.Column("fulfilled_by", sa.Text, nullable=True),
    )
    op.create_index("ix_dispute_requests_dispute", "dispute_requests",
                    ["dispute_id", "requested_at"])
    protect("dispute_requests", app, {
        "read": (f"SELECT:{DISPUTE_VISIBLE} AND ({NOT_PARTNER} OR partner_id = {PARTNER})",
                 None),
        "staff_insert": ("INSERT:", f"{STAFF_HERE} AND requested_by = {PRINCIPAL}"
                                    " AND partner_id = (SELECT d.partner_id FROM case_disputes d"
                                    f" WHERE d.id = dispute_id) AND {_same('dispute_requests')}"),
        "partner_fulfil": (f"UPDATE:partner_id = {PARTNER} AND fulfilled_at IS NULL"
                           f" AND {DISPUTE_VISIBLE}",
                           f"partner_id = {PARTNER} AND fulfilled_by = {PRINCIPAL}"),
    }, "SELECT, INSERT, UPDATE (fulfilled_at, fulfilled_by)")

    op.create_table(
        "dispute_evidence", _id(), *_tenancy("dispute_evidence"),
        _ref("dispute_id", "case_disputes"),
        sa.Column("slot", sa.Text, nullable=False),
        _ref("attachment_id", "case_attachments"),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("supplier", sa.Text, nullable=False),
        sa.Column("supplied_by", sa.Text, nullable=False),
        _ts("supplied_at"),
        _ref("request_id", "dispute_requests", nullable=True),
        sa.Column("linked_by", sa.Text, nullable=False),
        _ts("linked_at"),
        sa.CheckConstraint(f"supplier IN {_in(SUPPLIERS)}", name="supplier"),
        sa.CheckConstraint("(supplier = 'partner') = (request_id IS NOT NULL)",
                           name="partner_request"),
        sa.UniqueConstraint("dispute_id", "slot", "attachment_id",
                            name="uq_dispute_evidence_slot_attachment"),
        sa.UniqueConstraint("request_id", name="uq_dispute_evidence_request_id"),
    )
    op.create_index("ix_dispute_evidence_dispute", "dispute_evidence", ["dispute_id", "slot"])
    fulfils = ("EXISTS (SELECT 1 FROM dispute_requests r WHERE r.id = request_id"
               f" AND r.dispute_id = dispute_evidence.dispute_id AND r.partner_id = {PARTNER})")
    protect("dispute_evidence", app, {
        "read": (f"SELECT:{DISPUTE_VISIBLE} AND ({NOT_PARTNER} OR {fulfils})", None),
        "staff_insert": ("INSERT:", f"{STAFF_HERE} AND linked_by = {PRINCIPAL}"
                                    f" AND supplier <> 'partner' AND {_same('dispute_evidence')}"),
        "partner_insert": ("INSERT:", f"{IS_PARTNER} AND linked_by = {PRINCIPAL}"
                                      f" AND supplied_by = {PRINCIPAL}"
                                      f" AND supplier = 'partner' AND {fulfils}"
                                      f" AND {_same('dispute_evidence')}"),
    }, "SELECT, INSERT")

    op.create_table(
        "dispute_steps", _id(), *_tenancy("dispute_steps"),
        _ref("dispute_id", "case_disputes"),
        sa.Column("step", sa.Text, nullable=False),
        _ts("at"),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("details", JSONB, nullable=False),
        sa.CheckConstraint(f"step IN {_in(STEPS)}", name="step"),
        sa.UniqueConstraint("dispute_id", "step", name="uq_dispute_steps_dispute_step"),
    )
    protect("dispute_steps", app, {
        "read": (f"SELECT:{DISPUTE_VISIBLE}", None),
        "append_as_self": ("INSERT:", f"actor = {PRINCIPAL} AND {STAFF_HERE}"
                                      f" AND {_same('dispute_steps')}"),
    }, "SELECT, INSERT")

    op.create_table(
        "dispute_replies", _id(), *_tenancy("dispute_replies"),
        _ref("dispute_id", "case_disputes"),
        _ref("step_id", "dispute_steps"),
        _ref("partner_id", "platform_partners"),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        _ts("at"),
        sa.UniqueConstraint("step_id", name="uq_dispute_replies_step_id"),
    )
    op.create_index("ix_dispute_replies_dispute", "dispute_replies", ["dispute_id", "at"])
    protect("dispute_replies", app, {
        "read": (f"SELECT:{DISPUTE_VISIBLE}", None),
        "partner_insert": ("INSERT:", f"actor = {PRINCIPAL} AND partner_id = {PARTNER}"
                                      " AND EXISTS (SELECT 1 FROM case_disputes d"
                                      " WHERE d.id = dispute_id AND d.partner_id"
                                      f" = {PARTNER}) AND {_same('dispute_replies')}"
                                      " AND EXISTS (SELECT 1 FROM dispute_steps s WHERE"
                                      " s.id = step_id AND s.dispute_id"
                                      " = dispute_replies.dispute_id)"),
    }, "SELECT, INSERT")

    op.create_table(
        "dispute_referrals", _id(), *_tenancy("dispute_referrals"),
        _ref("dispute_id", "case_disputes"),
        _ref("step_id", "dispute_steps"),
        sa.Column("to_kind", sa.Text, nullable=False),
        sa.Column("to_name", sa.Text, nullable=False),
        sa.Column("sent", JSONB, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("by", sa.Text, nullable=False),
        _ts("at"),
        sa.CheckConstraint(f"to_kind IN {_in(REFERRALS)}", name="to_kind"),
        sa.UniqueConstraint("step_id", name="uq_dispute_referrals_step_id"),
    )
    protect("dispute_referrals", app, {
        "read": (f"SELECT:{DISPUTE_VISIBLE} AND {NOT_PARTNER}", None),
        "staff_insert": ("INSERT:", f"{STAFF_HERE} AND by = {PRINCIPAL}"
                                    f" AND {_same('dispute_referrals')}"),
    }, "SELECT, INSERT")

    # The partner adds the file that fulfils a request addressed to it (it reads none back).
    op.execute(
        f"CREATE POLICY partner_dispute_insert ON case_attachments AS PERMISSIVE FOR INSERT"
        f" TO {_q(app)} WITH CHECK (uploaded_by = {PRINCIPAL} AND {IS_PARTNER} AND EXISTS"
        " (SELECT 1 FROM case_disputes d JOIN dispute_requests r ON r.dispute_id = d.id"
        f" WHERE d.case_id = case_attachments.case_id AND r.partner_id = {PARTNER}"
        " AND r.fulfilled_at IS NULL))")


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS partner_dispute_insert ON case_attachments")
    for table in ("dispute_referrals", "dispute_replies", "dispute_steps", "dispute_evidence",
                  "dispute_requests", "case_disputes"):
        op.drop_table(table)
