"""Cases follow a transfer (跟随转会, issue 15): the `case-follow-transfer` job moves a member's
open cases to the new region, and the region they left keeps reading them.

- `case_sight`: one row per (case, tenant that handled it before a move). The origin tenant
  (and its ancestors: their scope holds it) keeps READ access to the case and, through the
  policies that read "the case is visible", to its events, assignments, follow-ups, ratings and
  attachments; `case_clocks` gets the same arm. Never write access. Rows are written only by
  `flexunion_case_move()` (the app role may SELECT, nothing else).
- `flexunion_case_sight()` (owner-owned, like 0015's `flexunion_case_units()`): the case ids
  the calling staff's scope keeps sight of, computed once per statement; the new arms compare
  `cases.id` / `case_clocks.case_id` with that array (index lookups: 0021's lesson — no
  `EXISTS` or `IN (SELECT … FROM cases)` arm in a list's read policy).
- `flexunion_case_move(case, to, transfer)`: the one way a case's handling tenant changes
  (the app role has no UPDATE grant on `cases.tenant_id` and gets none): answers only
  `system:jobs:case-follow-transfer`, for a case and a destination of the caller's federation;
  moves the case and its clocks' rows, and records the origin's sight.
- The job's principal (`system:jobs:case-follow-transfer`) gets, for its federation only:
  the pending `member.transferred` rows of the outbox (read, lock and stamp `processed_at`:
  a new column grant, its own policies — it is NOT added to `flexunion_people_scope()`, so it
  reads no member, account, audit row or other outbox kind), the cases (read and update:
  the status back to received, the next node's unit), their assignments (end the origin's),
  and their clocks (read: the re-derivation). Nothing else.
- `worker_notifications.kind` also takes `case_moved` (the worker's inbox says where the case
  went).
- `ix_cases_member`: an older `member.transferred` payload names the member, not the worker.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

JOB = "system:jobs:case-follow-transfer"
SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
IS_JOB = f"({PRINCIPAL} = '{JOB}')"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer|hotline_operator):'"
SIGHT = "((SELECT flexunion_case_sight())::uuid[])"
CASE_VISIBLE = "EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id)"
OUTBOX = (f"{IS_JOB} AND kind = 'member.transferred' AND federation_id = {FEDERATION}")

SIGHT_FN = f"""CREATE FUNCTION flexunion_case_sight() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT coalesce(array_agg(DISTINCT case_id), '{{}}') FROM case_sight
           WHERE tenant_id = ANY (flexunion_tenant_scope()) AND {STAFF}
        $$"""
MOVE_FN = f"""CREATE FUNCTION flexunion_case_move(moved uuid, target uuid, transfer uuid)
        RETURNS uuid
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE
          fed uuid := flexunion_federation();
          origin uuid;
        BEGIN
          IF flexunion_principal() IS DISTINCT FROM '{JOB}' THEN
            RAISE EXCEPTION 'only {JOB} moves a case' USING ERRCODE = '42501';
          END IF;
          SELECT c.tenant_id INTO origin FROM cases c
           WHERE c.id = moved AND c.federation_id = fed FOR UPDATE;
          IF origin IS NULL THEN
            RAISE EXCEPTION 'no case % in this federation', moved USING ERRCODE = '42501';
          END IF;
          IF NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = target AND t.federation_id = fed)
          THEN
            RAISE EXCEPTION 'no tenant % in this federation', target USING ERRCODE = '42501';
          END IF;
          IF origin = target THEN
            RETURN origin;
          END IF;
          UPDATE cases SET tenant_id = target WHERE id = moved;
          UPDATE case_clocks SET tenant_id = target WHERE case_id = moved;
          INSERT INTO case_sight (id, federation_id, tenant_id, case_id, transfer_id, moved_at,
                                  moved_by)
          VALUES (gen_random_uuid(), fed, origin, moved, transfer, now(), flexunion_principal())
          ON CONFLICT (case_id, tenant_id) DO NOTHING;
          RETURN origin;
        END
        $$"""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _kinds(kinds: str) -> None:
    op.execute("ALTER TABLE worker_notifications DROP CONSTRAINT ck_worker_notifications_kind")
    op.execute("ALTER TABLE worker_notifications ADD CONSTRAINT ck_worker_notifications_kind"
               f" CHECK (kind IN {kinds})")


def upgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    op.create_table(
        "case_sight",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name="fk_case_sight_tenant_id_in_federation"),
        sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("transfer_id", UUID(as_uuid=True), nullable=True),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moved_by", sa.Text, nullable=False),
        sa.UniqueConstraint("case_id", "tenant_id", name="uq_case_sight_case_tenant"),
    )
    op.create_index("ix_case_sight_tenant", "case_sight", ["tenant_id", "case_id"])
    op.execute("ALTER TABLE case_sight ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE case_sight FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY owner_all ON case_sight TO CURRENT_USER USING (true)"
               " WITH CHECK (true)")
    op.execute(f"CREATE POLICY staff_read ON case_sight AS PERMISSIVE FOR SELECT TO {qa}"
               f" USING ({STAFF} AND tenant_id = ANY {SCOPE})")
    op.execute(f"GRANT SELECT ON case_sight TO {qa}")
    op.create_index("ix_cases_member", "cases", ["member_id"],
                    postgresql_where=sa.text("member_id IS NOT NULL"))

    for sql, signature in ((SIGHT_FN, "flexunion_case_sight()"),
                           (MOVE_FN, "flexunion_case_move(uuid, uuid, uuid)")):
        op.execute(sql)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {qa}")

    # The origin keeps reading (staff only: the function answers staff principals only).
    op.execute(f"CREATE POLICY origin_read ON cases AS PERMISSIVE FOR SELECT TO {qa}"
               f" USING (id = ANY {SIGHT})")
    op.execute(f"CREATE POLICY origin_read ON case_clocks AS PERMISSIVE FOR SELECT TO {qa}"
               f" USING (case_id = ANY {SIGHT})")

    # The job, in its federation.
    job_cases = f"{IS_JOB} AND tenant_id = ANY {SCOPE}"
    op.execute(f"CREATE POLICY follow_read ON cases AS PERMISSIVE FOR SELECT TO {qa}"
               f" USING ({job_cases})")
    op.execute(f"CREATE POLICY follow_update ON cases AS PERMISSIVE FOR UPDATE TO {qa}"
               f" USING ({job_cases}) WITH CHECK ({job_cases})")
    op.execute(f"CREATE POLICY follow_update ON case_assignments AS PERMISSIVE FOR UPDATE"
               f" TO {qa} USING ({IS_JOB} AND {CASE_VISIBLE})"
               f" WITH CHECK ({IS_JOB} AND {CASE_VISIBLE})")
    op.execute(f"CREATE POLICY follow_read ON case_clocks AS PERMISSIVE FOR SELECT TO {qa}"
               f" USING ({job_cases})")
    op.execute(f"CREATE POLICY follow_read ON domain_events AS PERMISSIVE FOR SELECT TO {qa}"
               f" USING ({OUTBOX})")
    op.execute(f"CREATE POLICY follow_mark ON domain_events AS PERMISSIVE FOR UPDATE TO {qa}"
               f" USING ({OUTBOX}) WITH CHECK ({OUTBOX})")
    op.execute(f"GRANT UPDATE (processed_at) ON domain_events TO {qa}")
    _kinds("('case_status', 'case_moved')")


def downgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    op.execute("DELETE FROM worker_notifications WHERE kind = 'case_moved'")
    _kinds("('case_status')")
    op.execute(f"REVOKE UPDATE (processed_at) ON domain_events FROM {qa}")
    for table, name in (("domain_events", "follow_mark"), ("domain_events", "follow_read"),
                        ("case_clocks", "follow_read"), ("case_assignments", "follow_update"),
                        ("cases", "follow_update"), ("cases", "follow_read"),
                        ("case_clocks", "origin_read"), ("cases", "origin_read")):
        op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS flexunion_case_move(uuid, uuid, uuid)")
    op.execute("DROP FUNCTION IF EXISTS flexunion_case_sight()")
    op.drop_index("ix_cases_member", table_name="cases")
    op.drop_table("case_sight")
