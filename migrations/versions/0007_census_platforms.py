"""The census reads a member's platforms through its function, not the members table.

`flexunion_census_members(since)` also returns `platforms` (the member's platform links),
so the census (geo) no longer joins `members` itself: membership's table is read only
through this owner-owned function, which still returns active members homed in the
caller's scope and nothing else about them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SIGNATURE = "flexunion_census_members(timestamptz)"
_BODY = """CREATE FUNCTION flexunion_census_members(since timestamptz)
        RETURNS TABLE (member_id uuid, home_tenant_id uuid, lon double precision,
                       lat double precision, seen_at timestamptz{platforms_column})
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT m.id, m.tenant_id, c.lon, c.lat, c.recorded_at{platforms}
            FROM members m
            LEFT JOIN LATERAL (
              SELECT lon, lat, recorded_at FROM location_checkins lc
               WHERE lc.member_id = m.id AND lc.recorded_at >= since
               ORDER BY lc.recorded_at DESC LIMIT 1) c ON true
           WHERE m.status = 'active'
             AND m.tenant_id = ANY ((SELECT flexunion_tenant_scope())::uuid[])
        $$"""


def _replace(with_platforms: bool) -> None:
    app = op.get_context().config.attributes["app_role"]
    qa = '"' + app.replace('"', '""') + '"'
    op.execute(f"DROP FUNCTION {_SIGNATURE}")
    op.execute(_BODY.format(platforms_column=", platforms jsonb" if with_platforms else "",
                            platforms=", m.platforms" if with_platforms else ""))
    op.execute(f"REVOKE ALL ON FUNCTION {_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {_SIGNATURE} TO {qa}")


def upgrade() -> None:
    _replace(with_platforms=True)


def downgrade() -> None:
    _replace(with_platforms=False)

