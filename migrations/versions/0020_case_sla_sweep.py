"""The SLA sweep (临期提醒, 超期升级): the `sla-sweep` job reads its federation's cases.

The job (principal `system:jobs:sla-sweep`, scope: the federation's HQ) writes `reminder`
and `escalation` events on cases (cases/clocks/sweep.py). Writing an event needs the case to
be visible (case_events `append_as_self`), and writing one re-derives the case's clocks, which
reads its events and assignments and updates its clock rows — all behind the cases policy.
Until now no `system:` principal saw a case; this admits exactly that principal, for the
tenants of its scope, to SELECT cases and lock them (an UPDATE policy whose WITH CHECK is
false: a step locks its case row first; the sweep can change no case). Its
sight therefore widens to every table whose policy reads "the case is visible" (events,
assignments, attachments, follow-ups, ratings, rectification links…):
tests/security/audiences.py states each cell under `system_sla_sweep`.

The 督办 list (`GET /v1/cases/escalated`) reads escalations newest first along
`ix_case_events_escalations (at, id) WHERE kind = 'escalation'`.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
JOB = "system:jobs:sla-sweep"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    op.execute(f"CREATE POLICY sla_sweep_read ON cases AS PERMISSIVE FOR SELECT TO {qa}"
               f" USING (flexunion_principal() = '{JOB}' AND tenant_id = ANY {SCOPE})")
    # A step locks its case row first (SELECT … FOR UPDATE, which PostgreSQL checks against
    # the UPDATE policies' USING): the sweep may lock, never change, a case (WITH CHECK false).
    op.execute(f"CREATE POLICY sla_sweep_lock ON cases AS PERMISSIVE FOR UPDATE TO {qa}"
               f" USING (flexunion_principal() = '{JOB}' AND tenant_id = ANY {SCOPE})"
               f" WITH CHECK (false)")
    op.create_index("ix_case_events_escalations", "case_events", ["at", "id"],
                    postgresql_where=sa.text("kind = 'escalation'"))


def downgrade() -> None:
    op.drop_index("ix_case_events_escalations", table_name="case_events")
    op.execute("DROP POLICY IF EXISTS sla_sweep_lock ON cases")
    op.execute("DROP POLICY IF EXISTS sla_sweep_read ON cases")
