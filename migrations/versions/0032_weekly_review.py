"""周研判 the weekly risk review: each region's signals of a week and the officers' judgements
(issue 15).

- `review_signals`: one row per (region `tenant_id`, ISO week, kind, dimension, place,
  detail) that crossed its threshold (cases/weekly/rules.py), with its value, baseline, spread,
  threshold and why; a judgement (制度瑕疵 system_flaw / 执行偏差 execution_deviation / 个案争议
  individual) with its action, follow-up node and due date is written onto the row. A re-run
  of a week upserts (the judgement kept) and deletes the unjudged signals that no longer cross.
  Read by hq_admin / regional_admin whose subtree holds the region, by a station_officer for
  the signals placed at its own station (`place_tenant_id`), and by the job
  `system:jobs:weekly-review` in its federation; written by the same managers and the job; a
  station officer may judge its own station's signals (UPDATE only). Never a partner, a
  worker, a hotline operator or another job.
- `flexunion_weekly_review_counts(tenants uuid[], start timestamptz)`: SECURITY DEFINER,
  counts only — cases, disputes, repeated categories, overdue clocks per week and place for
  the five weeks from start - 4 weeks, and the partners' roster active counts (people data:
  never a row, a reference or a point) at the week and the week before. Only for the tenants
  of the caller's own subtree, and only for hq_admin / regional_admin / the weekly job:
  anyone else gets no rows. The job reads no people table itself (0027's allow-list keeps it
  out of `flexunion_people_scope()`).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
JOB = f"({PRINCIPAL} = 'system:jobs:weekly-review' AND federation_id = {FEDERATION})"
MANAGERS = f"({PRINCIPAL} ~ '^(hq_admin|regional_admin):' AND tenant_id = ANY {SCOPE})"
OFFICER = f"({PRINCIPAL} ~ '^station_officer:' AND place_tenant_id = ANY {SCOPE})"
# Frozen copies of flexunion.cases.weekly (migrations never import app code).
KINDS = ("cases", "disputes", "category", "overdue", "roster_drop")
DIMENSIONS = ("station", "zone", "partner")
JUDGEMENTS = ("system_flaw", "execution_deviation", "individual")

COUNTS = """CREATE OR REPLACE FUNCTION flexunion_weekly_review_counts(p_tenants uuid[],
        p_start timestamptz)
        RETURNS TABLE (source text, dimension text, place text, detail text, wk int, n bigint)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH allowed AS (
    SELECT t FROM unnest(p_tenants) AS t
     WHERE t = ANY (flexunion_tenant_scope())
       AND coalesce(current_setting('flexunion.principal', true), '')
           ~ '^(hq_admin|regional_admin):|^system:jobs:weekly-review$'
  ), c AS (
    SELECT tenant_id::text AS station, place->>'zone' AS zone, partner_id::text AS partner,
           category, floor(extract(epoch FROM created_at - p_start) / 604800)::int AS wk
      FROM cases
     WHERE tenant_id IN (SELECT t FROM allowed) AND status <> 'merged'
       AND created_at >= p_start - interval '28 days' AND created_at < p_start + interval '7 days'
  ), d AS (
    SELECT tenant_id::text AS station, partner_id::text AS partner,
           floor(extract(epoch FROM opened_at - p_start) / 604800)::int AS wk
      FROM case_disputes
     WHERE tenant_id IN (SELECT t FROM allowed)
       AND opened_at >= p_start - interval '28 days' AND opened_at < p_start + interval '7 days'
  ), o AS (
    SELECT tenant_id::text AS station,
           floor(extract(epoch FROM deadline - p_start) / 604800)::int AS wk
      FROM case_clocks
     WHERE tenant_id IN (SELECT t FROM allowed)
       AND deadline >= p_start - interval '28 days' AND deadline < p_start + interval '7 days'
       AND (ended_at IS NULL OR ended_at > deadline)
  ), u AS (
    SELECT w.wk, x.id AS upload_id, x.partner_id
      FROM (VALUES (0), (-1)) AS w(wk) CROSS JOIN LATERAL (
        SELECT DISTINCT ON (partner_id) id, partner_id FROM roster_uploads
         WHERE uploaded_at < p_start + (w.wk + 1) * interval '7 days'
           AND uploaded_at >= p_start + (w.wk - 3) * interval '7 days'
           AND federation_id = (SELECT federation_id FROM tenants
                                 WHERE id = (SELECT t FROM allowed LIMIT 1))
         ORDER BY partner_id, uploaded_at DESC, id DESC) x
  )
  SELECT 'cases', 'station', station, '', wk, count(*) FROM c GROUP BY station, wk
  UNION ALL
  SELECT 'cases', 'zone', zone, '', wk, count(*) FROM c WHERE zone IS NOT NULL
   GROUP BY zone, wk
  UNION ALL
  SELECT 'cases', 'partner', partner, '', wk, count(*) FROM c WHERE partner IS NOT NULL
   GROUP BY partner, wk
  UNION ALL
  SELECT 'category', 'station', station, category, wk, count(*) FROM c
   GROUP BY station, category, wk
  UNION ALL
  SELECT 'category', 'zone', zone, category, wk, count(*) FROM c WHERE zone IS NOT NULL
   GROUP BY zone, category, wk
  UNION ALL
  SELECT 'disputes', 'station', station, '', wk, count(*) FROM d GROUP BY station, wk
  UNION ALL
  SELECT 'disputes', 'partner', partner, '', wk, count(*) FROM d GROUP BY partner, wk
  UNION ALL
  SELECT 'overdue', 'station', station, '', wk, count(*) FROM o GROUP BY station, wk
  UNION ALL
  SELECT 'roster', 'station', e.tenant_id::text, u.partner_id::text, u.wk,
         count(*) FILTER (WHERE e.active_days > 0)
    FROM u JOIN roster_entries e ON e.upload_id = u.upload_id
   WHERE e.tenant_id IN (SELECT t FROM allowed)
   GROUP BY e.tenant_id, u.partner_id, u.wk
