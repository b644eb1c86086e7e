"""The SLA sweep escalates a platform's overdue answer in a dispute (docs/disputes.md).

Two deadlines of a dispute are owed by the platform, not by a union unit, and so are no SLA
clock (`case_clocks`): the written reasons of an algorithmic decision
(`dispute_decisions.reply_due_at`, 0033) and the evidence a request asks for
(`dispute_requests.due_at`, 0030). The `sla-sweep` job (principal `system:jobs:sla-sweep`)
now escalates each once when it passes unanswered, as it escalates a breached clock: a case
event `escalation` (the mark: its `details.deadline_id` names the decision or the request),
an audit entry `dispute.escalated` (cases/disputes/sweep.py).

*Decision:* the sweep's principal reads **no** dispute table. The dispute tables hold what
the union and the platform wrote to each other (reasons, notes, statements); the sweep
needs only which deadline passed. `flexunion_dispute_overdue(now)` (the owner's SECURITY
DEFINER function, like 0032's and 0037's) answers exactly that principal, for its
federation: (kind, deadline id, dispute id, case id, due_at, slot) of every decision whose
reasons are not in by `reply_due_at` and every request unfulfilled by `due_at`, of a
dispute not yet handed over (衔接) on a case not closed or merged, and not marked yet (no
`escalation` event naming it on the case). Anyone else gets no row. Widening the sweep's
policies on the two tables was rejected: the row (reasons text, notes) would come with it.

Partial indexes keep the candidates cheap: awaiting reasons by `reply_due_at`, open
requests by `due_at`.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

JOB = "system:jobs:sla-sweep"
SIGNATURE = "flexunion_dispute_overdue(timestamptz)"
UNMARKED = """NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id
                   AND e.kind = 'escalation' AND e.details->>'deadline_id' = {ref}::text)"""
LIVE = "c.status NOT IN ('closed', 'merged') AND cd.step IS DISTINCT FROM 'handover'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    app = _q(op.get_context().config.attributes["app_role"])
    op.create_index("ix_dispute_decisions_awaiting", "dispute_decisions", ["reply_due_at"],
                    postgresql_where=sa.text("reasons_at IS NULL"))
    op.create_index("ix_dispute_requests_open", "dispute_requests", ["due_at"],
                    postgresql_where=sa.text("fulfilled_at IS NULL"))
    op.execute(f"""CREATE FUNCTION flexunion_dispute_overdue(p_now timestamptz)
    RETURNS TABLE (kind text, deadline_id uuid, dispute_id uuid, case_id uuid,
                   due_at timestamptz, slot text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
      WITH ok AS (
        SELECT flexunion_federation() AS fed
         WHERE current_setting('flexunion.principal', true) = '{JOB}'
      )
      SELECT * FROM (
        SELECT 'platform_reply'::text, d.id, d.dispute_id, c.id, d.reply_due_at, NULL::text
          FROM dispute_decisions d JOIN case_disputes cd ON cd.id = d.dispute_id
          JOIN cases c ON c.id = cd.case_id
         WHERE d.federation_id = (SELECT fed FROM ok) AND d.reasons_at IS NULL
           AND d.reply_due_at < p_now AND {LIVE} AND {UNMARKED.format(ref="d.id")}
        UNION ALL
        SELECT 'evidence_request'::text, r.id, r.dispute_id, c.id, r.due_at, r.slot
          FROM dispute_requests r JOIN case_disputes cd ON cd.id = r.dispute_id
          JOIN cases c ON c.id = cd.case_id
         WHERE r.federation_id = (SELECT fed FROM ok) AND r.fulfilled_at IS NULL
           AND r.due_at < p_now AND {LIVE} AND {UNMARKED.format(ref="r.id")}
      ) AS due (kind, deadline_id, dispute_id, case_id, due_at, slot)
      ORDER BY due_at, deadline_id
    $$""")
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {app}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.drop_index("ix_dispute_requests_open", table_name="dispute_requests")
    op.drop_index("ix_dispute_decisions_awaiting", table_name="dispute_decisions")
