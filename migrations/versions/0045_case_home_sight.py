"""会员所属工会只读: the member's home union reads a case handled where the member works (issue
15, "Referral at the place of work").

A case is handled by the tenant where the worker works (the case's place, resolved by geo),
which may be another region than the member's home. The home keeps READ access the way the
origin of a move does (0029): a `case_sight` row, so `flexunion_case_sight()` and every
`origin_read` arm (0029 `cases` / `case_clocks`, 0035 `case_disputes`, and the tables that
read "the case / the dispute is visible") reach it unchanged — no policy is edited or added.

- `case_sight.reason`: `moved` (0029's rows: the origin of a move, with its transfer) or
  `home` (the member's home union; `transfer_id` NULL). One row per (case, tenant) stays: a
  tenant that already has sight keeps its first reason.
- `flexunion_case_home_note(case)` (owner-owned, not granted to the app role): the case's
  member's home (`members.tenant_id`, for a member who is active, suspended or parked) gets a
  `home` row unless it is the case's tenant or one of its ancestors (their scope already holds
  the case). Computed from the database alone: nobody passes a tenant in. Answers the tenant
  that got a new row, NULL when none did (no member, no need, or the sight was there).
- Trigger `home_sight AFTER INSERT OR UPDATE OF tenant_id, member_id ON cases` (row by row,
  for a case naming a member): every intake channel (the app, a walk-in / visit / 12351 call
  naming a 会员号, a 12351 platform order, a case opened by a follow-up) and a move.
- `flexunion_case_home_sight(case)`: the same, for `system:jobs:case-follow-transfer` only, in
  its federation — after a transfer completes, the member's open cases that stay where they
  are handled (another region than the origin) give the new home its sight.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

JOB = "system:jobs:case-follow-transfer"
HOME_STATUSES = "('active', 'suspended', 'parked')"

NOTE_FN = f"""CREATE FUNCTION flexunion_case_home_note(noted uuid) RETURNS uuid
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE
          home uuid;
          fed uuid;
          handler uuid;
        BEGIN
          SELECT m.tenant_id, c.federation_id, c.tenant_id INTO home, fed, handler
            FROM cases c
            JOIN members m ON m.id = c.member_id AND m.federation_id = c.federation_id
           WHERE c.id = noted AND m.status IN {HOME_STATUSES};
          IF home IS NULL THEN
            RETURN NULL;
          END IF;
          IF home IN (WITH RECURSIVE up (id, parent_id) AS (
                        SELECT t.id, t.parent_id FROM tenants t WHERE t.id = handler
                        UNION ALL
                        SELECT t.id, t.parent_id FROM tenants t JOIN up ON t.id = up.parent_id)
                      SELECT up.id FROM up) THEN
            RETURN NULL;
          END IF;
          INSERT INTO case_sight (id, federation_id, tenant_id, case_id, transfer_id, reason,
                                  moved_at, moved_by)
          VALUES (gen_random_uuid(), fed, home, noted, NULL, 'home', now(),
                  coalesce(nullif(flexunion_principal(), ''), 'system:owner'))
          ON CONFLICT (case_id, tenant_id) DO NOTHING
          RETURNING tenant_id INTO home;
          RETURN home;
        END
        $$"""
TRIGGER_FN = """CREATE FUNCTION flexunion_case_home_follow() RETURNS trigger
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
          PERFORM flexunion_case_home_note(NEW.id);
          RETURN NULL;
        END
        $$"""
JOB_FN = f"""CREATE FUNCTION flexunion_case_home_sight(noted uuid) RETURNS uuid
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
          IF flexunion_principal() IS DISTINCT FROM '{JOB}' THEN
            RAISE EXCEPTION 'only {JOB} records a new home''s sight' USING ERRCODE = '42501';
          END IF;
          IF NOT EXISTS (SELECT 1 FROM cases c
                          WHERE c.id = noted AND c.federation_id = flexunion_federation()) THEN
            RAISE EXCEPTION 'no case % in this federation', noted USING ERRCODE = '42501';
          END IF;
          RETURN flexunion_case_home_note(noted);
        END
        $$"""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    op.add_column("case_sight", sa.Column("reason", sa.Text, nullable=False,
                                          server_default="moved"))
    op.create_check_constraint("ck_case_sight_reason", "case_sight",
                               "reason IN ('moved', 'home')")
    op.execute(NOTE_FN)
    op.execute("REVOKE ALL ON FUNCTION flexunion_case_home_note(uuid) FROM PUBLIC")
    op.execute(TRIGGER_FN)
    op.execute("REVOKE ALL ON FUNCTION flexunion_case_home_follow() FROM PUBLIC")
    op.execute("CREATE TRIGGER home_sight AFTER INSERT OR UPDATE OF tenant_id, member_id"
               " ON cases FOR EACH ROW WHEN (NEW.member_id IS NOT NULL)"
               " EXECUTE FUNCTION flexunion_case_home_follow()")
    op.execute(JOB_FN)
    op.execute("REVOKE ALL ON FUNCTION flexunion_case_home_sight(uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION flexunion_case_home_sight(uuid) TO {qa}")
    # The cases already in the ledger: their members' homes get sight now.
    op.execute("SELECT flexunion_case_home_note(id) FROM cases WHERE member_id IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS flexunion_case_home_sight(uuid)")
    op.execute("DROP TRIGGER IF EXISTS home_sight ON cases")
    op.execute("DROP FUNCTION IF EXISTS flexunion_case_home_follow()")
    op.execute("DROP FUNCTION IF EXISTS flexunion_case_home_note(uuid)")
    op.execute("DELETE FROM case_sight WHERE reason = 'home'")
    op.drop_constraint("ck_case_sight_reason", "case_sight", type_="check")
    op.drop_column("case_sight", "reason")
