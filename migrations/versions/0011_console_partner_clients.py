"""Partner clients (平台接入客户端) managed by HQ staff in the console, as the app role.

Until now only the operator (the owner, `flexunion partner create`) made a client; the app
role could read clients of its scope and set `disabled` / `last_used_at`. Now it also:

- inserts a client anchored in a tenant of its scope, for a platform partner of its own
  federation (the service lets only HQ admins do it);
- sets `secret_hash` (rotating a client's secret; the new secret is shown once and stored
  only hashed). The existing update policy confines which rows: the scope's clients.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    op.execute(
        f"CREATE POLICY tenant_insert ON partner_clients FOR INSERT TO {qa} WITH CHECK ("
        f"tenant_id = ANY {SCOPE} AND partner_id IN ("
        f"SELECT p.id FROM platform_partners p WHERE p.tenant_id = {FEDERATION}))")
    op.execute(f"GRANT INSERT, UPDATE (secret_hash) ON partner_clients TO {qa}")


def downgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    op.execute(f"REVOKE INSERT, UPDATE (secret_hash) ON partner_clients FROM {qa}")
    op.execute("DROP POLICY IF EXISTS tenant_insert ON partner_clients")
