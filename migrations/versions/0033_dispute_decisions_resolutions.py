"""算法决定申诉 and 分类处置: algorithmic decisions under appeal, and resolution paths
(issue 15, disputes second part).

A dispute of kind 封号/限单 (`deactivation`) or 罚款/扣分 (`penalty`) gets one
`dispute_decisions` row when it opens: the platform's reply deadline (`reply_due_at`, the
federation's working days on the case's calendar), the platform's written reasons (posted
through its machine API, once), and the union's human review with its outcome (upheld /
reversed / compensated, with text), by a reviewer who is not the one who opened it.

`dispute_resolutions` (one per dispute): the cause sorted (制度瑕疵 / 执行偏差 / 个案争议),
the path (释法答疑 / 内部调解 / 和解协议 with its terms / 分流转办 with its addressee), the
follow-up visit it schedules (next node, due, responsible tenant) and, for a settlement, the
later check that its terms were kept (kept / broken).

Who sees them (row-level security, forced): whoever sees the dispute (its union's staff, the
worker whose case it is, the platform it is addressed to — the API shows the platform only
the path, terms and check of a resolution). Staff of the dispute's tenant insert them and
record the review (after the reasons) and the settlement check; the platform writes its
reasons once.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PRINCIPAL = "flexunion_principal()"
PARTNER = "(SELECT flexunion_partner())"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
STAFF_HERE = f"({STAFF} AND tenant_id = ANY {SCOPE})"
SAME = ("EXISTS (SELECT 1 FROM case_disputes d WHERE d.id = dispute_id"
        " AND d.tenant_id = dispute_decisions.tenant_id"
        " AND d.federation_id = dispute_decisions.federation_id)")
MINE = ("EXISTS (SELECT 1 FROM case_disputes d WHERE d.id = dispute_id"
        f" AND d.partner_id = {PARTNER})")
# Frozen copies of flexunion.cases.disputes.codes.OUTCOMES, CAUSES, PATHS, KEPT.
OUTCOMES = ("upheld", "reversed", "compensated")
CAUSES = ("system_flaw", "execution_deviation", "individual")
PATHS = ("explanation", "mediation", "settlement", "transfer")
KEPT = ("kept", "broken")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    op.create_table(
        "dispute_decisions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("dispute_id", UUID(as_uuid=True), sa.ForeignKey("case_disputes.id"),
                  nullable=False),
        _ts("reply_due_at"),
        sa.Column("reasons", sa.Text, nullable=True),
        sa.Column("reasons_by", sa.Text, nullable=True),
        _ts("reasons_at", nullable=True),
        sa.Column("reviewer", sa.Text, nullable=True),
        sa.Column("outcome", sa.Text, nullable=True),
        sa.Column("outcome_text", sa.Text, nullable=True),
        _ts("decided_at", nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name="fk_dispute_decisions_tenant_id_in_federation"),
        sa.CheckConstraint("outcome IS NULL OR outcome IN ("
                           + ", ".join(f"'{o}'" for o in OUTCOMES) + ")", name="outcome"),
        sa.CheckConstraint("(reasons IS NULL) = (reasons_at IS NULL)", name="reasons_at"),
        sa.CheckConstraint("outcome IS NULL OR (reasons IS NOT NULL AND reviewer IS NOT NULL"
                           " AND outcome_text IS NOT NULL AND decided_at IS NOT NULL)",
                           name="decided"),
        sa.UniqueConstraint("dispute_id", name="uq_dispute_decisions_dispute_id"),
    )
    op.create_index("ix_dispute_decisions_due", "dispute_decisions", ["reply_due_at"])
    t = "dispute_decisions"
    op.execute(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY owner_all ON {t} TO CURRENT_USER USING (true) WITH CHECK (true)")
    policies = {
        "read": ("SELECT", "EXISTS (SELECT 1 FROM case_disputes d WHERE d.id = dispute_id)",
                 None),
        "staff_insert": ("INSERT", None, f"{STAFF_HERE} AND {SAME}"),
        "staff_review": ("UPDATE", f"{STAFF_HERE} AND outcome IS NULL",
                         f"{STAFF_HERE} AND reviewer = {PRINCIPAL} AND reasons IS NOT NULL"),
        "partner_reasons": ("UPDATE", f"reasons IS NULL AND {MINE}",
                            f"{MINE} AND reasons_by = {PRINCIPAL} AND outcome IS NULL"),
    }
    for name, (command, using, check) in policies.items():
        sql = f"CREATE POLICY {name} ON {t} AS PERMISSIVE FOR {command} TO {_q(app)}"
        if using:
            sql += f" USING ({using})"
        if check:
            sql += f" WITH CHECK ({check})"
        op.execute(sql)
    op.execute(f"GRANT SELECT, INSERT, UPDATE (reasons, reasons_by, reasons_at, reviewer,"
               f" outcome, outcome_text, decided_at) ON {t} TO {_q(app)}")

    op.create_table(
        "dispute_resolutions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("dispute_id", UUID(as_uuid=True), sa.ForeignKey("case_disputes.id"),
                  nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("terms", sa.Text, nullable=True),
        sa.Column("transfer_to", sa.Text, nullable=True),
        sa.Column("followup_node", sa.Text, nullable=False),
        _ts("followup_due_at"),
        sa.Column("followup_tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"),
                  nullable=False),
        sa.Column("by", sa.Text, nullable=False),
        _ts("at"),
        sa.Column("kept", sa.Text, nullable=True),
        sa.Column("check_note", sa.Text, nullable=True),
        sa.Column("checked_by", sa.Text, nullable=True),
        _ts("checked_at", nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name="fk_dispute_resolutions_tenant_id_in_federation"),
        sa.CheckConstraint(f"cause IN {_in(CAUSES)}", name="cause"),
        sa.CheckConstraint(f"path IN {_in(PATHS)}", name="path"),
        sa.CheckConstraint("(path = 'settlement') = (terms IS NOT NULL)", name="terms"),
        sa.CheckConstraint("(path = 'transfer') = (transfer_to IS NOT NULL)",
                           name="transfer_to"),
        sa.CheckConstraint(f"kept IS NULL OR (kept IN {_in(KEPT)} AND path = 'settlement'"
                           " AND checked_at IS NOT NULL AND checked_by IS NOT NULL)",
                           name="kept"),
        sa.UniqueConstraint("dispute_id", name="uq_dispute_resolutions_dispute_id"),
    )
    op.create_index("ix_dispute_resolutions_due", "dispute_resolutions", ["followup_due_at"])
    t = "dispute_resolutions"
    same = SAME.replace("dispute_decisions.", "dispute_resolutions.")
    op.execute(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY owner_all ON {t} TO CURRENT_USER USING (true) WITH CHECK (true)")
    op.execute(f"CREATE POLICY read ON {t} AS PERMISSIVE FOR SELECT TO {_q(app)} USING"
               " (EXISTS (SELECT 1 FROM case_disputes d WHERE d.id = dispute_id))")
    op.execute(f"CREATE POLICY staff_insert ON {t} AS PERMISSIVE FOR INSERT TO {_q(app)}"
               f" WITH CHECK ({STAFF_HERE} AND by = {PRINCIPAL} AND {same})")
    op.execute(f"CREATE POLICY staff_check ON {t} AS PERMISSIVE FOR UPDATE TO {_q(app)}"
               f" USING ({STAFF_HERE} AND kept IS NULL)"
               f" WITH CHECK ({STAFF_HERE} AND checked_by = {PRINCIPAL})")
    op.execute(f"GRANT SELECT, INSERT, UPDATE (kept, check_note, checked_by, checked_at)"
               f" ON {t} TO {_q(app)}")


def downgrade() -> None:
    op.drop_table("dispute_resolutions")
    op.drop_table("dispute_decisions")
