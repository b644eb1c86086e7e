"""集体协商 from the demand ledger: a case becomes a problem report (问题提报, issue 14).

A case routed `bargaining` may now be filed as a problem report on the worker's behalf by the
case's dispatching union (cases/handling/service.py `route`). The report records where it came
from:

- `problem_reports.source_case_id` (FK cases, NULL for a worker's own filing) and `filed_by`
  (the principal that filed it; NULL for a worker's own filing, which is always themselves);
  a partial index on source_case_id.
- policy `case_staff_insert` (INSERT): staff (hq_admin / regional_admin / station_officer)
  whose subtree holds the report's tenant, as themselves (`filed_by = principal`), from a case
  they can see (the cases read policy applies inside the EXISTS) whose worker, member,
  platform partner and tenant are the report's. So the report's tenant is the case's tenant
  (where the worker works), never the member's home: staff cannot file into another union.

- policy `member_insert` (a worker's own filing, 0005) gains `source_case_id IS NULL AND
  filed_by IS NULL`: a worker cannot claim a case's report.

Reading is unchanged: the worker still reads it as its own (`worker_id`), staff of its
subtree and representatives whose remit holds it as before.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PRINCIPAL = "flexunion_principal()"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
# 0005's member_insert, frozen.
MEMBER_INSERT = (
    f"{PRINCIPAL} = 'worker:' || worker_id::text AND "
    "EXISTS (SELECT 1 FROM members m WHERE m.id = member_id AND m.status = 'active'"
    " AND m.tenant_id = problem_reports.tenant_id"
    f" AND {PRINCIPAL} = 'worker:' || m.worker_id::text)"
)


def _member_insert(app: str, check: str) -> None:
    op.execute("DROP POLICY member_insert ON problem_reports")
    op.execute(f"CREATE POLICY member_insert ON problem_reports AS PERMISSIVE FOR INSERT"
               f" TO {app} WITH CHECK ({check})")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    app = _q(op.get_context().config.attributes["app_role"])
    op.add_column("problem_reports", sa.Column(
        "source_case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=True))
    op.add_column("problem_reports", sa.Column("filed_by", sa.Text, nullable=True))
    op.create_index("ix_problem_reports_source_case", "problem_reports", ["source_case_id"],
                    postgresql_where=sa.text("source_case_id IS NOT NULL"))
    from_case = ("EXISTS (SELECT 1 FROM cases c WHERE c.id = problem_reports.source_case_id"
                 " AND c.federation_id = problem_reports.federation_id"
                 " AND c.tenant_id = problem_reports.tenant_id"
                 " AND c.worker_id = problem_reports.worker_id"
                 " AND c.member_id = problem_reports.member_id"
                 " AND c.partner_id = problem_reports.partner_id)")
    op.execute(f"CREATE POLICY case_staff_insert ON problem_reports AS PERMISSIVE FOR INSERT"
               f" TO {app} WITH CHECK ({STAFF} AND tenant_id = ANY {SCOPE}"
               f" AND source_case_id IS NOT NULL AND filed_by = {PRINCIPAL} AND {from_case})")
    _member_insert(app, f"{MEMBER_INSERT} AND source_case_id IS NULL AND filed_by IS NULL")


def downgrade() -> None:
    _member_insert(_q(op.get_context().config.attributes["app_role"]), MEMBER_INSERT)
    op.execute("DROP POLICY case_staff_insert ON problem_reports")
    op.drop_index("ix_problem_reports_source_case", table_name="problem_reports")
    op.drop_column("problem_reports", "filed_by")
    op.drop_column("problem_reports", "source_case_id")