$$"""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    app = _q(op.get_context().config.attributes["app_role"])
    op.create_table(
        "review_signals",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name="fk_review_signals_tenant_id_in_federation"),
        sa.Column("week", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("dimension", sa.Text, nullable=False),
        sa.Column("place", sa.Text, nullable=False),
        sa.Column("place_tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"),
                  nullable=True),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("baseline", sa.Double, nullable=False),
        sa.Column("spread", sa.Double, nullable=False),
        sa.Column("threshold", sa.Double, nullable=False),
        sa.Column("why_zh", sa.Text, nullable=False),
        sa.Column("why_en", sa.Text, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("judgement", sa.Text, nullable=True),
        sa.Column("action", sa.Text, nullable=True),
        sa.Column("follow_up_node", sa.Text, nullable=True),
        sa.Column("follow_up_due", sa.Date, nullable=True),
        sa.Column("judged_by", sa.Text, nullable=True),
        sa.Column("judged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("week ~ '^[0-9]{4}-W[0-9]{2}$'", name="week"),
        sa.CheckConstraint(f"kind IN {_in(KINDS)}", name="kind"),
        sa.CheckConstraint(f"dimension IN {_in(DIMENSIONS)}", name="dimension"),
        sa.CheckConstraint(f"judgement IS NULL OR judgement IN {_in(JUDGEMENTS)}",
                           name="judgement"),
        sa.CheckConstraint("(judgement IS NULL) = (judged_at IS NULL) AND (judgement IS NULL)"
                           " = (action IS NULL)", name="judged"),
        sa.UniqueConstraint("tenant_id", "week", "kind", "dimension", "place", "detail",
                            name="uq_review_signals_place"),
    )
    op.create_index("ix_review_signals_place_tenant", "review_signals",
                    ["place_tenant_id", "week"])
    op.execute("ALTER TABLE review_signals ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE review_signals FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY owner_all ON review_signals TO CURRENT_USER USING (true)"
               " WITH CHECK (true)")
    writers = f"({MANAGERS} OR {JOB})"
    for name, command, using, check in (
            ("read", "SELECT", f"{writers} OR {OFFICER}", None),
            ("writer_insert", "INSERT", None, writers),
            ("writer_update", "UPDATE", f"{writers} OR {OFFICER}", f"{writers} OR {OFFICER}"),
            ("writer_delete", "DELETE", f"{writers} AND judged_at IS NULL", None)):
        sql = f"CREATE POLICY {name} ON review_signals AS PERMISSIVE FOR {command} TO {app}"
        if using:
            sql += f" USING ({using})"
        if check:
            sql += f" WITH CHECK ({check})"
        op.execute(sql)
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON review_signals TO {app}")
    op.execute(COUNTS)
    fn = "flexunion_weekly_review_counts(uuid[], timestamptz)"
    op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO {app}")


def downgrade() -> None:
    op.execute("DROP FUNCTION flexunion_weekly_review_counts(uuid[], timestamptz)")
    op.drop_table("review_signals")
