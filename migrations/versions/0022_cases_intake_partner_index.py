"""An index for the hotline platform's arm of the clocks' read policy (bench/cases.py).

0021's `case_id IN (SELECT c.id FROM cases c WHERE c.intake_partner_id = flexunion_partner())`
had no index to use: PostgreSQL built that hashed subplan from a sequential scan of every case
of the federation, for every reader, staff included (17 of the 22 ms of a regional admin's
overdue list at 100k cases). A partial index on the cases a hotline platform pushed serves it
(a strict `=` implies the index's `IS NOT NULL`), and the subplan reads no rows for a caller
who is not a partner.

Measured (EXPLAIN ANALYZE as a regional admin, first page of the overdue list, 100k cases):
22.1 ms → 4.0–5.9 ms.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_intake_partner", "cases", ["intake_partner_id"],
                    postgresql_where="intake_partner_id IS NOT NULL")


def downgrade() -> None:
    op.drop_index("ix_cases_intake_partner", table_name="cases")
