"""Disputes follow a transfer (跟随转会 for 争议处置, issue 15).

0029's `flexunion_case_move()` changes `cases.tenant_id` (and the clocks'); the dispute rows
(0030, 0031, 0033) carry their own `tenant_id` = the case's, and would stay behind: the
destination could neither see nor act on the dispute, and a `case_referrals` row (whose read
arm requires its tenant to be the case's) would be seen by nobody.

- `flexunion_case_tenant_follow()` (owner-owned, SECURITY DEFINER: the rows are written with
  the owner's `owner_all` policy, the app role gets no UPDATE grant on any `tenant_id`): a
  trigger `AFTER UPDATE OF tenant_id ON cases`, row by row, only when the tenant changed,
  that moves `case_disputes`, `dispute_requests`, `dispute_evidence`, `dispute_steps`,
  `dispute_replies`, `dispute_referrals`, `dispute_decisions`, `dispute_resolutions` and
  `case_referrals` of the case to the case's new tenant. 0029's function is not edited: any
  future path that changes a case's tenant takes its disputes along too. A resolution's
  `followup_tenant_id` (the unit responsible for the 回访, chosen by staff) is not touched.
- `case_disputes` gets `origin_read`: the origin's sight (`flexunion_case_sight()`, the arm
  0029 gave `cases` / `case_clocks`, read only; for the dispute's staff — hq / regional /
  station — not the 12351 operator, who sees no dispute table). The other dispute tables read
  "the dispute is visible" (`EXISTS (SELECT 1 FROM case_disputes …)`), so the arm reaches
  them; their writes stay `tenant_id = ANY (scope)`, i.e. the destination's.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

SIGHT = "((SELECT flexunion_case_sight())::uuid[])"
# The dispute's staff (0030): not the 12351 operator, whom flexunion_case_sight() also answers.
STAFF = "flexunion_principal() ~ '^(hq_admin|regional_admin|station_officer):'"
# Tables keyed by the dispute, and by the case.
BY_DISPUTE = ("dispute_requests", "dispute_evidence", "dispute_steps", "dispute_replies",
              "dispute_referrals", "dispute_decisions", "dispute_resolutions")
BY_CASE = ("case_disputes", "case_referrals")

_moves = "\n".join(
    [f"          UPDATE {t} SET tenant_id = NEW.tenant_id WHERE case_id = NEW.id;"
     for t in BY_CASE]
    + [f"          UPDATE {t} SET tenant_id = NEW.tenant_id WHERE dispute_id IN"
       " (SELECT d.id FROM case_disputes d WHERE d.case_id = NEW.id);" for t in BY_DISPUTE])
FOLLOW_FN = f"""CREATE FUNCTION flexunion_case_tenant_follow() RETURNS trigger
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
{_moves}
          RETURN NULL;
        END
        $$"""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    op.execute(FOLLOW_FN)
    op.execute("REVOKE ALL ON FUNCTION flexunion_case_tenant_follow() FROM PUBLIC")
    op.execute("CREATE TRIGGER tenant_follow AFTER UPDATE OF tenant_id ON cases FOR EACH ROW"
               " WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)"
               " EXECUTE FUNCTION flexunion_case_tenant_follow()")
    op.execute(f"CREATE POLICY origin_read ON case_disputes AS PERMISSIVE FOR SELECT TO {qa}"
               f" USING ({STAFF} AND case_id = ANY {SIGHT})")


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS origin_read ON case_disputes")
    op.execute("DROP TRIGGER IF EXISTS tenant_follow ON cases")
    op.execute("DROP FUNCTION IF EXISTS flexunion_case_tenant_follow()")
