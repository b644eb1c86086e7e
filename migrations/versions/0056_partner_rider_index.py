"""The partner's rider lookup uses the index (issue 17; docs/services.md, Benchmark).

`flexunion_partner_rider(rider)` (0054) matched `members.platforms @> [{partner, rider}]`
with the partner's code taken from a join, so the planner could not use the GIN index
`ix_members_platforms` and every partner event scanned every member of the federation
(0.1–1.4 s an event at 1M members, seen in pg_stat_activity by bench/services.py). Now the
code is read first and the containment probe is one value: the index answers it. Same
result, same callers, same grants (CREATE OR REPLACE keeps them).

Revision ID: 0056
Revises: 0055
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0056"
down_revision = "0055"
branch_labels = None
depends_on = None

NEW = """CREATE OR REPLACE FUNCTION flexunion_partner_rider(rider text)
        RETURNS TABLE (member_id uuid, tenant_id uuid)
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        #variable_conflict use_column
        DECLARE
          fed uuid;
          partner_code text;
        BEGIN
          IF coalesce(flexunion_principal(), '') !~ '^partner:' THEN
            RETURN;
          END IF;
          fed := flexunion_federation();
          SELECT p.code INTO partner_code FROM platform_partners p
           WHERE p.id = flexunion_partner() AND p.tenant_id = fed;
          IF partner_code IS NULL THEN
            RETURN;
          END IF;
          RETURN QUERY
            SELECT m.id, m.tenant_id FROM members m
             WHERE m.federation_id = fed
               AND m.platforms @> jsonb_build_array(jsonb_build_object(
                     'partner', partner_code, 'platform_worker_id', rider))
               AND m.status <> 'rejected'
             LIMIT 1;
        END
        $$"""

OLD = """CREATE OR REPLACE FUNCTION flexunion_partner_rider(rider text)
        RETURNS TABLE (member_id uuid, tenant_id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT m.id, m.tenant_id FROM members m
            JOIN platform_partners p ON p.id = (SELECT flexunion_partner())
                                    AND p.tenant_id = m.federation_id
           WHERE flexunion_principal() ~ '^partner:'
             AND m.federation_id = (SELECT flexunion_federation())
             AND m.platforms @> jsonb_build_array(jsonb_build_object(
                   'partner', p.code, 'platform_worker_id', rider))
             AND m.status <> 'rejected'
           LIMIT 1
        $$"""


def upgrade() -> None:
    op.execute(NEW)


def downgrade() -> None:
    op.execute(OLD)  # the events' insert policy names the function: replaced, never dropped
