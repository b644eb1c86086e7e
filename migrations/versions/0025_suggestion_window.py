"""The suggestion link's hour window: how many, and since when (issue 14).

The anonymous suggestion form (意见收集二维码) takes 30 suggestions a station an hour. It
answered a full window with a fixed `Retry-After: 600`, but a slot frees only when the oldest
suggestion of the window turns an hour old, so a retry after 600 s could be refused again.
`flexunion_suggestion_window` returns the count and the oldest moment of the window, so the
answer can say exactly when the next slot opens. (The count alone,
`flexunion_suggestions_since`, is replaced.)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

WINDOW = """CREATE FUNCTION flexunion_suggestion_window(station uuid, since timestamptz)
RETURNS TABLE (n bigint, oldest timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT count(*), min(created_at) FROM cases
   WHERE tenant_id = station AND channel = 'qr_suggestion' AND created_at >= since
$$"""
SINCE = """CREATE FUNCTION flexunion_suggestions_since(station uuid, since timestamptz)
RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT count(*) FROM cases
   WHERE tenant_id = station AND channel = 'qr_suggestion' AND created_at >= since
$$"""


def _function(sql: str, signature: str) -> None:
    app = op.get_context().config.attributes["app_role"]
    qa = '"' + app.replace('"', '""') + '"'
    op.execute(sql)
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {qa}")


def upgrade() -> None:
    _function(WINDOW, "flexunion_suggestion_window(uuid, timestamptz)")
    op.execute("DROP FUNCTION flexunion_suggestions_since(uuid, timestamptz)")


def downgrade() -> None:
    _function(SINCE, "flexunion_suggestions_since(uuid, timestamptz)")
    op.execute("DROP FUNCTION flexunion_suggestion_window(uuid, timestamptz)")
