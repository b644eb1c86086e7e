"""核验材料附件: files the partner attaches to a checkpoint's evidence, through the evidence
store (contracts/checkpoints/files.py; docs/contracts.md "Evidence files").

- `checkpoint_evidence_files`: one row per file — the store's key, the clean filename, the
  type sniffed from the bytes, the size and the sha256 — on its checkpoint by (id,
  partner_id, tenant_id), so it can never hang off another partner's checkpoint. Inserted by
  the partner that owns the checkpoint (`uploaded_by` its principal); never changed (no
  UPDATE or DELETE grant).
- `checkpoint_evidence.files`: the files attached when the evidence was submitted —
  `[{id, filename, content_type, size_bytes, sha256}]` — kept with the evaluation (append-only
  like the rest of the row), so the evaluation names the files it was made on.

Sight (RLS, forced): staff of the checkpoint's subtree and the federation-wide agreements';
the partner its own; the `contracts-breach` job its federation's (a case's text lists them);
workers nothing.

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None

TABLE = "checkpoint_evidence_files"
SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
STAFF_READ = (f"({STAFF} AND (tenant_id = ANY {SCOPE}"
              f" OR (tenant_id = federation_id AND federation_id = {FEDERATION})))")
PARTNER_OWN = f"({PRINCIPAL} ~ '^partner:' AND partner_id = (SELECT flexunion_partner()))"
IS_JOB = (f"({PRINCIPAL} = 'system:jobs:contracts-breach'"
          f" AND federation_id = {FEDERATION})")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    app = _q(op.get_context().config.attributes["app_role"])
    op.add_column("checkpoint_evidence", sa.Column(
        "files", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")))
    op.create_table(
        TABLE,
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("partner_id", UUID(as_uuid=True), sa.ForeignKey("platform_partners.id"),
                  nullable=False),
        sa.Column("checkpoint_id", UUID(as_uuid=True), nullable=False),
        sa.Column("storage_key", sa.Text, nullable=False, unique=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("uploaded_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{TABLE}_tenant_id_in_federation"),
        sa.ForeignKeyConstraint(
            ["checkpoint_id", "partner_id", "tenant_id"],
            ["clause_checkpoints.id", "clause_checkpoints.partner_id",
             "clause_checkpoints.tenant_id"], name=f"fk_{TABLE}_checkpoint"),
        sa.CheckConstraint("size_bytes > 0", name="size"),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256"),
    )
    op.create_index(f"ix_{TABLE}_checkpoint", TABLE, ["checkpoint_id", "created_at"])
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY owner_all ON {TABLE} TO CURRENT_USER USING (true)"
               " WITH CHECK (true)")
    op.execute(f"CREATE POLICY checkpoints_read ON {TABLE} FOR SELECT TO {app}"
               f" USING ({STAFF_READ} OR {PARTNER_OWN})")
    op.execute(f"CREATE POLICY checkpoints_insert ON {TABLE} FOR INSERT TO {app}"
               f" WITH CHECK ({PARTNER_OWN} AND uploaded_by = {PRINCIPAL})")
    op.execute(f"CREATE POLICY breach_job_read ON {TABLE} FOR SELECT TO {app}"
               f" USING ({IS_JOB})")
    op.execute(f"GRANT SELECT, INSERT ON {TABLE} TO {app}")


def downgrade() -> None:
    op.drop_table(TABLE)
    op.drop_column("checkpoint_evidence", "files")
