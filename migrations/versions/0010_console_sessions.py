"""Console sessions (工作台登录会话): a staff member signed in to the web console.

The browser holds only a random token in an HttpOnly cookie; the row keeps its sha256, the
account, its tenant and role, the CSRF token of the session, when it started, when it was
last used, when it must end at the latest (absolute expiry) and when it ended (logout,
idle, expiry, a disabled account).

- The app role sees and changes only its own sessions: the tenant in scope and the acting
  principal (`<role>:<account id>`) both match. It inserts a session only for itself.
- flexunion_console_session(hash, at, idle): the one read that needs no scope — which
  session does this cookie open? SECURITY DEFINER, one row or none: a session that is not
  ended, not past its absolute expiry, not idle longer than `idle` and whose account is not
  disabled; it marks the last use (at most once a minute: a page view is no write storm).
  A session found idle or expired is ended on the spot, with its reason. The caller gives
  `at` (the app's clock, which tests shift).
- Ended sessions are purged 30 days after they end (db/retention.py).

And audit_events (object_type, object_id, seq): one object's history, newest first (a
member's page shows its status history) without walking the whole trail.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA, UUID

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
OWN = f"tenant_id = ANY {SCOPE} AND principal = (SELECT flexunion_principal())"
FUNCTION = "flexunion_console_session(bytea, timestamptz, interval)"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    qa = _q(app)
    op.create_table(
        "console_sessions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("token_hash", BYTEA, nullable=False, unique=True),
        sa.Column("federation_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"),
                  nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("admin_accounts.id"),
                  nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("principal", sa.Text, nullable=False),
        sa.Column("csrf_token", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        _ts("created_at"),
        _ts("last_seen_at"),
        _ts("expires_at"),
        _ts("ended_at", nullable=True),
        sa.Column("ended_reason", sa.Text, nullable=True),
        sa.CheckConstraint("octet_length(token_hash) = 32", name="token_hash_sha256"),
        sa.CheckConstraint("method IN ('password', 'oidc')", name="method"),
        sa.CheckConstraint("role IN ('hq_admin', 'regional_admin', 'station_officer')",
                           name="role"),
        sa.CheckConstraint("principal = role || ':' || account_id::text", name="principal"),
        sa.CheckConstraint("ended_reason IN ('logout', 'idle', 'expired', 'disabled')",
                           name="ended_reason"),
        sa.CheckConstraint("(ended_at IS NULL) = (ended_reason IS NULL)", name="ended"),
    )
    op.create_index("ix_console_sessions_account", "console_sessions", ["account_id"])
    op.create_index("ix_console_sessions_ended", "console_sessions", ["ended_at"],
                    postgresql_where=sa.text("ended_at IS NOT NULL"))
    op.execute("ALTER TABLE console_sessions ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE console_sessions FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY owner_all ON console_sessions TO CURRENT_USER"
               " USING (true) WITH CHECK (true)")
    op.execute(f"CREATE POLICY own_read ON console_sessions FOR SELECT TO {qa} USING ({OWN})")
    op.execute(f"CREATE POLICY own_insert ON console_sessions FOR INSERT TO {qa}"
               f" WITH CHECK ({OWN})")
    op.execute(f"CREATE POLICY own_end ON console_sessions FOR UPDATE TO {qa}"
               f" USING ({OWN}) WITH CHECK ({OWN})")
    op.execute(f"GRANT SELECT, INSERT, UPDATE (ended_at, ended_reason) ON console_sessions"
               f" TO {qa}")
    op.execute(
        """CREATE FUNCTION flexunion_console_session(hash bytea, at timestamptz, idle interval)
        RETURNS TABLE (id uuid, federation_id uuid, tenant_id uuid, tenant_code text,
                       account_id uuid, role text, display_name text, csrf_token text,
                       expires_at timestamptz)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE s console_sessions%ROWTYPE; a admin_accounts%ROWTYPE; why text;
        BEGIN
          SELECT * INTO s FROM console_sessions c WHERE c.token_hash = hash;
          IF NOT FOUND OR s.ended_at IS NOT NULL THEN RETURN; END IF;
          SELECT * INTO a FROM admin_accounts x WHERE x.id = s.account_id;
          why := CASE WHEN a.disabled THEN 'disabled'
                      WHEN at >= s.expires_at THEN 'expired'
                      WHEN at >= s.last_seen_at + idle THEN 'idle' END;
          IF why IS NOT NULL THEN
            UPDATE console_sessions c SET ended_at = at, ended_reason = why
             WHERE c.id = s.id AND c.ended_at IS NULL;
            RETURN;
          END IF;
          IF at >= s.last_seen_at + interval '1 minute' THEN
            UPDATE console_sessions c SET last_seen_at = at WHERE c.id = s.id;
          END IF;
          RETURN QUERY SELECT s.id, s.federation_id, s.tenant_id, t.code, s.account_id,
                              s.role, a.display_name, s.csrf_token, s.expires_at
                         FROM tenants t WHERE t.id = s.tenant_id;
        END $$"""
    )
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {qa}")
    op.create_index("ix_audit_events_object", "audit_events", ["object_type", "object_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_object", table_name="audit_events")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}")
    op.drop_table("console_sessions")
