"""Scale: indexes and policies the planner can use under row-level security at a million
members (issue 12).

Before this revision the members list was a sequential scan of every member with a top-N
sort, and every /v1/me read scanned member_homes:

- no index served the policy's tenant predicate together with `ORDER BY created_at, id`;
- the members policies were `tenant_id = ANY (scope) OR principal = 'worker:' || worker_id
  OR EXISTS (released transfer to the scope)`: the second arm is an expression over the
  row and the third a correlated subquery, so no arm of the OR could drive an index scan
  (a BitmapOr needs every arm index-able) and the planner scanned the table;
- member_homes and transfers had no index on member_id (only partial unique ones).

Now every arm of the members policies is an indexed column compared with a value computed
once per statement (an InitPlan):

    tenant_id = ANY ((SELECT flexunion_tenant_scope()))            ix_members_tenant_created
    worker_id = (SELECT flexunion_principal_worker())              ix_members_worker
    id = ANY ((SELECT flexunion_incoming_members()))               pk_members

`flexunion_principal_worker()` is the worker id when the principal is exactly
`worker:<canonical uuid>` (the only form `'worker:' || worker_id::text` could ever equal),
else NULL; `flexunion_incoming_members()` is the ids of the members with a `released`
transfer whose destination is in the scope, read as the caller (SECURITY INVOKER: the
transfers policy applies, and it admits every such row because its destination is in the
scope). Both are STABLE; neither can be LEAKPROOF (that needs a superuser, and the owner is
not one) — they do not need to be: they take no row data, so the planner evaluates them
once and never has to push them below a security barrier. The rows each role sees are
exactly the rows it saw before; tests/security/ and tests/membership/test_plans.py check it.

Indexes (the keyset orders of the hot queries):
- members (tenant_id, created_at, id) and (tenant_id, status, created_at, id), both
  INCLUDE (worker_id): the member list, one ordered index range per tenant of the scope
  (membership/repository.py `page`). With worker_id included every column the policy reads
  is in the index, so each range is an index-only scan cut at the page size; without it
  the planner, misjudging how many rows `tenant_id = ANY ($scope)` keeps, preferred the
  policy's own BitmapOr over the whole tenant plus a sort (9,000 buffers instead of ~100
  at 100k members with a status filter). The second replaces ix_members_tenant_status
  (tenant_id, status), whose prefix it covers.
- members (worker_id): the worker arm of the policy.
- member_homes (member_id, started_at, id): a member's homes, in order (/v1/me/membership).
- transfers (member_id, requested_at, id) and (worker_id, requested_at, id): a member's and
  a worker's transfers, newest first (/v1/me/membership, /v1/me/transfers).

And flexunion_member_reach() (0005, the bargaining policies) finds the worker's membership by
`worker_id = flexunion_principal_worker()` instead of a row expression (a scan of members).

The indexes are built with plain CREATE INDEX inside the migration's transaction: on a live
database with many members that blocks writes to members, member_homes and transfers while
they build (docs/operations.md).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
WORKER = "(SELECT flexunion_principal_worker())"
INCOMING = "((SELECT flexunion_incoming_members())::uuid[])"

# 0002's forms, restored by the downgrade.
OLD_SCOPE = SCOPE
OLD_INCOMING = (f"EXISTS (SELECT 1 FROM transfers t WHERE t.member_id = members.id"
                f" AND t.status = 'released' AND t.dest_tenant_id = ANY {OLD_SCOPE})")
OLD_READ = (f"tenant_id = ANY {OLD_SCOPE} OR flexunion_principal() = 'worker:' ||"
            f" worker_id::text OR {OLD_INCOMING}")
OLD_UPDATE = f"tenant_id = ANY {OLD_SCOPE} OR {OLD_INCOMING}"

NEW_READ = f"tenant_id = ANY {SCOPE} OR worker_id = {WORKER} OR id = ANY {INCOMING}"
NEW_UPDATE = f"tenant_id = ANY {SCOPE} OR id = ANY {INCOMING}"

# flexunion_member_reach() (0005: a worker's home and its ancestors, for the bargaining
# policies) found the worker's membership with the same row expression: a scan of members.
REACH = """CREATE OR REPLACE FUNCTION flexunion_member_reach() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          WITH RECURSIVE up AS (
            SELECT t.id, t.parent_id FROM members m JOIN tenants t ON t.id = m.tenant_id
             WHERE {worker}
               AND m.status = 'active'
            UNION ALL
            SELECT t.id, t.parent_id FROM tenants t JOIN up ON t.id = up.parent_id
          )
          SELECT coalesce(array_agg(id), '{{}}') FROM up
        $$"""
OLD_REACH_WORKER = "'worker:' || m.worker_id::text = current_setting('flexunion.principal', true)"
NEW_REACH_WORKER = "m.worker_id = flexunion_principal_worker()"

INDEXES = {
    "ix_members_tenant_created": "members (tenant_id, created_at, id) INCLUDE (worker_id)",
    "ix_members_tenant_status_created": "members (tenant_id, status, created_at, id)"
                                        " INCLUDE (worker_id)",
    "ix_members_worker": "members (worker_id)",
    "ix_member_homes_member": "member_homes (member_id, started_at, id)",
    "ix_transfers_member": "transfers (member_id, requested_at, id)",
    "ix_transfers_worker": "transfers (worker_id, requested_at, id)",
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    app = _q(op.get_context().config.attributes["app_role"])
    op.execute(
        r"""CREATE FUNCTION flexunion_principal_worker() RETURNS uuid
        LANGUAGE sql STABLE PARALLEL SAFE SET search_path = public, pg_temp AS $$
          SELECT CASE WHEN p ~ '^worker:[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$'
                      THEN substr(p, 8)::uuid END
            FROM (SELECT coalesce(current_setting('flexunion.principal', true), '') AS p) s
        $$"""
    )
    op.execute(
        """CREATE FUNCTION flexunion_incoming_members() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
          SELECT coalesce(array_agg(t.member_id), '{}') FROM transfers t
           WHERE t.status = 'released' AND t.dest_tenant_id = ANY (flexunion_tenant_scope())
        $$"""
    )
    for fn in ("flexunion_principal_worker()", "flexunion_incoming_members()"):
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO {app}")

    for name, target in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {target}")
    op.drop_index("ix_members_tenant_status", table_name="members")

    op.execute(REACH.format(worker=NEW_REACH_WORKER))
    op.execute(f"ALTER POLICY home_self_or_incoming_read ON members USING ({NEW_READ})")
    op.execute(f"ALTER POLICY home_or_incoming_update ON members USING ({NEW_UPDATE})")
    op.execute("ANALYZE members")
    op.execute("ANALYZE member_homes")
    op.execute("ANALYZE transfers")


def downgrade() -> None:
    op.execute(f"ALTER POLICY home_or_incoming_update ON members USING ({OLD_UPDATE})")
    op.execute(f"ALTER POLICY home_self_or_incoming_read ON members USING ({OLD_READ})")
    op.execute(REACH.format(worker=OLD_REACH_WORKER))
    op.create_index("ix_members_tenant_status", "members", ["tenant_id", "status"])
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
    op.execute("DROP FUNCTION flexunion_incoming_members()")
    op.execute("DROP FUNCTION flexunion_principal_worker()")
