"""Referral providers log in (issue 15: "legal-aid providers see only the referral they
received"): a provider's machine client, what it reads, and its receipts.

- `referral_provider_clients`: OAuth2 client-credentials clients of a referral provider
  (调解组织 / 法律援助站 / 仲裁院, 0031), anchored in the provider's region (`tenant_id`),
  secrets argon2-hashed. Read and written by hq_admin / regional_admin in their subtree (a
  client of a provider of that region, as themselves); read by the token endpoint's
  `login:client:<client_id>` scope (which stamps `last_used_at`), and by the provider's own
  principal `provider:<client_id>` (its own row).
- `flexunion_provider()` (SECURITY DEFINER): the provider id of the calling
  `provider:<client_id>`, NULL for a disabled client or any other principal. The provider
  reads its own `referral_providers` row and the `case_referrals` made to it
  (`provider_read`), nothing else.
- A provider's scope holds no tenant (core/context.py), and `flexunion_tenant_scope()` /
  `flexunion_federation()` are now empty / NULL for a `provider:` principal whatever tenant
  is set: no policy that compares a row's tenant with the scope (the 0016/0018 leak) can let
  the new kind through, now or in a later table.
- `flexunion_provider_cases(referral ids)` (SECURITY DEFINER): for the calling provider's own
  referrals only, the case's number, category and dispute kind — what it needs to receive
  the worker, without a read of `cases` (contact, description, member) or `case_disputes`.
- `referral_receipts`: the provider's receipt of a referral, step by step (received →
  accepted / declined with a reason; accepted → closed with the outcome; declined and closed
  are final), `seq` 1, 2, … per referral (UNIQUE: of two receipts at once, one wins).
  Written only by the provider of the referral, as itself, on a referral not cancelled; read
  by whoever sees the referral (the case's staff, the worker, the provider).
  `flexunion_receipt_step()` (BEFORE INSERT, definer) refuses a step not in that table or
  out of sequence; `flexunion_receipt_on_timeline()` (AFTER INSERT, definer) writes the
  `referral_receipt` event on the case's timeline (`case_events`, actor: the provider), in
  the same transaction. When a case moves (0029/0035), its receipts follow its tenant.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PRINCIPAL = "flexunion_principal()"
PROVIDER = "(SELECT flexunion_provider())"
MANAGERS = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin):'"
# Frozen copy of flexunion.cases.referrals' receipt steps (migrations never import app code).
RECEIPTS = ("received", "accepted", "declined", "closed")
_NOT_PROVIDER = "coalesce(current_setting('flexunion.principal', true), '') !~ '^provider:'"

TENANT_SCOPE = """CREATE OR REPLACE FUNCTION flexunion_tenant_scope() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          WITH RECURSIVE sub AS (
            SELECT id FROM tenants
             WHERE id = nullif(current_setting('flexunion.tenant_id', true), '')::uuid{guard}
            UNION ALL
            SELECT t.id FROM tenants t JOIN sub ON t.parent_id = sub.id
          )
          SELECT coalesce(array_agg(id), '{{}}') FROM sub
        $$"""
FEDERATION = """CREATE OR REPLACE FUNCTION flexunion_federation() RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT federation_id FROM tenants
           WHERE id = nullif(current_setting('flexunion.tenant_id', true), '')::uuid{guard}
        $$"""
GUARD = f"\n               AND {_NOT_PROVIDER}"

PROVIDER_FN = """CREATE FUNCTION flexunion_provider() RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT provider_id FROM referral_provider_clients
           WHERE 'provider:' || client_id = current_setting('flexunion.principal', true)
             AND NOT disabled
        $$"""
PROVIDER_CASES_FN = """CREATE FUNCTION flexunion_provider_cases(ids uuid[])
        RETURNS TABLE (referral_id uuid, case_no text, category text, dispute_kind text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT r.id, c.case_no, c.category,
                 (SELECT d.kind FROM case_disputes d WHERE d.case_id = c.id)
            FROM case_referrals r JOIN cases c ON c.id = r.case_id
           WHERE r.id = ANY (ids) AND r.provider_id = flexunion_provider()
        $$"""
STEP_FN = """CREATE FUNCTION flexunion_receipt_step() RETURNS trigger
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE
          last_seq integer;
          last_status text;
        BEGIN
          SELECT seq, status INTO last_seq, last_status FROM referral_receipts
           WHERE referral_id = NEW.referral_id ORDER BY seq DESC LIMIT 1;
          IF NEW.seq <> coalesce(last_seq, 0) + 1 THEN
            RAISE EXCEPTION 'receipt % out of sequence (last %)', NEW.seq, last_seq
              USING ERRCODE = 'check_violation', CONSTRAINT = 'receipt_sequence';
          END IF;
          IF NOT ((last_status IS NULL AND NEW.status IN ('received', 'accepted', 'declined'))
               OR (last_status = 'received' AND NEW.status IN ('accepted', 'declined'))
               OR (last_status = 'accepted' AND NEW.status = 'closed')) THEN
            RAISE EXCEPTION 'receipt % after %', NEW.status, last_status
              USING ERRCODE = 'check_violation', CONSTRAINT = 'receipt_step';
          END IF;
          RETURN NEW;
        END
        $$"""
TIMELINE_FN = """CREATE FUNCTION flexunion_receipt_on_timeline() RETURNS trigger
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
          INSERT INTO case_events (id, federation_id, tenant_id, case_id, kind, at, actor,
                                   reason, details)
          SELECT gen_random_uuid(), c.federation_id, c.tenant_id, c.id, 'referral_receipt',
                 NEW.recorded_at, NEW.recorded_by, coalesce(NEW.reason, NEW.outcome),
                 jsonb_build_object('referral_id', NEW.referral_id, 'status', NEW.status,
                                    'provider', p.code, 'seq', NEW.seq)
            FROM cases c, referral_providers p
           WHERE c.id = NEW.case_id AND p.id = NEW.provider_id;
          RETURN NULL;
        END
        $$"""
FOLLOW_FN = """CREATE FUNCTION flexunion_receipts_follow() RETURNS trigger
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
          UPDATE referral_receipts SET tenant_id = NEW.tenant_id WHERE case_id = NEW.id;
          RETURN NULL;
        END
        $$"""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _tenancy(table: str) -> list:
    return [
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{table}_tenant_id_in_federation"),
    ]


def _function(sql: str, signature: str, qa: str | None) -> None:
    op.execute(sql)
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    if qa is not None:
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {qa}")


def protect(table: str, qa: str, policies: dict[str, tuple[str, str | None]],
            grants: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)")
    for name, (command_and_using, check) in policies.items():
        command, _, using = command_and_using.partition(":")
        sql = f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command} TO {qa}"
        if using:
            sql += f" USING ({using})"
        if check:
            sql += f" WITH CHECK ({check})"
        op.execute(sql)
    op.execute(f"GRANT {grants} ON {table} TO {qa}")


def upgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    op.execute(TENANT_SCOPE.format(guard=GUARD))
    op.execute(FEDERATION.format(guard=GUARD))

    op.create_table(
        "referral_provider_clients",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenancy("referral_provider_clients"),
        sa.Column("provider_id", UUID(as_uuid=True), sa.ForeignKey("referral_providers.id"),
                  nullable=False),
        sa.Column("client_id", sa.Text, nullable=False, unique=True),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        _ts("last_used_at", nullable=True),
    )
    op.create_index("ix_referral_provider_clients_provider", "referral_provider_clients",
                    ["provider_id"])
    _function(PROVIDER_FN, "flexunion_provider()", qa)
    managers = f"({MANAGERS} AND tenant_id = ANY {SCOPE})"
    login = f"{PRINCIPAL} = 'login:client:' || client_id"
    own_provider = ("EXISTS (SELECT 1 FROM referral_providers p WHERE p.id = provider_id"
                    " AND p.tenant_id = referral_provider_clients.tenant_id"
                    " AND p.federation_id = referral_provider_clients.federation_id)")
    protect("referral_provider_clients", qa, {
        "client_read": (f"SELECT:{managers} OR {login}"
                        f" OR {PRINCIPAL} = 'provider:' || client_id", None),
        "manager_insert": ("INSERT:", f"{managers} AND created_by = {PRINCIPAL}"
                                      f" AND {own_provider}"),
        "manager_or_login_update": (f"UPDATE:{managers} OR {login}", f"{managers} OR {login}"),
    }, "SELECT, INSERT, UPDATE (secret_hash, disabled, last_used_at)")

    # The provider's own entry in the directory, and the referrals made to it.
    op.execute(f"CREATE POLICY provider_own ON referral_providers AS PERMISSIVE FOR SELECT"
               f" TO {qa} USING (id = {PROVIDER})")
    op.execute(f"CREATE POLICY provider_read ON case_referrals AS PERMISSIVE FOR SELECT"
               f" TO {qa} USING (provider_id = {PROVIDER})")
    _function(PROVIDER_CASES_FN, "flexunion_provider_cases(uuid[])", qa)

    op.create_table(
        "referral_receipts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True), *_tenancy("referral_receipts"),
        sa.Column("referral_id", UUID(as_uuid=True), sa.ForeignKey("case_referrals.id"),
                  nullable=False),
        sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("provider_id", UUID(as_uuid=True), sa.ForeignKey("referral_providers.id"),
                  nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("outcome", sa.Text, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("recorded_by", sa.Text, nullable=False),
        _ts("recorded_at"),
        sa.CheckConstraint(f"status IN {_in(RECEIPTS)}", name="status"),
        sa.CheckConstraint("(status = 'declined') = (reason IS NOT NULL)", name="decline_reason"),
        sa.CheckConstraint("(status = 'closed') = (outcome IS NOT NULL)", name="closed_outcome"),
        sa.CheckConstraint("seq >= 1", name="seq_positive"),
        sa.UniqueConstraint("referral_id", "seq", name="uq_referral_receipts_referral_seq"),
    )
    op.create_index("ix_referral_receipts_case", "referral_receipts", ["case_id"])
    referral_seen = ("EXISTS (SELECT 1 FROM case_referrals r WHERE r.id = referral_id"
                     " AND r.federation_id = referral_receipts.federation_id)")
    to_me = ("EXISTS (SELECT 1 FROM case_referrals r WHERE r.id = referral_id"
             " AND r.provider_id = referral_receipts.provider_id"
             " AND r.case_id = referral_receipts.case_id"
             " AND r.tenant_id = referral_receipts.tenant_id"
             " AND r.federation_id = referral_receipts.federation_id"
             " AND r.status <> 'cancelled')")
    protect("referral_receipts", qa, {
        "referral_read": (f"SELECT:{referral_seen}", None),
        "provider_insert": ("INSERT:", f"provider_id = {PROVIDER}"
                                       f" AND recorded_by = {PRINCIPAL} AND {to_me}"),
    }, "SELECT, INSERT")
    for fn, sig in ((STEP_FN, "flexunion_receipt_step()"),
                    (TIMELINE_FN, "flexunion_receipt_on_timeline()"),
                    (FOLLOW_FN, "flexunion_receipts_follow()")):
        _function(fn, sig, None)
    op.execute("CREATE TRIGGER receipt_step BEFORE INSERT ON referral_receipts FOR EACH ROW"
               " EXECUTE FUNCTION flexunion_receipt_step()")
    op.execute("CREATE TRIGGER receipt_on_timeline AFTER INSERT ON referral_receipts"
               " FOR EACH ROW EXECUTE FUNCTION flexunion_receipt_on_timeline()")
    op.execute("CREATE TRIGGER receipts_follow AFTER UPDATE OF tenant_id ON cases FOR EACH ROW"
               " WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)"
               " EXECUTE FUNCTION flexunion_receipts_follow()")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS receipts_follow ON cases")
    op.drop_table("referral_receipts")
    for sig in ("flexunion_receipts_follow()", "flexunion_receipt_on_timeline()",
                "flexunion_receipt_step()", "flexunion_provider_cases(uuid[])"):
        op.execute(f"DROP FUNCTION IF EXISTS {sig}")
    op.execute("DROP POLICY IF EXISTS provider_read ON case_referrals")
    op.execute("DROP POLICY IF EXISTS provider_own ON referral_providers")
    op.drop_table("referral_provider_clients")
    op.execute("DROP FUNCTION IF EXISTS flexunion_provider()")
    op.execute(FEDERATION.format(guard=""))
    op.execute(TENANT_SCOPE.format(guard=""))
