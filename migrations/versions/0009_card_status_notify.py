"""Card holders kept current on every instance: a version per federation and NOTIFY at commit.

- card_versions: one counter per federation, bumped by every statement that changes a
  card's validity (a member added or removed, a status, home or slot changed), by any
  role (the app, the owner, the CLI). No app rows: the trigger functions write it, and
  flexunion_card_version(fed) reads it (the instances' poll when LISTEN is down).
- Statement-level triggers on members (transition tables, so a COPY or a bulk UPDATE of a
  million rows costs one notification, not a million) NOTIFY `flexunion_cards` with
  `<federation id>:<version>:<slot>,<slot>,…` — or `…:*` past 200 slots, meaning "reload
  the federation". pg_notify delivers at commit, and not at all on rollback. The payload
  names only the federation and status-list slots: a slot's status is public (the status
  list), and ids, names and homes are never in it.
- flexunion_card_slots(fed [, slots]): what an instance keeps per slot, packed — the slot,
  a status code, the home (an index into the federation's tenants, returned alongside)
  and the first 8 bytes of the member id (to tell a card's `sub` belongs to its slot).
  Only for the caller's own federation, under the `system:card-holders` principal.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHANNEL = "flexunion_cards"
MAX_SLOTS = 200  # per notification; more and the payload says "*" (8000 bytes at most)
FUNCTIONS = ("flexunion_card_version(uuid)", "flexunion_card_slots(uuid)",
             "flexunion_card_slots(uuid, bigint[])")
TRIGGERS = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS"
            " new_rows", "DELETE": "OLD TABLE AS old_rows"}
CHANGED = {
    "INSERT": "SELECT federation_id, status_idx FROM new_rows",
    "DELETE": "SELECT federation_id, status_idx FROM old_rows",
    # A slot moved (never done) counts for both its old and its new place.
    "UPDATE": """SELECT n.federation_id, n.status_idx FROM new_rows n JOIN old_rows o USING (id)
                  WHERE (n.status, n.tenant_id, n.status_idx, n.federation_id)
                        IS DISTINCT FROM (o.status, o.tenant_id, o.status_idx, o.federation_id)
                 UNION
                 SELECT o.federation_id, o.status_idx FROM new_rows n JOIN old_rows o USING (id)
                  WHERE (n.status_idx, n.federation_id)
                        IS DISTINCT FROM (o.status_idx, o.federation_id)""",
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    qa = _q(app)
    op.create_table(
        "card_versions",
        sa.Column("federation_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"),
                  primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.execute("ALTER TABLE card_versions ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE card_versions FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY owner_all ON card_versions TO CURRENT_USER"
               " USING (true) WITH CHECK (true)")
    op.execute(f"CREATE POLICY no_app_rows ON card_versions TO {qa}"
               " USING (false) WITH CHECK (false)")
    op.execute(
        f"""CREATE FUNCTION flexunion_card_bump(fed uuid, slots bigint[]) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE v bigint;
        BEGIN
          INSERT INTO card_versions (federation_id, version) VALUES (fed, 1)
          ON CONFLICT (federation_id) DO UPDATE SET version = card_versions.version + 1
          RETURNING version INTO v;
          PERFORM pg_notify('{CHANNEL}', fed::text || ':' || v::text || ':' ||
            CASE WHEN cardinality(slots) > {MAX_SLOTS} THEN '*'
                 ELSE array_to_string(slots, ',') END);
        END $$"""
    )
    op.execute("REVOKE ALL ON FUNCTION flexunion_card_bump(uuid, bigint[]) FROM PUBLIC")
    for event, referencing in TRIGGERS.items():
        name = f"flexunion_cards_{event.lower()}d"
        # One function per event: each reads only the transition tables its trigger has.
        op.execute(
            f"""CREATE FUNCTION {name}() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
            BEGIN
              PERFORM flexunion_card_bump(c.federation_id,
                                          array_agg(DISTINCT c.status_idx))
                 FROM ({CHANGED[event]}) c
                GROUP BY c.federation_id
                ORDER BY c.federation_id;  -- one lock order across federations
              RETURN NULL;
            END $$"""
        )
        op.execute(f"REVOKE ALL ON FUNCTION {name}() FROM PUBLIC")
        op.execute(f"CREATE TRIGGER cards_{event.lower()}d AFTER {event} ON members"
                   f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
    op.execute(
        """CREATE FUNCTION flexunion_card_version(fed uuid) RETURNS bigint
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT coalesce((SELECT version FROM card_versions WHERE federation_id = fed), 0)
        $$"""
    )
    # 21 bytes a member: slot (int8), status code (1 applicant … 6 rejected, as one byte),
    # home (int4 index into tenant_ids), the member id's first 8 bytes. Big-endian. Two
    # functions, not one with "slots IS NULL OR …": a function's plan is generic, and the
    # OR would keep a re-read of a few slots off the (federation_id, status_idx) index.
    for args, where in (("fed uuid", ""), ("fed uuid, slots bigint[]",
                                           " AND m.status_idx = ANY (slots)")):
        op.execute(
            f"""CREATE FUNCTION flexunion_card_slots({args})
            RETURNS TABLE (version bigint, tenant_ids uuid[], tenant_codes text[],
                           tenant_names text[], packed bytea)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
              WITH allowed AS (
                SELECT fed AS f WHERE fed = (SELECT flexunion_federation())
                   AND current_setting('flexunion.principal', true) = 'system:card-holders'
              ), t AS (
                SELECT t.id, t.code, t.name_zh,
                       (row_number() OVER (ORDER BY t.id) - 1)::int AS n
                  FROM tenants t JOIN allowed a ON t.federation_id = a.f
              )
              SELECT (SELECT flexunion_card_version(a.f)),
                     (SELECT array_agg(id ORDER BY n) FROM t),
                     (SELECT array_agg(code ORDER BY n) FROM t),
                     (SELECT array_agg(name_zh ORDER BY n) FROM t),
                     (SELECT coalesce(string_agg(
                               int8send(m.status_idx)
                               || substring(int4send(array_position(ARRAY['applicant',
                                    'active', 'suspended', 'parked', 'left', 'rejected'],
                                    m.status)) from 4)
                               || int4send(t.n)
                               || substring(uuid_send(m.id) from 1 for 8), ''::bytea),
                               ''::bytea)
                        FROM members m JOIN t ON t.id = m.tenant_id
                       WHERE m.federation_id = a.f{where})
                FROM allowed a
            $$"""
        )
    for fn in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO {qa}")


def downgrade() -> None:
    for event in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS cards_{event.lower()}d ON members")
        op.execute(f"DROP FUNCTION IF EXISTS flexunion_cards_{event.lower()}d()")
    for fn in (*FUNCTIONS, "flexunion_card_bump(uuid, bigint[])"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.drop_table("card_versions")
