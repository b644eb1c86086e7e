"""Membership: online joining, members with one home, cross-city transfers, card keys.

- members: one row per person per federation (keyed hash of the resident ID),
  home = tenant_id (a regional union or station of the same federation, by a
  composite foreign key). member_homes keeps the history; a partial unique
  index allows one open home per member, and a deferred constraint trigger
  checks at commit that it is the member's tenant_id: one active home, always.
- transfers: visible to origin and destination (and the worker), no one else.
  The destination sees the member row only while a transfer to it is released.
- member_counters: federation-wide membership numbers and status-list slots,
  handed out only through SECURITY DEFINER functions.
- signing_keys gain purpose/federation: each federation signs its own cards.
- domain_events: an outbox (member.transferred …) for later consumers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
PRINCIPAL = "flexunion_principal()"
OPEN_TRANSFER = "('requested', 'released')"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ts(name: str, nullable: bool = False, default: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def protect(table: str, app: str, policies: dict[str, tuple[str, str | None]], grants: str) -> None:
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

    # ---- tenants: join rule, and (id, federation_id) for composite keys ---------
    op.add_column("tenants", sa.Column("auto_approve_joins", sa.Boolean, nullable=False,
                                       server_default=sa.false()))
    op.create_unique_constraint("uq_tenants_id_federation", "tenants", ["id", "federation_id"])
    op.execute(f"GRANT UPDATE (auto_approve_joins) ON tenants TO {qa}")
    op.execute(
        """CREATE FUNCTION flexunion_directory(fed uuid)
        RETURNS TABLE (id uuid, code text, kind text, name_zh text, name_en text, city text,
                       parent_code text, partner_code text, auto_approve_joins boolean)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT t.id, t.code, t.kind, t.name_zh, t.name_en,
                 coalesce(t.city, p.city), p.code, pp.code, t.auto_approve_joins
            FROM tenants t
            LEFT JOIN tenants p ON p.id = t.parent_id
            LEFT JOIN platform_partners pp ON pp.id = t.partner_id
           WHERE t.federation_id = fed
        $$"""
    )

    # ---- members -----------------------------------------------------------------
    op.create_table(
        "member_counters",
        sa.Column("federation_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"),
                  primary_key=True),
        sa.Column("last_member_no", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_status_idx", sa.BigInteger, nullable=False, server_default="-1"),
    )
    for column in ("member_no", "status_idx"):
        op.execute(
            f"""CREATE FUNCTION flexunion_next_{column}(fed uuid) RETURNS bigint
            LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
              INSERT INTO member_counters (federation_id, last_{column})
              VALUES (fed, {0 if column == 'status_idx' else 1})
              ON CONFLICT (federation_id) DO UPDATE
                SET last_{column} = member_counters.last_{column} + 1
              RETURNING last_{column}
            $$"""
        )
        op.execute(f"REVOKE ALL ON FUNCTION flexunion_next_{column}(uuid) FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION flexunion_next_{column}(uuid) TO {qa}")
    op.execute("REVOKE ALL ON FUNCTION flexunion_directory(uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION flexunion_directory(uuid) TO {qa}")
    # No tenant rows: the app role gets no grant at all, the functions write it.
    op.execute("ALTER TABLE member_counters ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE member_counters FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY owner_all ON member_counters TO CURRENT_USER"
               " USING (true) WITH CHECK (true)")
    op.execute(f"CREATE POLICY no_app_rows ON member_counters TO {qa}"
               " USING (false) WITH CHECK (false)")

    op.create_table(
        "members",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("worker_id", UUID(as_uuid=True), sa.ForeignKey("worker_accounts.id"),
                  nullable=False),
        sa.Column("name_cipher", BYTEA, nullable=False),
        sa.Column("name_masked", sa.Text, nullable=False),
        sa.Column("id_hash", sa.Text, nullable=False),
        sa.Column("id_cipher", BYTEA, nullable=False),
        sa.Column("id_masked", sa.Text, nullable=False),
        sa.Column("employment_form", sa.Text, nullable=False),
        sa.Column("platforms", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("city", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("member_no", sa.Text, nullable=True),
        sa.Column("member_since", sa.Date, nullable=True),
        sa.Column("status_idx", sa.BigInteger, nullable=False),
        sa.Column("decision_reason", sa.Text, nullable=True),
        _ts("decided_at", nullable=True, default=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name="fk_members_home_in_federation"),
        sa.UniqueConstraint("federation_id", "status_idx", name="uq_members_status_idx"),
        sa.UniqueConstraint("federation_id", "member_no", name="uq_members_member_no"),
        sa.CheckConstraint(
            "status IN ('applicant', 'active', 'suspended', 'parked', 'left', 'rejected')",
            name="status"),
        sa.CheckConstraint(
            "employment_form IN ('dedicated', 'crowdsourced', 'franchise', 'direct', 'outsourced')",
            name="employment_form"),
        sa.CheckConstraint("status IN ('applicant', 'rejected') OR (member_no IS NOT NULL"
                           " AND member_since IS NOT NULL)", name="numbered_once_admitted"),
    )
    # One person, one live membership per federation (a rejected application may be retried).
    op.execute("CREATE UNIQUE INDEX uq_members_person ON members (federation_id, id_hash)"
               " WHERE status <> 'rejected'")
    op.execute("CREATE UNIQUE INDEX uq_members_worker ON members (federation_id, worker_id)"
               " WHERE status <> 'rejected'")
    op.create_index("ix_members_tenant_status", "members", ["tenant_id", "status"])

    op.create_table(
        "member_homes",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("transfer_id", UUID(as_uuid=True), nullable=True),
        _ts("started_at"),
        _ts("ended_at", nullable=True, default=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name="fk_member_homes_home_in_federation"),
    )
    op.execute("CREATE UNIQUE INDEX uq_member_homes_one_open ON member_homes (member_id)"
               " WHERE ended_at IS NULL")
    op.execute(
        """CREATE FUNCTION flexunion_check_one_home() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE m uuid; open_homes int; home uuid; current_home uuid;
        BEGIN
          IF TG_TABLE_NAME = 'member_homes' THEN m := NEW.member_id; ELSE m := NEW.id; END IF;
          SELECT tenant_id INTO current_home FROM members WHERE id = m;
          SELECT count(*), min(tenant_id::text)::uuid INTO open_homes, home
            FROM member_homes WHERE member_id = m AND ended_at IS NULL;
          IF open_homes <> 1 OR home IS DISTINCT FROM current_home THEN
            RAISE EXCEPTION 'member % must have exactly one active home (open homes: %)',"""
        """ m, open_homes
              USING ERRCODE = '23514', CONSTRAINT = 'one_active_home';
          END IF;
          RETURN NULL;
        END $$"""
    )
    for table in ("members", "member_homes"):
        op.execute(
            f"CREATE CONSTRAINT TRIGGER one_active_home AFTER INSERT OR UPDATE ON {table}"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
            " EXECUTE FUNCTION flexunion_check_one_home()"
        )

    # ---- transfers (异地关系接转) --------------------------------------------------
    op.create_table(
        "transfers",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("worker_id", UUID(as_uuid=True), sa.ForeignKey("worker_accounts.id"),
                  nullable=False),
        sa.Column("origin_tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("dest_tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("reject_reason", sa.Text, nullable=True),
        sa.Column("rejected_by", sa.Text, nullable=True),
        sa.Column("auto_released", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("release_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshot", JSONB, nullable=False),
        _ts("requested_at"),
        _ts("released_at", nullable=True, default=False),
        _ts("accepted_at", nullable=True, default=False),
        _ts("completed_at", nullable=True, default=False),
        _ts("closed_at", nullable=True, default=False),
        sa.ForeignKeyConstraint(["origin_tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name="fk_transfers_origin_in_federation"),
        sa.ForeignKeyConstraint(["dest_tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name="fk_transfers_dest_in_federation"),
        sa.CheckConstraint("status IN ('requested', 'released', 'accepted', 'completed',"
                           " 'rejected', 'cancelled')", name="status"),
        sa.CheckConstraint("origin_tenant_id <> dest_tenant_id", name="moves"),
        sa.CheckConstraint("rejected_by IS NULL OR rejected_by IN ('origin', 'destination')",
                           name="rejected_by"),
    )
    op.execute("CREATE UNIQUE INDEX uq_transfers_one_open ON transfers (member_id)"
               f" WHERE status IN {OPEN_TRANSFER}")
    op.create_index("ix_transfers_origin", "transfers", ["origin_tenant_id", "status"])
    op.create_index("ix_transfers_dest", "transfers", ["dest_tenant_id", "status"])
    op.create_foreign_key("fk_member_homes_transfer_id_transfers", "member_homes", "transfers",
                          ["transfer_id"], ["id"])

    both_sides = (f"origin_tenant_id = ANY {SCOPE} OR dest_tenant_id = ANY {SCOPE}"
                  f" OR {PRINCIPAL} = 'worker:' || worker_id::text")
    protect("transfers", app, {
        "sides_read": ("SELECT:" + both_sides, None),
        "sides_update": ("UPDATE:" + both_sides, both_sides),
        "worker_request": ("INSERT:", f"{PRINCIPAL} = 'worker:' || worker_id::text"
                                      " AND status = 'requested'"),
    }, "SELECT, INSERT, UPDATE (status, reject_reason, rejected_by, auto_released, released_at,"
       " accepted_at, completed_at, closed_at)")

    incoming = (f"EXISTS (SELECT 1 FROM transfers t WHERE t.member_id = members.id"
                f" AND t.status = 'released' AND t.dest_tenant_id = ANY {SCOPE})")
    member_read = (f"tenant_id = ANY {SCOPE} OR {PRINCIPAL} = 'worker:' || worker_id::text"
                   f" OR {incoming}")
    protect("members", app, {
        "home_self_or_incoming_read": ("SELECT:" + member_read, None),
        # Staff change members of their subtree; a destination moves a member released to it
        # (the new home must then be in its subtree).
        "home_or_incoming_update": (f"UPDATE:tenant_id = ANY {SCOPE} OR {incoming}",
                                    f"tenant_id = ANY {SCOPE}"),
        "worker_applies": ("INSERT:", f"{PRINCIPAL} = 'worker:' || worker_id::text"
                                      " AND status = 'applicant'"),
    }, "SELECT, INSERT, UPDATE (tenant_id, status, member_no, member_since, decision_reason,"
       " decided_at, updated_at)")
    # History follows the member: whoever may see the member (members' own policy,
    # applied inside this subquery) sees and keeps its homes.
    member_visible = "EXISTS (SELECT 1 FROM members m WHERE m.id = member_homes.member_id)"
    own_application = (f"EXISTS (SELECT 1 FROM members m WHERE m.id = member_homes.member_id"
                       " AND m.status = 'applicant'"
                       f" AND {PRINCIPAL} = 'worker:' || m.worker_id::text)")
    protect("member_homes", app, {
        "member_visible_read": ("SELECT:" + member_visible, None),
        "home_open": ("INSERT:", f"(tenant_id = ANY {SCOPE} AND {member_visible})"
                                 f" OR {own_application}"),
        "home_close": ("UPDATE:" + member_visible, member_visible),
    }, "SELECT, INSERT, UPDATE (ended_at)")

    # ---- card signing keys per federation ------------------------------------------
    op.add_column("signing_keys", sa.Column("purpose", sa.Text, nullable=False,
                                            server_default="access"))
    op.add_column("signing_keys", sa.Column("federation_id", UUID(as_uuid=True),
                                            sa.ForeignKey("tenants.id"), nullable=True))
    op.drop_index("uq_signing_keys_one_active", table_name="signing_keys")
    op.execute(
        "CREATE UNIQUE INDEX uq_signing_keys_one_active ON signing_keys"
        " (purpose, coalesce(federation_id, '00000000-0000-0000-0000-000000000000'::uuid))"
        " WHERE status = 'active'"
    )
    op.create_check_constraint("purpose", "signing_keys",
                               "(purpose = 'access' AND federation_id IS NULL)"
                               " OR (purpose = 'card' AND federation_id IS NOT NULL)")

    # ---- the outbox -----------------------------------------------------------------
    op.create_table(
        "domain_events",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        _ts("created_at"),
        _ts("processed_at", nullable=True, default=False),
    )
    op.create_index("ix_domain_events_pending", "domain_events", ["kind", "created_at"],
                    postgresql_where=sa.text("processed_at IS NULL"))
    protect("domain_events", app, {
        "tenant_read": (f"SELECT:tenant_id = ANY {SCOPE}", None),
        "tenant_emit": ("INSERT:", f"tenant_id = ANY {SCOPE}"),
    }, "SELECT, INSERT")


def downgrade() -> None:
    op.drop_table("domain_events")
    op.drop_constraint("ck_signing_keys_purpose", "signing_keys")
    op.drop_index("uq_signing_keys_one_active", table_name="signing_keys")
    op.execute("DELETE FROM signing_keys WHERE purpose <> 'access'")
    op.drop_column("signing_keys", "federation_id")
    op.drop_column("signing_keys", "purpose")
    op.execute("CREATE UNIQUE INDEX uq_signing_keys_one_active ON signing_keys ((status))"
               " WHERE status = 'active'")
    op.drop_constraint("fk_member_homes_transfer_id_transfers", "member_homes")
    op.drop_table("transfers")
    op.drop_table("member_homes")
    op.drop_table("members")
    op.execute("DROP FUNCTION flexunion_check_one_home()")
    op.drop_table("member_counters")
    for fn in ("flexunion_next_member_no(uuid)", "flexunion_next_status_idx(uuid)",
               "flexunion_directory(uuid)"):
        op.execute(f"DROP FUNCTION {fn}")
    op.drop_constraint("uq_tenants_id_federation", "tenants")
    op.drop_column("tenants", "auto_approve_joins")
