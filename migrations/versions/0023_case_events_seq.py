"""Case events in the order they were written: `seq`, an identity column.

A request that takes two steps of one case (e.g. a route and its answer) reads the clock once,
so both events carry the same `at`; ordered by `(at, id)` their order was the order of two
random uuids, and the SLA clocks, derived from the events in order, could read them backwards.
`seq` (GENERATED ALWAYS, from one sequence) breaks ties in the order of writing; a case's
steps are written under its row lock, so that is the order they happened. Existing rows are
numbered in their physical order.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("case_events", sa.Column("seq", sa.BigInteger(),
                                           sa.Identity(always=True), nullable=False))
    op.drop_index("ix_case_events_case", table_name="case_events")
    op.create_index("ix_case_events_case", "case_events", ["case_id", "at", "seq"])


def downgrade() -> None:
    op.drop_index("ix_case_events_case", table_name="case_events")
    op.create_index("ix_case_events_case", "case_events", ["case_id", "at", "id"])
    op.drop_column("case_events", "seq")
