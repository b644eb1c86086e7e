"""Membership cards (电子会籍): read-only windows for the status list and for verification.

Row-level security hides a federation's members from an anonymous caller (the
public status list) and from tenants outside the member's home subtree (a
station officer of region A checking a card of a member homed in region B; a
partner client). Two owner-owned SECURITY DEFINER functions open exactly what
those need, and nothing more:

  flexunion_status_entries(fed)     (status_idx, status) of every member of a
                                    federation — no ids, names or homes
  flexunion_card_holder(fed, mid)   one member's masked card data and current
                                    status, only when `fed` is the caller's own
                                    federation (flexunion_federation(), from the
                                    verified token's tenant)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FUNCTIONS = ("flexunion_status_entries(uuid)", "flexunion_card_holder(uuid, uuid)")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    qa = _q(app)
    op.execute(
        """CREATE FUNCTION flexunion_status_entries(fed uuid)
        RETURNS TABLE (status_idx bigint, status text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT m.status_idx, m.status FROM members m WHERE m.federation_id = fed
        $$"""
    )
    op.execute(
        """CREATE FUNCTION flexunion_card_holder(fed uuid, mid uuid)
        RETURNS TABLE (status text, status_idx bigint, name_masked text, member_no text,
                       member_since date, home_code text, home_name_zh text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT m.status, m.status_idx, m.name_masked, m.member_no, m.member_since,
                 t.code, t.name_zh
            FROM members m JOIN tenants t ON t.id = m.tenant_id
           WHERE m.id = mid AND m.federation_id = fed
             AND fed = (SELECT flexunion_federation())
        $$"""
    )
    for fn in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO {qa}")


def downgrade() -> None:
    for fn in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
