"""Partners read no member and no transfer (a leak closed).

A platform partner's token carries its client's tenant as scope, like staff's. The members
read and update policies (0002, 0008) and the transfers policies (0002) compared the row's
tenant with `flexunion_tenant_scope()` and nothing else, so a partner client anchored at HQ
read every member of its federation — masked name, member number, status, home, employment
form, platforms, city — and every transfer; one anchored at a region read that region's
(tests/cases/test_member_leak.py showed it: 1 row where 0 were due). The tenant arms now use
`flexunion_people_scope()`: the tenant scope, or nothing for a `partner:` principal. The
worker's own arm and the transfer-incoming arm (through transfers, now hidden from partners
too) are unchanged, and every arm still compares an indexed column with a value computed
once per statement (0008's plans stand). member_homes follow members (their policies read
members). A registered 12351 platform links a work order to a member number through
`flexunion_hotline_member()` (0015), and only that.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PEOPLE = "((SELECT flexunion_people_scope())::uuid[])"
WORKER = "(SELECT flexunion_principal_worker())"
INCOMING = "((SELECT flexunion_incoming_members())::uuid[])"
PRINCIPAL = "flexunion_principal()"


def _members(scope: str) -> tuple[str, str]:
    return (f"tenant_id = ANY {scope} OR worker_id = {WORKER} OR id = ANY {INCOMING}",
            f"tenant_id = ANY {scope} OR id = ANY {INCOMING}")


def _transfers(scope: str) -> str:
    return (f"origin_tenant_id = ANY {scope} OR dest_tenant_id = ANY {scope}"
            f" OR {PRINCIPAL} = 'worker:' || worker_id::text")


def _apply(scope: str) -> None:
    read, update = _members(scope)
    op.execute(f"ALTER POLICY home_self_or_incoming_read ON members USING ({read})")
    op.execute(f"ALTER POLICY home_or_incoming_update ON members USING ({update})")
    sides = _transfers(scope)
    op.execute(f"ALTER POLICY sides_read ON transfers USING ({sides})")
    op.execute(f"ALTER POLICY sides_update ON transfers USING ({sides}) WITH CHECK ({sides})")


def upgrade() -> None:
    app = '"' + op.get_context().config.attributes["app_role"].replace('"', '""') + '"'
    op.execute(
        """CREATE FUNCTION flexunion_people_scope() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
          SELECT CASE WHEN coalesce(current_setting('flexunion.principal', true), '')
                           ~ '^partner:' THEN '{}'::uuid[]
                      ELSE flexunion_tenant_scope() END
        $$""")
    op.execute("REVOKE ALL ON FUNCTION flexunion_people_scope() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION flexunion_people_scope() TO {app}")
    _apply(PEOPLE)


def downgrade() -> None:
    _apply(SCOPE)
    op.execute("DROP FUNCTION flexunion_people_scope()")
