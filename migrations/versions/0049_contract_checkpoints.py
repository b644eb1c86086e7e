"""核验节点: the checkpoints of the clauses in force, the partner's evidence and its evaluation,
and the three-party sign-off (三方共同核验) (contracts/checkpoints/; docs/contracts.md).

- `clause_checkpoints`: one per clause and due date (a date, or each quarter of the
  version's term), with the date by which the partner's evidence is due. Made by HQ and
  regional admins within their subtree; never changed (no UPDATE grant).
- `checkpoint_evidence`: append-only. Each submission by the partner (its machine client):
  the evidence JSON, its sha256 over RFC 8785 canonical JSON, and the evaluation — the
  condition's text and version (the clause document's sha256), the parameters, the value of
  every variable read, the result, when. `breach` marks the submission whose false result
  is the checkpoint's breach: at most ONE per checkpoint (partial unique index), however
  often the evidence is resubmitted.
- `checkpoint_signatures`: one per checkpoint and role (platform_business 业务,
  platform_hr 人力, union 工会干部) and one per checkpoint and signer — so a principal never
  signs twice, nor in two roles. A partner client signs only in the role its operator gave it
  (`partner_clients.contracts_role`, read by `flexunion_partner_contracts_role()`); a union
  cadre (HQ/regional admin or station officer of the checkpoint's subtree) signs as union;
  the signer is always the calling principal (policy).

- `checkpoint_objections` (异常复议): the partner's objection to a breach, with its reasons,
  lodged within the configured window (working days); decided by HQ/regional admins of the
  subtree (upheld / rejected, with a note). One per breach.

Evidence, signatures and objections point at their checkpoint through (id, partner_id,
tenant_id), so a row can never name another partner's checkpoint, whatever a policy says.

Sight (RLS, forced): staff their subtree's rows and the federation-wide agreements'; a
partner its own (`partner_id = flexunion_partner()`); workers nothing.

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
STAFF_READ = (f"({STAFF} AND (tenant_id = ANY {SCOPE}"
              f" OR (tenant_id = federation_id AND federation_id = {FEDERATION})))")
ADMINS = f"({PRINCIPAL} ~ '^(hq_admin|regional_admin):' AND tenant_id = ANY {SCOPE})"
CADRES = f"({STAFF} AND tenant_id = ANY {SCOPE})"
PARTNER_OWN = f"({PRINCIPAL} ~ '^partner:' AND partner_id = (SELECT flexunion_partner()))"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tenancy(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("partner_id", UUID(as_uuid=True), sa.ForeignKey("platform_partners.id"),
                  nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{table}_tenant_id_in_federation"),
    ]


def _of_checkpoint(table: str) -> list[sa.SchemaItem]:
    return [sa.Column("checkpoint_id", UUID(as_uuid=True), nullable=False),
            sa.ForeignKeyConstraint(
                ["checkpoint_id", "partner_id", "tenant_id"],
                ["clause_checkpoints.id", "clause_checkpoints.partner_id",
                 "clause_checkpoints.tenant_id"], name=f"fk_{table}_checkpoint")]


def _rls(table: str, app: str, *, read: str, insert: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true)"
               " WITH CHECK (true)")
    op.execute(f"CREATE POLICY checkpoints_read ON {table} FOR SELECT TO {app} USING ({read})")
    op.execute(f"CREATE POLICY checkpoints_insert ON {table} FOR INSERT TO {app}"
               f" WITH CHECK ({insert})")
    op.execute(f"GRANT SELECT, INSERT ON {table} TO {app}")


def upgrade() -> None:
    app = _q(op.get_context().config.attributes["app_role"])
    op.add_column("partner_clients", sa.Column("contracts_role", sa.Text, nullable=True))
    op.create_check_constraint("contracts_role", "partner_clients",
                               "contracts_role IN ('platform_business', 'platform_hr')")
    op.execute("""CREATE FUNCTION flexunion_partner_contracts_role() RETURNS text
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT contracts_role FROM partner_clients
           WHERE 'partner:' || client_id = current_setting('flexunion.principal', true)
             AND NOT disabled
        $$""")
    op.execute("REVOKE ALL ON FUNCTION flexunion_partner_contracts_role() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION flexunion_partner_contracts_role() TO {app}")

    op.create_table(
        "clause_checkpoints", *_tenancy("clause_checkpoints"),
        sa.Column("agreement_id", UUID(as_uuid=True), sa.ForeignKey("agreements.id"),
                  nullable=False),
        sa.Column("clause_id", UUID(as_uuid=True), sa.ForeignKey("agreement_clauses.id"),
                  nullable=False),
        sa.Column("version_number", sa.Integer, nullable=False),
        sa.Column("period", sa.Text, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("evidence_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("clause_id", "due_on", name="uq_clause_checkpoints_due"),
        sa.UniqueConstraint("id", "partner_id", "tenant_id", name="uq_clause_checkpoints_owner"),
        sa.CheckConstraint("period ~ '^([0-9]{4}Q[1-4]|once)$'", name="period"),
    )
    op.create_index("ix_clause_checkpoints_partner", "clause_checkpoints",
                    ["partner_id", "due_on"])
    op.create_index("ix_clause_checkpoints_evidence_due", "clause_checkpoints",
                    ["evidence_due_at"])

    op.create_table(
        "checkpoint_evidence", *_tenancy("checkpoint_evidence"),
        *_of_checkpoint("checkpoint_evidence"),
        sa.Column("clause_id", UUID(as_uuid=True), sa.ForeignKey("agreement_clauses.id"),
                  nullable=False),
        sa.Column("evidence", JSONB, nullable=False),
        sa.Column("evidence_sha256", sa.Text, nullable=False),
        sa.Column("condition", sa.Text, nullable=False),
        sa.Column("condition_version", sa.Text, nullable=False),
        sa.Column("parameters", JSONB, nullable=False),
        sa.Column("read", JSONB, nullable=False),
        sa.Column("result", sa.Boolean, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("breach", sa.Boolean, nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.Text, nullable=False),
        sa.CheckConstraint("(result IS NULL) = (error IS NOT NULL)", name="result_or_error"),
        sa.CheckConstraint("NOT breach OR result IS NOT TRUE", name="breach_failed"),
        sa.CheckConstraint("evidence_sha256 ~ '^[0-9a-f]{64}$'", name="sha256"),
    )
    op.create_index("ix_checkpoint_evidence_checkpoint", "checkpoint_evidence",
                    ["checkpoint_id", "evaluated_at"])
    op.create_index("uq_checkpoint_evidence_breach", "checkpoint_evidence", ["checkpoint_id"],
                    unique=True, postgresql_where=sa.text("breach"))

    op.create_table(
        "checkpoint_signatures", *_tenancy("checkpoint_signatures"),
        *_of_checkpoint("checkpoint_signatures"),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("signer", sa.Text, nullable=False),
        sa.Column("evidence_id", UUID(as_uuid=True), sa.ForeignKey("checkpoint_evidence.id"),
                  nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("checkpoint_id", "role", name="uq_checkpoint_signatures_role"),
        sa.UniqueConstraint("checkpoint_id", "signer", name="uq_checkpoint_signatures_signer"),
        sa.CheckConstraint("role IN ('platform_business', 'platform_hr', 'union')",
                           name="role"),
        sa.CheckConstraint("(role = 'union') = (signer !~ '^partner:')", name="role_signer"),
    )

    op.create_table(
        "checkpoint_objections", *_tenancy("checkpoint_objections"),
        *_of_checkpoint("checkpoint_objections"),
        sa.Column("evidence_id", UUID(as_uuid=True), sa.ForeignKey("checkpoint_evidence.id"),
                  nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("lodged_by", sa.Text, nullable=False),
        sa.Column("lodged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("decision_note", sa.Text, nullable=True),
        sa.Column("decided_by", sa.Text, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("evidence_id", name="uq_checkpoint_objections_breach"),
        sa.CheckConstraint("status IN ('pending', 'upheld', 'rejected')", name="status"),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided"),
        sa.CheckConstraint("lodged_at <= due_at", name="in_window"),
    )

    _rls("clause_checkpoints", app, read=f"{STAFF_READ} OR {PARTNER_OWN}", insert=ADMINS)
    _rls("checkpoint_evidence", app, read=f"{STAFF_READ} OR {PARTNER_OWN}",
         insert=f"{PARTNER_OWN} AND submitted_by = {PRINCIPAL}")
    _rls("checkpoint_signatures", app, read=f"{STAFF_READ} OR {PARTNER_OWN}",
         insert=(f"signer = {PRINCIPAL} AND ((role = 'union' AND {CADRES})"
                 f" OR (role <> 'union' AND {PARTNER_OWN}"
                 " AND role = (SELECT flexunion_partner_contracts_role())))"))
    _rls("checkpoint_objections", app, read=f"{STAFF_READ} OR {PARTNER_OWN}",
         insert=f"{PARTNER_OWN} AND lodged_by = {PRINCIPAL} AND status = 'pending'")
    op.execute(f"CREATE POLICY checkpoints_decide ON checkpoint_objections FOR UPDATE TO {app}"
               f" USING ({ADMINS}) WITH CHECK ({ADMINS} AND decided_by = {PRINCIPAL})")
    op.execute("GRANT UPDATE (status, decision_note, decided_by, decided_at)"
               f" ON checkpoint_objections TO {app}")


def downgrade() -> None:
    for table in ("checkpoint_objections", "checkpoint_signatures", "checkpoint_evidence",
                  "clause_checkpoints"):
        op.drop_table(table)
    op.execute("DROP FUNCTION flexunion_partner_contracts_role()")
    op.drop_constraint("contracts_role", "partner_clients", type_="check")
    op.drop_column("partner_clients", "contracts_role")
