"""Foundation: the federation tree, accounts, idempotency, audit; RLS on every tenant table.

Tenancy is enforced here, not only in Python. The serving app connects as a
role (default `flexunion_app`) that owns nothing, is not superuser and has no
BYPASSRLS. Every tenant table has RLS ENABLED and FORCED. Policies read two
transaction-local settings the app sets from the verified token:

  flexunion.tenant_id  the caller's tenant; it sees that tenant's subtree
  flexunion.principal  who is acting (`worker:<id>`, `login:otp:<fed>:<hash>` ...)

The owner (migrations, operator CLI) gets an explicit `owner_all` policy; the
app role never does.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ts(name: str, nullable: bool = False, default: bool = True) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if default else None,
    )


def _uuid_pk() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True)


def _tenant_fk(name: str = "tenant_id", nullable: bool = False) -> sa.Column:
    return sa.Column(
        name, UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=nullable
    )


def protect(table: str, app: str, policies: dict[str, tuple[str, str | None]], grants: str) -> None:
    """RLS enabled + forced, one policy per command set for the app role, owner_all."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)")
    for name, (command_and_using, check) in policies.items():
        command, _, using = command_and_using.partition(":")
        sql = f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command} TO {_q(app)}"
        if using:
            sql += f" USING ({using})"
        if check:
            sql += f" WITH CHECK ({check})"
        op.execute(sql)
    op.execute(f"GRANT {grants} ON {table} TO {_q(app)}")


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    qa = _q(app)
    op.execute(
        f"""DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{app}') THEN
            CREATE ROLE {qa} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
          END IF; END $$"""
    )
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {qa}")

    # ---- the federation tree -------------------------------------------------
    op.create_table(
        "tenants",
        _uuid_pk(),
        sa.Column("federation_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("parent_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("adcode", sa.Text, nullable=True),
        sa.Column("city", sa.Text, nullable=True),
        sa.Column("partner_id", UUID(as_uuid=True), nullable=True),
        sa.Column("address", sa.Text, nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint("kind IN ('hq', 'regional', 'station')", name="kind"),
        sa.CheckConstraint("code ~ '^[a-z0-9][a-z0-9-]{1,62}$'", name="code_format"),
        sa.CheckConstraint("(kind = 'hq') = (parent_id IS NULL)", name="hq_is_root"),
        sa.CheckConstraint("kind <> 'hq' OR federation_id = id", name="hq_is_federation"),
        sa.CheckConstraint("kind <> 'regional' OR (adcode ~ '^[0-9]{6}$' AND city IS NOT NULL)",
                           name="regional_place"),
        sa.CheckConstraint("kind <> 'station' OR partner_id IS NOT NULL", name="station_partner"),
    )
    op.create_index("ix_tenants_parent_id", "tenants", ["parent_id"])
    op.create_index("ix_tenants_federation_id", "tenants", ["federation_id"])

    op.create_table(
        "platform_partners",
        _uuid_pk(),
        _tenant_fk(),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        _ts("created_at"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_platform_partners_tenant_code"),
        sa.CheckConstraint("code ~ '^[a-z0-9][a-z0-9-]{1,62}$'", name="code_format"),
    )
    op.create_foreign_key(
        "fk_tenants_partner_id_platform_partners", "tenants", "platform_partners",
        ["partner_id"], ["id"],
    )

    # ---- scope functions (owner-owned, SECURITY DEFINER, read-only) ----------
    op.execute(
        """CREATE FUNCTION flexunion_tenant_scope() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          WITH RECURSIVE sub AS (
            SELECT id FROM tenants
             WHERE id = nullif(current_setting('flexunion.tenant_id', true), '')::uuid
            UNION ALL
            SELECT t.id FROM tenants t JOIN sub ON t.parent_id = sub.id
          )
          SELECT coalesce(array_agg(id), '{}') FROM sub
        $$"""
    )
    op.execute(
        """CREATE FUNCTION flexunion_federation() RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT federation_id FROM tenants
           WHERE id = nullif(current_setting('flexunion.tenant_id', true), '')::uuid
        $$"""
    )
    op.execute(
        """CREATE FUNCTION flexunion_principal() RETURNS text
        LANGUAGE sql STABLE AS $$
          SELECT coalesce(current_setting('flexunion.principal', true), '')
        $$"""
    )
    op.execute(
        """CREATE FUNCTION flexunion_federation_by_code(code text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT id FROM tenants WHERE tenants.code = $1 AND kind = 'hq'
        $$"""
    )
    for fn in ("flexunion_tenant_scope()", "flexunion_federation()", "flexunion_principal()",
               "flexunion_federation_by_code(text)"):
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO {qa}")

    protect("tenants", app, {
        "tenant_read": (f"SELECT:id = ANY {SCOPE}", None),
        "tenant_update": (f"UPDATE:id = ANY {SCOPE}", f"id = ANY {SCOPE}"),
    }, "SELECT, UPDATE (name_zh, name_en, address, updated_at)")
    protect("platform_partners", app, {
        # Partners are the federation's reference list: every tenant of it reads them.
        "federation_read": (f"SELECT:tenant_id = {FEDERATION} OR tenant_id = ANY {SCOPE}", None),
    }, "SELECT")

    # ---- accounts --------------------------------------------------------------
    op.create_table(
        "admin_accounts",
        _uuid_pk(),
        _tenant_fk(),
        sa.Column("username", sa.Text, nullable=False, unique=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("oidc_issuer", sa.Text, nullable=True),
        sa.Column("oidc_subject", sa.Text, nullable=True),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        _ts("locked_until", nullable=True, default=False),
        _ts("last_login_at", nullable=True, default=False),
        _ts("created_at"),
        sa.UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_admin_accounts_oidc"),
        sa.CheckConstraint("role IN ('hq_admin', 'regional_admin', 'station_officer')",
                           name="role"),
        sa.CheckConstraint("username ~ '^[A-Za-z0-9._@-]{3,64}$'", name="username_format"),
    )
    op.create_index("ix_admin_accounts_tenant_id", "admin_accounts", ["tenant_id"])
    admin_login = (
        f"tenant_id = ANY {SCOPE}"
        f" OR {PRINCIPAL} = 'login:admin:' || username"
        f" OR {PRINCIPAL} = 'login:oidc:' || oidc_issuer || '|' || oidc_subject"
    )
    protect("admin_accounts", app, {
        "tenant_or_login_read": ("SELECT:" + admin_login, None),
        "tenant_or_login_update": ("UPDATE:" + admin_login, admin_login),
        "tenant_insert": ("INSERT:", f"tenant_id = ANY {SCOPE}"),
    }, "SELECT, INSERT, UPDATE (display_name, disabled, failed_logins, locked_until,"
       " last_login_at, password_hash)")

    op.create_table(
        "partner_clients",
        _uuid_pk(),
        _tenant_fk(),
        sa.Column("partner_id", UUID(as_uuid=True), sa.ForeignKey("platform_partners.id"),
                  nullable=False),
        sa.Column("client_id", sa.Text, nullable=False, unique=True),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        _ts("created_at"),
        _ts("last_used_at", nullable=True, default=False),
    )
    client_login = f"tenant_id = ANY {SCOPE} OR {PRINCIPAL} = 'login:client:' || client_id"
    protect("partner_clients", app, {
        "tenant_or_login_read": ("SELECT:" + client_login, None),
        "tenant_or_login_update": ("UPDATE:" + client_login, client_login),
    }, "SELECT, UPDATE (last_used_at, disabled)")

    op.create_table(
        "worker_accounts",
        _uuid_pk(),
        _tenant_fk(),
        sa.Column("phone_hash", sa.Text, nullable=False),
        sa.Column("phone_masked", sa.Text, nullable=False),
        sa.Column("phone_cipher", BYTEA, nullable=False),
        _ts("created_at"),
        _ts("last_login_at", nullable=True, default=False),
        sa.UniqueConstraint("tenant_id", "phone_hash", name="uq_worker_accounts_tenant_phone"),
    )
    worker_self = (
        f"tenant_id = ANY {SCOPE} OR {PRINCIPAL} = 'worker:' || id::text"
        f" OR {PRINCIPAL} = 'login:otp:' || tenant_id::text || ':' || phone_hash"
    )
    protect("worker_accounts", app, {
        "tenant_self_or_login_read": ("SELECT:" + worker_self, None),
        "tenant_self_or_login_update": ("UPDATE:" + worker_self, worker_self),
        "login_self_insert": ("INSERT:", f"{PRINCIPAL} = 'login:otp:' || tenant_id::text"
                                         " || ':' || phone_hash"),
    },
            "SELECT, INSERT, UPDATE (last_login_at)")

    op.create_table(
        "otp_challenges",
        _uuid_pk(),
        _tenant_fk(),
        sa.Column("phone_hash", sa.Text, nullable=False),
        sa.Column("code_hash", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        _ts("expires_at", default=False),
        _ts("consumed_at", nullable=True, default=False),
        _ts("created_at"),
    )
    op.create_index("ix_otp_challenges_phone", "otp_challenges",
                    ["tenant_id", "phone_hash", "created_at"])
    otp_self = f"{PRINCIPAL} = 'login:otp:' || tenant_id::text || ':' || phone_hash"
    protect("otp_challenges", app, {
        "login_self_read": ("SELECT:" + otp_self, None),
        "login_self_update": ("UPDATE:" + otp_self, otp_self),
        "login_self_insert": ("INSERT:", otp_self),
    },
            "SELECT, INSERT, UPDATE (attempts, consumed_at)")

    op.create_table(
        "worker_consents",
        _uuid_pk(),
        _tenant_fk(),
        sa.Column("worker_id", UUID(as_uuid=True), sa.ForeignKey("worker_accounts.id"),
                  nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        _ts("created_at"),
        sa.CheckConstraint(
            "purpose IN ('privacy_policy', 'location_checkin', 'sms_notice', 'data_sharing')",
            name="purpose",
        ),
    )
    op.create_index("ix_worker_consents_worker", "worker_consents", ["worker_id", "created_at"])
    consent_self = f"tenant_id = ANY {SCOPE} OR {PRINCIPAL} = 'worker:' || worker_id::text"
    protect("worker_consents", app, {
        "tenant_or_self_read": ("SELECT:" + consent_self, None),
        "self_insert": ("INSERT:", f"{PRINCIPAL} = 'worker:' || worker_id::text"),
    }, "SELECT, INSERT")

    # ---- idempotency -----------------------------------------------------------
    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("headers", JSONB, nullable=False),
        sa.Column("body", BYTEA, nullable=False),
        _ts("created_at"),
        _ts("expires_at", default=False),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    own = f"principal = {PRINCIPAL}"
    protect("idempotency_keys", app, {
        "own_read": ("SELECT:" + own, None),
        "own_update": ("UPDATE:" + own, own),
        "own_insert": ("INSERT:", own),
    },
            "SELECT, INSERT, UPDATE")

    # ---- signing keys (service-wide, not tenant data) ---------------------------
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.Text, primary_key=True),
        sa.Column("alg", sa.Text, nullable=False),
        sa.Column("public_jwk", JSONB, nullable=False),
        sa.Column("private_key_sealed", BYTEA, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        _ts("created_at"),
        _ts("retired_at", nullable=True, default=False),
        sa.CheckConstraint("status IN ('active', 'retired', 'revoked')", name="status"),
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_signing_keys_one_active ON signing_keys ((status))"
        " WHERE status = 'active'"
    )
    op.execute(f"GRANT SELECT ON signing_keys TO {qa}")
    op.execute(f"GRANT SELECT ON alembic_version TO {qa}")

    # ---- audit: append-only, hash-chained ---------------------------------------
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=True),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("object_type", sa.Text, nullable=True),
        sa.Column("object_id", sa.Text, nullable=True),
        sa.Column("payload", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("request_id", sa.Text, nullable=True),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.CheckConstraint("actor <> ''", name="actor_named"),
    )
    op.create_index("ix_audit_events_tenant", "audit_events", ["tenant_id", "seq"])
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.CheckConstraint("id = 1", name="single_row"),
    )
    op.execute("INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, '')")
    op.execute(
        """CREATE FUNCTION flexunion_audit_digest(
             prev text, seq bigint, occurred_at timestamptz, tenant_id uuid, actor text,
             action text, object_type text, object_id text, payload jsonb, request_id text)
        RETURNS text LANGUAGE sql IMMUTABLE AS $$
          SELECT encode(sha256(convert_to(jsonb_build_array(
            prev, seq,
            to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            tenant_id, actor, action, object_type, object_id, payload, request_id
          )::text, 'UTF8')), 'hex')
        $$"""
    )
    op.execute(
        """CREATE FUNCTION flexunion_audit_chain() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE head audit_chain_head%ROWTYPE;
        BEGIN
          SELECT * INTO head FROM audit_chain_head WHERE id = 1 FOR UPDATE;
          NEW.seq := head.seq + 1;
          NEW.prev_hash := head.hash;
          NEW.occurred_at := coalesce(NEW.occurred_at, now());
          NEW.request_id := coalesce(NEW.request_id,
                                     nullif(current_setting('flexunion.request_id', true), ''));
          NEW.hash := flexunion_audit_digest(NEW.prev_hash, NEW.seq, NEW.occurred_at,
            NEW.tenant_id, NEW.actor, NEW.action, NEW.object_type, NEW.object_id, NEW.payload,
            NEW.request_id);
          UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
          RETURN NEW;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER audit_chain BEFORE INSERT ON audit_events"
        " FOR EACH ROW EXECUTE FUNCTION flexunion_audit_chain()"
    )
    op.execute("REVOKE ALL ON FUNCTION flexunion_audit_chain() FROM PUBLIC")
    protect("audit_events", app, {
        "tenant_read": (f"SELECT:tenant_id = ANY {SCOPE}", None),
        # Anyone may append, but only as themselves.
        "append_as_self": ("INSERT:", f"actor = {PRINCIPAL}"),
    }, "SELECT, INSERT")


def downgrade() -> None:
    for table in (
        "audit_chain_head", "audit_events", "signing_keys", "idempotency_keys",
        "worker_consents", "otp_challenges", "worker_accounts", "partner_clients",
        "admin_accounts",
    ):
        op.drop_table(table)
    op.execute("ALTER TABLE tenants DROP CONSTRAINT fk_tenants_partner_id_platform_partners")
    op.drop_table("platform_partners")
    op.drop_table("tenants")
    for fn in (
        "flexunion_audit_chain()", "flexunion_audit_digest(text, bigint, timestamptz, uuid, text,"
        " text, text, text, jsonb, text)", "flexunion_tenant_scope()", "flexunion_federation()",
        "flexunion_principal()", "flexunion_federation_by_code(text)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
