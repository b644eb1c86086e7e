"""流动议事: participation grants — a member may see and support the agenda board of a region
where they work, not only their home's, while a grant is active (bargaining/participation/).

- `participation_grants`: one row per (member, granted region) while unrevoked (partial unique
  index); `tenant_id` is the granted region, `home_tenant_id` the member's home region when
  granted. Reason `checkins` | `case` | `manual`, `evidence` (the check-in count and window,
  or the case id), `expires_at`, `granted_by` (the job's principal or a staff principal),
  `revoked_at` / `revoked_by` / `revoke_reason`.
- Who sees a grant (RLS, forced): the worker their own; staff of the granted region and of
  the member's home region (their subtrees); the grant job in its federation; partners none.
  Writes: HQ and regional admins within their subtree (the granted region must be theirs),
  and the job `system:jobs:participation` in its federation.
- `flexunion_member_granted()`: the regions the calling worker's *active* grants (unrevoked,
  unexpired, membership active) reach, as an array — a new permissive read policy
  `granted_read` on agenda_items and agenda_item_events (public entries), OR-ed with their
  `board_read` (`tenant_id = ANY (...)`, one InitPlan, like flexunion_member_reach()).
  agenda_supports' insert policy asks that the item be visible, so a granted member may
  support (one support per member and item still: the primary key).
- `flexunion_participation_candidates(since, min_checkins)`: for the job only. Members with
  ≥ min_checkins check-ins since `since` whose jurisdiction lies in a region other than their
  home region, and members with an open case (not answered/merged/closed) handled in such a
  region. The cases domain sits above bargaining, and the job's principal reads neither
  check-ins nor cases under RLS, so this owner-owned function reads both and returns only
  (member, worker, home region, region, reason, count, case id) of its federation.
- `flexunion_participation_member(member)`: for HQ/regional admins granting by hand: an
  active member of their federation's worker id and home region (staff of another region
  cannot read the member's row).

A region here is a `regional` tenant; a station's region is its parent.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
JOB_PRINCIPAL = "system:jobs:participation"
JOB = f"({PRINCIPAL} = '{JOB_PRINCIPAL}' AND federation_id = {FEDERATION})"
ADMINS = f"({PRINCIPAL} ~ '^(hq_admin|regional_admin):' AND tenant_id = ANY {SCOPE})"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
STAFF_READ = (f"({STAFF} AND (tenant_id = ANY {SCOPE} OR home_tenant_id = ANY {SCOPE}))")
WORKER_SELF = f"{PRINCIPAL} = 'worker:' || worker_id::text"
GRANTED = "tenant_id = ANY ((SELECT flexunion_member_granted())::uuid[])"
REASONS = ("checkins", "case", "manual")
# The board's tables that gain a read policy for granted regions: (table, using).
ARMS = (
    ("agenda_items", GRANTED),
    ("agenda_item_events", f"audience = 'all' AND {GRANTED}"),
)
REGION_OF = ("CASE WHEN t.kind = 'regional' THEN t.id"
             " WHEN t.kind = 'station' THEN t.parent_id END")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    app = _q(op.get_context().config.attributes["app_role"])
    op.create_table(
        "participation_grants",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("worker_id", UUID(as_uuid=True), sa.ForeignKey("worker_accounts.id"),
                  nullable=False),
        sa.Column("home_tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"),
                  nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("evidence", JSONB, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("granted_by", sa.Text, nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Text, nullable=True),
        sa.Column("revoke_reason", sa.Text, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name="fk_participation_grants_tenant_id_in_federation"),
        sa.CheckConstraint("reason IN ('checkins', 'case', 'manual')", name="reason"),
        sa.CheckConstraint("tenant_id <> home_tenant_id", name="not_home"),
        sa.CheckConstraint("expires_at > granted_at", name="expires_after_granted"),
        sa.CheckConstraint("reason <> 'manual' OR note IS NOT NULL", name="manual_has_note"),
        sa.CheckConstraint("(revoked_at IS NULL) = (revoked_by IS NULL)", name="revoked_by"),
    )
    op.create_index("uq_participation_grants_open", "participation_grants",
                    ["member_id", "tenant_id"], unique=True,
                    postgresql_where=sa.text("revoked_at IS NULL"))
    op.create_index("ix_participation_grants_worker", "participation_grants", ["worker_id"])
    op.create_index("ix_participation_grants_tenant", "participation_grants",
                    ["tenant_id", "expires_at"])
    op.create_index("ix_participation_grants_home", "participation_grants", ["home_tenant_id"])
    t = "participation_grants"
    op.execute(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY owner_all ON {t} TO CURRENT_USER USING (true) WITH CHECK (true)")
    op.execute(f"CREATE POLICY grant_read ON {t} FOR SELECT TO {app}"
               f" USING ({WORKER_SELF} OR {STAFF_READ} OR {JOB})")
    op.execute(f"CREATE POLICY grant_insert ON {t} FOR INSERT TO {app}"
               f" WITH CHECK ({ADMINS} OR {JOB})")
    op.execute(f"CREATE POLICY grant_update ON {t} FOR UPDATE TO {app}"
               f" USING ({ADMINS} OR {JOB}) WITH CHECK ({ADMINS} OR {JOB})")
    op.execute(f"GRANT SELECT, INSERT, UPDATE (reason, evidence, note, granted_by, granted_at,"
               f" renewed_at, expires_at, revoked_at, revoked_by, revoke_reason) ON {t} TO {app}")

    functions = {
        "flexunion_member_granted()": """CREATE FUNCTION flexunion_member_granted()
        RETURNS uuid[] LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
        AS $$
          SELECT coalesce(array_agg(DISTINCT g.tenant_id), '{}') FROM participation_grants g
            JOIN members m ON m.id = g.member_id AND m.status = 'active'
           WHERE 'worker:' || g.worker_id::text = current_setting('flexunion.principal', true)
             AND g.revoked_at IS NULL AND g.expires_at > now()
        $$""",
        "flexunion_participation_candidates(timestamptz, integer)": f"""CREATE FUNCTION
        flexunion_participation_candidates(p_since timestamptz, p_min integer)
        RETURNS TABLE (member_id uuid, worker_id uuid, home_region uuid, region uuid,
                       reason text, checkins bigint, case_id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          WITH ok AS (
            SELECT flexunion_federation() AS fed
             WHERE current_setting('flexunion.principal', true) = '{JOB_PRINCIPAL}'
          ), home AS (
            SELECT m.id, m.worker_id, {REGION_OF} AS region
              FROM members m JOIN tenants t ON t.id = m.tenant_id
             WHERE m.status = 'active' AND m.federation_id = (SELECT fed FROM ok)
          ), seen AS (
            SELECT c.member_id, {REGION_OF} AS region, count(*) AS n
              FROM location_checkins c JOIN tenants t ON t.id = c.jurisdiction_tenant_id
             WHERE c.federation_id = (SELECT fed FROM ok) AND c.recorded_at >= p_since
             GROUP BY 1, 2
          ), by_case AS (
            SELECT DISTINCT ON (c.member_id, {REGION_OF}) c.member_id, {REGION_OF} AS region,
                   c.id AS case_id
              FROM cases c JOIN tenants t ON t.id = c.tenant_id
             WHERE c.federation_id = (SELECT fed FROM ok) AND c.member_id IS NOT NULL
               AND c.status NOT IN ('answered', 'merged', 'closed')
             ORDER BY c.member_id, {REGION_OF}, c.created_at DESC, c.id
          )
          SELECT h.id, h.worker_id, h.region, s.region, 'checkins', s.n, NULL::uuid
            FROM seen s JOIN home h ON h.id = s.member_id
           WHERE s.region IS NOT NULL AND s.region IS DISTINCT FROM h.region
             AND h.region IS NOT NULL AND s.n >= p_min
          UNION ALL
          SELECT h.id, h.worker_id, h.region, b.region, 'case', NULL::bigint, b.case_id
            FROM by_case b JOIN home h ON h.id = b.member_id
           WHERE b.region IS NOT NULL AND b.region IS DISTINCT FROM h.region
             AND h.region IS NOT NULL
        $$""",
        "flexunion_participation_member(uuid)": f"""CREATE FUNCTION
        flexunion_participation_member(p_member uuid)
        RETURNS TABLE (worker_id uuid, home_region uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT m.worker_id, {REGION_OF} FROM members m JOIN tenants t ON t.id = m.tenant_id
           WHERE m.id = p_member AND m.status = 'active'
             AND m.federation_id = flexunion_federation()
             AND coalesce(current_setting('flexunion.principal', true), '')
                 ~ '^(hq_admin|regional_admin):'
        $$""",
    }
    for signature, sql in functions.items():
        op.execute(sql)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {app}")

    for table, using in ARMS:
        op.execute(f"CREATE POLICY granted_read ON {table} AS PERMISSIVE FOR SELECT TO {app}"
                   f" USING ({using})")


def downgrade() -> None:
    for table, _ in ARMS:
        op.execute(f"DROP POLICY granted_read ON {table}")
    op.drop_table("participation_grants")
    for fn in ("flexunion_member_granted()",
               "flexunion_participation_candidates(timestamptz, integer)",
               "flexunion_participation_member(uuid)"):
        op.execute(f"DROP FUNCTION {fn}")
