"""受理时扫码识别会员: staff link a walk-in or a visit to the member a presented card names,
wherever in the federation the member is homed (issue 15, "Referral at the place of work").

A station officer of region B cannot read a member homed in region A (RLS: members by home
subtree), so a 会员号 names nobody there. A membership card can: it is verified first by the
cards service (signature, expiry, the holder's status now), then this owner-owned function
answers the one thing the case needs and the card does not carry — the member's worker
account, so the worker reads the case in the app and is told of it:

  flexunion_card_member(fed, mid)   (worker_id, status) of one member, only when `fed` is
                                    the caller's own federation and the caller is staff who
                                    check cards (HQ, regional admins, station officers; not a
                                    12351 operator, a partner, a provider or a worker)

Nothing else of the member (name, phone, home, ID) is answered; the masked name and home the
case keeps are the card's own. The member's home union then reads the case through the
`home_sight` trigger (0045), as for every intake naming a member.

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None

FUNCTION = "flexunion_card_member(uuid, uuid)"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    op.execute(
        """CREATE FUNCTION flexunion_card_member(fed uuid, mid uuid)
        RETURNS TABLE (worker_id uuid, status text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT m.worker_id, m.status FROM members m
           WHERE m.id = mid AND m.federation_id = fed
             AND fed = (SELECT flexunion_federation())
             AND flexunion_principal() ~ '^(hq_admin|regional_admin|station_officer):'
        $$""")
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {qa}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}")
