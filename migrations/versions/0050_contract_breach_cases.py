"""违约立案: a breach at a checkpoint — a false condition, or evidence missing past its date —
opens ONE case in the demand ledger, by the `contracts-breach` job (contracts/checkpoints/
breaches.py; docs/contracts.md, "Breach → a case").

- `clause_checkpoints` gets `case_id` (unique: one case per checkpoint, whatever the
  resubmissions), `case_reason` (breach / evidence_missing) and `case_opened_at`, set once:
  the job's UPDATE policy reaches a checkpoint only while `case_id` IS NULL, and the app role
  may update these three columns and no other.
- `cases.channel` also takes `contract_breach` (协议核验违约): the case the job opens.
- The job's principal (`system:jobs:contracts-breach`), in its federation only, may:
  read the checkpoints, their evidence and the clauses (its candidates and the case's text);
  set a checkpoint's case (above); insert and read the `contract_breach` cases it opens
  (`created_by` itself), update them (the clocks' re-derivation); insert and read their
  disputes (`opened_by` itself) and the platform's reply deadline of an algorithmic kind;
  read the clocks of those cases (their re-derivation reads them back).
  The case's events, clocks and audit rows pass the existing arms (`actor` itself, the case
  visible). It reads no other case, no member, no people table (not named in
  `flexunion_people_scope()`), no signature and no objection.

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None

JOB = "system:jobs:contracts-breach"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
IS_JOB = f"({PRINCIPAL} = '{JOB}' AND federation_id = {FEDERATION})"
BREACH_CASE = f"({IS_JOB} AND channel = 'contract_breach' AND created_by = {PRINCIPAL})"
CHANNELS_OLD = ("app", "station", "visit", "hotline", "hotline_platform", "qr_suggestion",
                "followup")
CHANNELS_NEW = (*CHANNELS_OLD, "contract_breach")

POLICIES = (  # (table, name, command, using, check)
    ("clause_checkpoints", "breach_job_read", "SELECT", IS_JOB, None),
    ("clause_checkpoints", "breach_job_case", "UPDATE", f"{IS_JOB} AND case_id IS NULL",
     f"{IS_JOB} AND case_id IS NOT NULL"),
    ("checkpoint_evidence", "breach_job_read", "SELECT", IS_JOB, None),
    ("agreement_clauses", "breach_job_read", "SELECT", IS_JOB, None),
    ("cases", "breach_job_read", "SELECT", BREACH_CASE, None),
    ("cases", "breach_job_insert", "INSERT", None, BREACH_CASE),
    ("cases", "breach_job_update", "UPDATE", BREACH_CASE, BREACH_CASE),
    ("case_clocks", "breach_job_read", "SELECT",
     f"{IS_JOB} AND EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id)", None),
    ("case_disputes", "breach_job_read", "SELECT",
     f"{IS_JOB} AND opened_by = {PRINCIPAL}", None),
    ("case_disputes", "breach_job_insert", "INSERT", None,
     f"{IS_JOB} AND opened_by = {PRINCIPAL}"),
    ("dispute_decisions", "breach_job_insert", "INSERT", None,
     f"{IS_JOB} AND EXISTS (SELECT 1 FROM case_disputes d WHERE d.id = dispute_id"
     f" AND d.opened_by = {PRINCIPAL})"),
)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _channels(values: tuple[str, ...]) -> None:
    op.execute("ALTER TABLE cases DROP CONSTRAINT ck_cases_channel")
    op.execute("ALTER TABLE cases ADD CONSTRAINT ck_cases_channel"
               f" CHECK (channel IN {_in(values)})")


def upgrade() -> None:
    app = _q(op.get_context().config.attributes["app_role"])
    op.add_column("clause_checkpoints", sa.Column(
        "case_id", UUID(as_uuid=True),
        sa.ForeignKey("cases.id", name="fk_clause_checkpoints_case_id_cases"), nullable=True))
    op.add_column("clause_checkpoints", sa.Column("case_reason", sa.Text, nullable=True))
    op.add_column("clause_checkpoints", sa.Column("case_opened_at", sa.DateTime(timezone=True),
                                                  nullable=True))
    op.execute("ALTER TABLE clause_checkpoints ADD CONSTRAINT uq_clause_checkpoints_case"
               " UNIQUE (case_id)")
    op.execute("ALTER TABLE clause_checkpoints ADD CONSTRAINT ck_clause_checkpoints_case_reason"
               " CHECK ((case_id IS NULL AND case_reason IS NULL AND case_opened_at IS NULL) OR"
               " (case_id IS NOT NULL AND case_reason IN ('breach', 'evidence_missing')"
               " AND case_opened_at IS NOT NULL))")
    _channels(CHANNELS_NEW)
    for table, name, command, using, check in POLICIES:
        sql = f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command} TO {app}"
        if using:
            sql += f" USING ({using})"
        if check:
            sql += f" WITH CHECK ({check})"
        op.execute(sql)
    op.execute(f"GRANT UPDATE (case_id, case_reason, case_opened_at) ON clause_checkpoints"
               f" TO {app}")


def downgrade() -> None:
    app = _q(op.get_context().config.attributes["app_role"])
    op.execute(f"REVOKE UPDATE (case_id, case_reason, case_opened_at) ON clause_checkpoints"
               f" FROM {app}")
    for table, name, *_ in reversed(POLICIES):
        op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
    op.execute("ALTER TABLE clause_checkpoints DROP CONSTRAINT ck_clause_checkpoints_case_reason")
    op.execute("ALTER TABLE clause_checkpoints DROP CONSTRAINT uq_clause_checkpoints_case")
    op.drop_column("clause_checkpoints", "case_opened_at")
    op.drop_column("clause_checkpoints", "case_reason")
    op.drop_column("clause_checkpoints", "case_id")
    breach_cases = "(SELECT id FROM cases WHERE channel = 'contract_breach')"
    op.execute("DELETE FROM dispute_decisions WHERE dispute_id IN (SELECT id FROM case_disputes"
               f" WHERE case_id IN {breach_cases})")
    for table in ("case_disputes", "case_clocks", "case_events"):
        op.execute(f"DELETE FROM {table} WHERE case_id IN {breach_cases}")
    op.execute("DELETE FROM cases WHERE channel = 'contract_breach'")
    _channels(CHANNELS_OLD)
