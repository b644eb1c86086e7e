"""The job queue (jobs/): pgqueuer's schema in its own PostgreSQL schema `jobs`, what the app
role needs to enqueue and to work jobs, and what a job's system principal may do under RLS.

- The queue's tables, indexes, enum and trigger are rendered by pgqueuer's own query builder
  (`QueryBuilderEnvironment.build_install_query`) at migration time, for the release pinned
  in pyproject.toml; nothing is copied from its repository. They need no extension (plain
  tables, a plpgsql trigger calling pg_notify). They live in the schema `jobs`, not in
  `public`: they hold no tenant's rows (a payload names a federation id and ids, never
  personal data) and carry no RLS, so they stay out of the tenant-table catalog check and
  out of the models (tests/jobs/test_schema.py pins what the app role may do there).
- The app role enqueues (INSERT into the queue and its log) inside a request's transaction
  and works jobs (dequeue = UPDATE, finish = DELETE + log INSERT, heartbeats, schedules,
  statistics). No TRUNCATE, no DELETE of log, statistics or schedules, no DDL.
- `flexunion_job_federations()` lists the federations (their HQ tenant ids) to a job's
  system principal (`system:jobs:<name>`) only: a periodic job fans out one job per
  federation, each run in its own transaction with that federation's HQ as scope.
- Closing a ballot past `closes_at` (principal `system:jobs:close-ballots`): the staff
  policies the close passes (ballots, roll, agenda items and their timeline) admit that one
  principal besides the staff roles. It acts within its scope (one federation) like an HQ
  officer closing a ballot, and nothing else in bargaining admits it.
- `flexunion_purge_expired(days)`: the retention purge (db/retention.py), owner-owned, run
  by the `system:jobs:purge` principal only, with fixed windows (only the check-in window is
  a setting, at least 1 day). The app role still may DELETE none of those tables.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SCHEMA = "jobs"
CHANNEL = "flexunion_jobs"
STAFF_RE = "'^(hq_admin|regional_admin|station_officer):'"
CLOSER_RE = "'^(hq_admin|regional_admin|station_officer):|^system:jobs:close-ballots$'"
# (table, policy) the close of a ballot passes: read and update the ballot, count the roll,
# read/update/ratify the item, write its timeline entry (bargaining/ballots/service.py).
CLOSE_POLICIES = (
    ("ballots", "board_or_elector_read"), ("ballots", "staff_update"),
    ("ballot_electors", "staff_or_self_read"),
    ("agenda_items", "board_read"), ("agenda_items", "staff_update"),
    ("agenda_item_events", "board_read"), ("agenda_item_events", "staff_insert"),
)
PURGE = "flexunion_purge_expired(integer)"
FEDERATIONS = "flexunion_job_federations()"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pgqueuer_install() -> list[str]:
    """pgqueuer's install, one statement at a time (a prepared statement holds one): the
    same renderers, in the same order, as its `build_install_query()`."""
    from pgqueuer.adapters.persistence import schema_ddl
    from pgqueuer.domain.schema.declaration import target

    settings = _settings()
    schema = target(settings)
    return [f"CREATE SCHEMA {SCHEMA}",
            *(schema_ddl.render_enum(e, settings) for e in schema.enums),
            *(schema_ddl.render_table(t, settings) for t in schema.tables),
            *(schema_ddl.render_index(i, settings) for i in schema.indexes),
            *(schema_ddl.render_function(f, settings) for f in schema.functions),
            *(schema_ddl.render_trigger(t, settings) for t in schema.triggers)]


def _settings():  # type: ignore[no-untyped-def]
    from pgqueuer.adapters.persistence.qb import DBSettings

    return DBSettings(prefix="", db_schema=SCHEMA, channel=CHANNEL)


def _swap_staff_pattern(old: str, new: str) -> None:
    bind = op.get_bind()
    for table, policy in CLOSE_POLICIES:
        qual, check = bind.execute(text(
            "SELECT pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid)"
            " FROM pg_policy WHERE polrelid = CAST(:t AS regclass) AND polname = :p"),
            {"t": table, "p": policy}).one()
        parts = []
        for clause, expr in (("USING", qual), ("WITH CHECK", check)):
            if expr is not None:
                assert old in expr, (table, policy, expr)
                parts.append(f"{clause} ({expr.replace(old, new)})")
        op.execute(f"ALTER POLICY {policy} ON {table} " + " ".join(parts))


def upgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    for statement in _pgqueuer_install():
        op.execute(statement)
    op.execute(f"REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {qa}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {SCHEMA}.pgqueuer TO {qa}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON {SCHEMA}.pgqueuer_log,"
               f" {SCHEMA}.pgqueuer_statistics, {SCHEMA}.pgqueuer_schedules TO {qa}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {qa}")

    op.execute(
        f"""CREATE FUNCTION {FEDERATIONS} RETURNS SETOF uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT id FROM tenants
           WHERE kind = 'hq' AND flexunion_principal() LIKE 'system:jobs:%'
           ORDER BY id
        $$""")
    op.execute(
        f"""CREATE FUNCTION flexunion_purge_expired(days integer)
        RETURNS TABLE (kind text, removed bigint)
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE n bigint;
        BEGIN
          IF flexunion_principal() <> 'system:jobs:purge' THEN
            RAISE EXCEPTION 'only the purge job may purge' USING ERRCODE = 'insufficient_privilege';
          END IF;
          DELETE FROM idempotency_keys WHERE expires_at < now();
          GET DIAGNOSTICS n = ROW_COUNT; kind := 'idempotency_keys'; removed := n; RETURN NEXT;
          DELETE FROM otp_challenges WHERE created_at < now() - interval '1 day';
          GET DIAGNOSTICS n = ROW_COUNT; kind := 'otp_challenges'; removed := n; RETURN NEXT;
          DELETE FROM console_sessions WHERE ended_at < now() - interval '30 days';
          GET DIAGNOSTICS n = ROW_COUNT; kind := 'console_sessions'; removed := n; RETURN NEXT;
          DELETE FROM location_checkins
           WHERE recorded_at < now() - make_interval(days => greatest(days, 1));
          GET DIAGNOSTICS n = ROW_COUNT; kind := 'location_checkins'; removed := n; RETURN NEXT;
          DELETE FROM {SCHEMA}.pgqueuer_log
           WHERE aggregated AND created < now() - interval '7 days';
          GET DIAGNOSTICS n = ROW_COUNT; kind := 'job_log'; removed := n; RETURN NEXT;
        END $$""")
    for fn in (FEDERATIONS, PURGE):
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO {qa}")
    _swap_staff_pattern(STAFF_RE, CLOSER_RE)


def downgrade() -> None:
    _swap_staff_pattern(CLOSER_RE, STAFF_RE)
    for fn in (PURGE, FEDERATIONS):
        op.execute(f"DROP FUNCTION {fn}")
    from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment

    for statement in QueryBuilderEnvironment(_settings()).build_uninstall_query().splitlines():
        op.execute(statement)
    op.execute(f"DROP SCHEMA {SCHEMA}")
