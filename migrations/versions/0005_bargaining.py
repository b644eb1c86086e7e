"""Bargaining: the agenda board (协商清单), worker reports, representatives, negotiation
rounds, partner responses, and secret ratification ballots.

Who sees what (row-level security):
- staff (hq_admin / regional_admin / station_officer principals) read their subtree's rows
  and the federation-wide (HQ) board; they write only their subtree's. A partner's token
  also carries a tenant scope, so every staff policy also checks the principal's role.
- a worker reads the board items its *active* membership reaches (its home tenant and the
  tenants above it: `flexunion_member_reach()`), its own reports, supports and roll entries.
  A representative (骑手/司机代表) also reads the reports within its remit.
- a platform partner reads only items addressed to it (`flexunion_partner()`), from the
  moment they are on the agenda, and the rounds, promises and its own responses for them.

Ballot secrecy: who voted (`ballot_electors.voted_at`) and what was voted (`ballot_papers`)
live in separate tables with no column joining them and no timestamp on a paper. The app
role may only INSERT papers; counts, the digest and receipt checks come from owner-owned
functions that answer only for a closed ballot (receipts: any time). Closing re-inserts the
ballot's papers in random order in one transaction, so their xmin and physical order no
longer follow the voting order.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
STAFF_SUBTREE = f"({STAFF} AND tenant_id = ANY {SCOPE})"
STAFF_BOARD = f"({STAFF} AND (tenant_id = ANY {SCOPE} OR tenant_id = {FEDERATION}))"
PARTNER_OWN = "partner_id = (SELECT flexunion_partner())"
REACH = "tenant_id = ANY ((SELECT flexunion_member_reach())::uuid[])"
WORKER_SELF = f"{PRINCIPAL} = 'worker:' || worker_id::text"

TOPICS = ("dispatch_rules", "commission_rates", "overtime", "appeals", "rest",
          "rewards_penalties", "other")
ITEM_STATUSES = ("collected", "under_review", "on_agenda", "in_negotiation", "agreed",
                 "partially_agreed", "rejected", "deferred", "ratified", "in_force", "merged")
# Frozen copy of flexunion.bargaining.lifecycle.ALLOWED (migrations never import app code).
PAIRS = (
    ("agreed", "in_negotiation"), ("agreed", "ratified"), ("collected", "deferred"),
    ("collected", "rejected"), ("collected", "under_review"), ("deferred", "on_agenda"),
    ("deferred", "under_review"), ("in_negotiation", "agreed"), ("in_negotiation", "deferred"),
    ("in_negotiation", "partially_agreed"), ("in_negotiation", "rejected"),
    ("on_agenda", "deferred"), ("on_agenda", "in_negotiation"), ("on_agenda", "rejected"),
    ("partially_agreed", "in_negotiation"), ("partially_agreed", "ratified"),
    ("ratified", "in_force"), ("under_review", "collected"), ("under_review", "deferred"),
    ("under_review", "on_agenda"), ("under_review", "rejected"),
    ("collected", "merged"), ("under_review", "merged"),
)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True)


def _tenancy(table: str) -> list:
    return [
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{table}_tenant_id_in_federation"),
    ]


def _fk(name: str, target: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, UUID(as_uuid=True), sa.ForeignKey(f"{target}.id"), nullable=nullable)


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


def _function(sql: str, signature: str, qa: str) -> None:
    op.execute(sql)
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {qa}")


def upgrade() -> None:
    app = op.get_context().config.attributes["app_role"]
    qa = _q(app)

    # ---- who is calling ------------------------------------------------------------------
    _function(
        """CREATE FUNCTION flexunion_partner() RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT partner_id FROM partner_clients
           WHERE 'partner:' || client_id = current_setting('flexunion.principal', true)
             AND NOT disabled
        $$""", "flexunion_partner()", qa)
    _function(
        """CREATE FUNCTION flexunion_member_reach() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          WITH RECURSIVE up AS (
            SELECT t.id, t.parent_id FROM members m JOIN tenants t ON t.id = m.tenant_id
             WHERE 'worker:' || m.worker_id::text = current_setting('flexunion.principal', true)
               AND m.status = 'active'
            UNION ALL
            SELECT t.id, t.parent_id FROM tenants t JOIN up ON t.id = up.parent_id
          )
          SELECT coalesce(array_agg(id), '{}') FROM up
        $$""", "flexunion_member_reach()", qa)

    # The federation's platform partners by id and code, for its staff and partners and its
    # active members (a worker's scope holds no tenant rows; the partner list is reference data).
    _function(
        """CREATE FUNCTION flexunion_partners(fed uuid)
        RETURNS TABLE (id uuid, code text, name_zh text, name_en text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT p.id, p.code, p.name_zh, p.name_en FROM platform_partners p
           WHERE p.tenant_id = fed
             AND (fed = flexunion_federation() OR fed = ANY (flexunion_member_reach()))
        $$""", "flexunion_partners(uuid)", qa)

    # ---- worker reports (问题提报) and representatives (骑手/司机代表) ------------------------
    op.create_table(
        "worker_representatives", _id(), *_tenancy("worker_representatives"),
        _fk("member_id", "members"),
        _fk("worker_id", "worker_accounts"),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("ref_code", sa.Text, nullable=False),
        _fk("partner_id", "platform_partners", nullable=True),
        sa.Column("designated_by", sa.Text, nullable=False),
        _ts("started_at"),
        _ts("ended_at", nullable=True),
        sa.Column("ended_by", sa.Text, nullable=True),
        sa.CheckConstraint("kind IN ('station', 'zone', 'platform')", name="kind"),
        sa.CheckConstraint("kind <> 'platform' OR partner_id IS NOT NULL", name="platform_named"),
    )
    op.create_index("uq_worker_representatives_open", "worker_representatives",
                    ["member_id", "kind", "ref_code"], unique=True,
                    postgresql_where=sa.text("ended_at IS NULL"))
    op.create_index("ix_worker_representatives_worker", "worker_representatives", ["worker_id"])
    protect("worker_representatives", app, {
        "staff_or_self_read": (f"SELECT:{STAFF_SUBTREE} OR {WORKER_SELF}", None),
        "staff_insert": ("INSERT:", STAFF_SUBTREE),
        "staff_update": ("UPDATE:" + STAFF_SUBTREE, STAFF_SUBTREE),
    }, "SELECT, INSERT, UPDATE (ended_at, ended_by)")

    op.create_table(
        "problem_reports", _id(), *_tenancy("problem_reports"),
        sa.Column("region_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=False),
        _fk("member_id", "members"),
        _fk("worker_id", "worker_accounts"),
        sa.Column("topic", sa.Text, nullable=False),
        _fk("partner_id", "platform_partners"),
        sa.Column("station_code", sa.Text, nullable=True),
        sa.Column("zone_code", sa.Text, nullable=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("details", JSONB, nullable=False),
        _ts("created_at"),
        sa.CheckConstraint(f"topic IN {_in(TOPICS)}", name="topic"),
    )
    op.create_index("ix_problem_reports_tenant_at", "problem_reports", ["tenant_id", "created_at"])
    op.create_index("ix_problem_reports_worker", "problem_reports", ["worker_id", "created_at"])
    remit = (
        "EXISTS (SELECT 1 FROM worker_representatives r"
        f" WHERE {PRINCIPAL} = 'worker:' || r.worker_id::text AND r.ended_at IS NULL"
        " AND EXISTS (SELECT 1 FROM members m WHERE m.id = r.member_id AND m.status = 'active')"
        " AND r.tenant_id IN (problem_reports.region_id, problem_reports.federation_id)"
        " AND ((r.kind = 'station' AND r.ref_code = problem_reports.station_code)"
        "   OR (r.kind = 'zone' AND r.ref_code = problem_reports.zone_code)"
        "   OR (r.kind = 'platform' AND r.partner_id = problem_reports.partner_id)))"
    )
    own_active_member = (
        "EXISTS (SELECT 1 FROM members m WHERE m.id = member_id AND m.status = 'active'"
        " AND m.tenant_id = problem_reports.tenant_id"
        f" AND {PRINCIPAL} = 'worker:' || m.worker_id::text)"
    )
    protect("problem_reports", app, {
        "staff_self_or_remit_read": (f"SELECT:{STAFF_SUBTREE} OR {WORKER_SELF} OR {remit}", None),
        "member_insert": ("INSERT:", f"{WORKER_SELF} AND {own_active_member}"),
    }, "SELECT, INSERT")

    op.create_table(
        "rep_proposals", _id(), *_tenancy("rep_proposals"),
        _fk("representative_id", "worker_representatives"),
        _fk("worker_id", "worker_accounts"),
        sa.Column("topic", sa.Text, nullable=False),
        _fk("partner_id", "platform_partners"),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("details", JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("decided_by", sa.Text, nullable=True),
        sa.Column("decision_reason", sa.Text, nullable=True),
        _ts("created_at"),
        _ts("decided_at", nullable=True),
        sa.CheckConstraint(f"topic IN {_in(TOPICS)}", name="topic"),
        sa.CheckConstraint("status IN ('submitted', 'taken', 'declined')", name="status"),
    )
    op.create_index("ix_rep_proposals_tenant_status", "rep_proposals", ["tenant_id", "status"])
    own_rep = (
        "EXISTS (SELECT 1 FROM worker_representatives r WHERE r.id = representative_id"
        f" AND r.ended_at IS NULL AND {PRINCIPAL} = 'worker:' || r.worker_id::text"
        " AND r.tenant_id = rep_proposals.tenant_id)"
    )
    protect("rep_proposals", app, {
        "staff_or_self_read": (f"SELECT:{STAFF_SUBTREE} OR {WORKER_SELF}", None),
        "rep_insert": ("INSERT:", f"{WORKER_SELF} AND status = 'submitted' AND {own_rep}"),
        "staff_update": ("UPDATE:" + STAFF_SUBTREE, STAFF_SUBTREE),
    }, "SELECT, INSERT, UPDATE (status, decided_by, decision_reason, decided_at)")

    op.create_table(
        "rep_proposal_reports",
        sa.Column("proposal_id", UUID(as_uuid=True), sa.ForeignKey("rep_proposals.id"),
                  primary_key=True),
        sa.Column("report_id", UUID(as_uuid=True), sa.ForeignKey("problem_reports.id"),
                  primary_key=True),
        *_tenancy("rep_proposal_reports"),
    )
    op.create_index("ix_rep_proposal_reports_report", "rep_proposal_reports", ["report_id"])
    proposal_visible = "EXISTS (SELECT 1 FROM rep_proposals p WHERE p.id = proposal_id)"
    report_visible = "EXISTS (SELECT 1 FROM problem_reports r WHERE r.id = report_id)"
    protect("rep_proposal_reports", app, {
        "staff_or_proposer_read": (f"SELECT:{STAFF_SUBTREE} OR {proposal_visible}", None),
        "proposer_insert": ("INSERT:", f"{proposal_visible} AND {report_visible}"),
    }, "SELECT, INSERT")

    # ---- the board: items, their sources, timeline, supports -------------------------------
    op.create_table(
        "agenda_items", _id(), *_tenancy("agenda_items"),
        _fk("partner_id", "platform_partners"),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("details", JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("support_count", sa.Integer, nullable=False),
        sa.Column("support_threshold", sa.Integer, nullable=False),
        _fk("merged_into_id", "agenda_items", nullable=True),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(f"topic IN {_in(TOPICS)}", name="topic"),
        sa.CheckConstraint(f"status IN {_in(ITEM_STATUSES)}", name="status"),
        sa.CheckConstraint("support_count >= 0 AND support_threshold >= 1", name="support"),
        sa.CheckConstraint("(status = 'merged') = (merged_into_id IS NOT NULL)",
                           name="merged_into"),
    )
    op.create_index("ix_agenda_items_tenant_status", "agenda_items", ["tenant_id", "status"])
    op.create_index("ix_agenda_items_partner_status", "agenda_items", ["partner_id", "status"])
    partner_items = f"({PARTNER_OWN} AND status NOT IN ('collected', 'under_review', 'merged'))"
    protect("agenda_items", app, {
        "board_read": (f"SELECT:{STAFF_BOARD} OR {REACH} OR {partner_items}", None),
        "staff_insert": ("INSERT:", STAFF_SUBTREE),
        "staff_update": ("UPDATE:" + STAFF_SUBTREE, STAFF_SUBTREE),
    }, "SELECT, INSERT, UPDATE (title, summary, details, status, support_threshold,"
       " merged_into_id, updated_at)")
    pairs = ", ".join(f"('{a}', '{b}')" for a, b in PAIRS)
    op.execute(
        f"""CREATE FUNCTION flexunion_agenda_transition() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
          IF NEW.status IS DISTINCT FROM OLD.status THEN
            IF NOT EXISTS (SELECT 1 FROM (VALUES {pairs}) AS p(a, b)
                            WHERE p.a = OLD.status AND p.b = NEW.status) THEN
              RAISE EXCEPTION 'agenda item % cannot go from % to %', OLD.id, OLD.status,
                NEW.status USING ERRCODE = 'check_violation';
            END IF;
            IF NEW.status = 'ratified' AND NOT EXISTS (
                SELECT 1 FROM ballots b WHERE b.item_id = NEW.id AND b.result = 'passed') THEN
              RAISE EXCEPTION 'agenda item % has no passed ballot', OLD.id
                USING ERRCODE = 'check_violation';
            END IF;
          END IF;
          RETURN NEW;
        END $$"""
    )
    op.execute("REVOKE ALL ON FUNCTION flexunion_agenda_transition() FROM PUBLIC")

    op.create_table(
        "agenda_item_events", _id(), *_tenancy("agenda_item_events"),
        # Timeline order: entries of one transaction share a timestamp, never a seq.
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        _fk("item_id", "agenda_items"),
        _fk("partner_id", "platform_partners"),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("from_status", sa.Text, nullable=True),
        sa.Column("to_status", sa.Text, nullable=True),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("audience", sa.Text, nullable=False),
        _ts("created_at"),
        sa.CheckConstraint("audience IN ('all', 'union')", name="audience"),
        sa.CheckConstraint("actor <> ''", name="actor_named"),
    )
    op.create_index("ix_agenda_item_events_item_seq", "agenda_item_events", ["item_id", "seq"])
    item_visible = "EXISTS (SELECT 1 FROM agenda_items i WHERE i.id = item_id)"
    protect("agenda_item_events", app, {
        "board_read": (f"SELECT:{STAFF_BOARD} OR (audience = 'all' AND {item_visible}"
                       f" AND ({REACH} OR {PARTNER_OWN}))", None),
        "staff_insert": ("INSERT:", f"{STAFF_SUBTREE} AND actor = {PRINCIPAL}"),
        "partner_insert": ("INSERT:", f"{PARTNER_OWN} AND {item_visible} AND audience = 'all'"
                                      f" AND actor = {PRINCIPAL}"),
    }, "SELECT, INSERT")

    op.create_table(
        "agenda_item_sources", _id(), *_tenancy("agenda_item_sources"),
        _fk("item_id", "agenda_items"),
        _fk("report_id", "problem_reports", nullable=True),
        _fk("proposal_id", "rep_proposals", nullable=True),
        _fk("from_item_id", "agenda_items", nullable=True),
        _fk("moved_to_item_id", "agenda_items", nullable=True),
        sa.Column("via", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        _ts("created_at"),
        sa.CheckConstraint("via IN ('created', 'added', 'merged', 'split')", name="via"),
        sa.CheckConstraint("report_id IS NOT NULL OR proposal_id IS NOT NULL"
                           " OR from_item_id IS NOT NULL", name="names_a_source"),
    )
    op.create_index("ix_agenda_item_sources_item", "agenda_item_sources", ["item_id"])
    op.create_index("ix_agenda_item_sources_report", "agenda_item_sources", ["report_id"])
    op.create_index("ix_agenda_item_sources_proposal", "agenda_item_sources", ["proposal_id"])
    own_report = ("EXISTS (SELECT 1 FROM problem_reports r WHERE r.id = report_id"
                  f" AND {PRINCIPAL} = 'worker:' || r.worker_id::text)")
    protect("agenda_item_sources", app, {
        "staff_or_reporter_read": (f"SELECT:{STAFF_BOARD} OR {own_report}", None),
        "staff_insert": ("INSERT:", STAFF_SUBTREE),
        "staff_update": ("UPDATE:" + STAFF_SUBTREE, STAFF_SUBTREE),
    }, "SELECT, INSERT, UPDATE (moved_to_item_id)")

    op.create_table(
        "agenda_supports",
        sa.Column("item_id", UUID(as_uuid=True), sa.ForeignKey("agenda_items.id"),
                  primary_key=True),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), primary_key=True),
        _fk("worker_id", "worker_accounts"),
        *_tenancy("agenda_supports"),
        _ts("created_at"),
    )
    op.create_index("ix_agenda_supports_worker", "agenda_supports", ["worker_id"])
    supporter = (
        f"{WORKER_SELF} AND EXISTS (SELECT 1 FROM members m WHERE m.id = member_id"
        f" AND m.status = 'active' AND {PRINCIPAL} = 'worker:' || m.worker_id::text)"
        f" AND {item_visible}"
    )
    protect("agenda_supports", app, {
        "staff_or_self_read": (f"SELECT:{STAFF_BOARD} OR {WORKER_SELF}", None),
        "member_insert": ("INSERT:", supporter),
        "self_delete": ("DELETE:" + WORKER_SELF, None),
    }, "SELECT, INSERT, DELETE")
    # Counting supports (and the automatic move to review) needs the item row locked, which
    # a worker may not update: this owner-owned function does exactly that and no more.
    _function(
        """CREATE FUNCTION flexunion_agenda_support_tally(item uuid)
        RETURNS TABLE (support_count integer, moved boolean)
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE it agenda_items%ROWTYPE; n integer; did boolean := false;
        BEGIN
          SELECT * INTO it FROM agenda_items WHERE id = item FOR UPDATE;
          IF NOT FOUND THEN RETURN; END IF;
          SELECT count(*) INTO n FROM agenda_supports s WHERE s.item_id = item;
          IF it.status = 'collected' AND n >= it.support_threshold THEN
            did := true;
            INSERT INTO agenda_item_events (id, federation_id, tenant_id, item_id, partner_id,
              kind, from_status, to_status, actor, reason, payload, audience, created_at)
            VALUES (gen_random_uuid(), it.federation_id, it.tenant_id, it.id, it.partner_id,
              'transition', 'collected', 'under_review', 'system:support-threshold',
              'support threshold reached', jsonb_build_object('supporters', n,
              'threshold', it.support_threshold), 'all', now());
          END IF;
          UPDATE agenda_items SET support_count = n,
                 status = CASE WHEN did THEN 'under_review' ELSE status END,
                 updated_at = CASE WHEN did THEN now() ELSE updated_at END
           WHERE id = item;
          RETURN QUERY SELECT n, did;
        END $$""", "flexunion_agenda_support_tally(uuid)", qa)

    # ---- templates for answering many items at once --------------------------------------
    op.create_table(
        "agenda_templates", _id(), *_tenancy("agenda_templates"),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("to_status", sa.Text, nullable=True),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_agenda_templates_code"),
        sa.CheckConstraint("code ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'", name="code_format"),
    )
    protect("agenda_templates", app, {
        "staff_read": ("SELECT:" + STAFF_BOARD, None),
        "staff_insert": ("INSERT:", STAFF_SUBTREE),
        "staff_update": ("UPDATE:" + STAFF_SUBTREE, STAFF_SUBTREE),
    }, "SELECT, INSERT, UPDATE (title_zh, title_en, body, to_status, updated_at)")

    # ---- negotiation rounds, promised data, partner responses ------------------------------
    op.create_table(
        "negotiation_rounds", _id(), *_tenancy("negotiation_rounds"),
        _fk("partner_id", "platform_partners"),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("location", sa.Text, nullable=True),
        sa.Column("parties", JSONB, nullable=False),
        sa.Column("minutes", sa.Text, nullable=False),
        sa.Column("next_steps", sa.Text, nullable=True),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_negotiation_rounds_tenant_held", "negotiation_rounds",
                    ["tenant_id", "held_on"])
    staff_or_partner = f"SELECT:{STAFF_BOARD} OR {PARTNER_OWN}"
    protect("negotiation_rounds", app, {
        "staff_or_partner_read": (staff_or_partner, None),
        "staff_insert": ("INSERT:", STAFF_SUBTREE),
    }, "SELECT, INSERT")

    op.create_table(
        "negotiation_round_items",
        sa.Column("round_id", UUID(as_uuid=True), sa.ForeignKey("negotiation_rounds.id"),
                  primary_key=True),
        sa.Column("item_id", UUID(as_uuid=True), sa.ForeignKey("agenda_items.id"),
                  primary_key=True),
        *_tenancy("negotiation_round_items"),
        _fk("partner_id", "platform_partners"),
        sa.Column("union_position", sa.Text, nullable=False),
        sa.Column("platform_position", sa.Text, nullable=True),
        sa.Column("outcome", sa.Text, nullable=True),
    )
    op.create_index("ix_negotiation_round_items_item", "negotiation_round_items", ["item_id"])
    protect("negotiation_round_items", app, {
        "staff_or_partner_read": (staff_or_partner, None),
        "staff_insert": ("INSERT:", STAFF_SUBTREE),
    }, "SELECT, INSERT")

    op.create_table(
        "partner_responses", _id(), *_tenancy("partner_responses"),
        _fk("item_id", "agenda_items"),
        _fk("partner_id", "platform_partners"),
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("promise_id", UUID(as_uuid=True), nullable=True),  # FK added below
        _ts("created_at"),
    )
    op.create_index("ix_partner_responses_item", "partner_responses", ["item_id", "created_at"])

    op.create_table(
        "data_promises", _id(), *_tenancy("data_promises"),
        _fk("round_id", "negotiation_rounds"),
        _fk("item_id", "agenda_items"),
        _fk("partner_id", "platform_partners"),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        _ts("delivered_at", nullable=True),
        _fk("response_id", "partner_responses", nullable=True),
        _ts("created_at"),
    )
    op.create_index("ix_data_promises_tenant_due", "data_promises", ["tenant_id", "due_on"])
    op.create_index("ix_data_promises_item", "data_promises", ["item_id"])
    op.create_foreign_key("fk_partner_responses_promise_id_data_promises", "partner_responses",
                          "data_promises", ["promise_id"], ["id"])
    protect("data_promises", app, {
        "staff_or_partner_read": (staff_or_partner, None),
        "staff_insert": ("INSERT:", STAFF_SUBTREE),
        "staff_or_partner_update": (f"UPDATE:{STAFF_SUBTREE} OR {PARTNER_OWN}",
                                    f"{STAFF_SUBTREE} OR {PARTNER_OWN}"),
    }, "SELECT, INSERT, UPDATE (delivered_at, response_id)")
    protect("partner_responses", app, {
        "staff_or_partner_read": (staff_or_partner, None),
        "partner_insert": ("INSERT:", f"{PARTNER_OWN} AND {item_visible}"
                                      f" AND {PRINCIPAL} = 'partner:' || client_id"),
    }, "SELECT, INSERT")

    # ---- evidence attachments (the bytes live behind the storage interface) ----------------
    op.create_table(
        "agenda_attachments", _id(), *_tenancy("agenda_attachments"),
        _fk("item_id", "agenda_items", nullable=True),
        _fk("report_id", "problem_reports", nullable=True),
        _fk("partner_id", "platform_partners", nullable=True),
        sa.Column("storage_key", sa.Text, nullable=False, unique=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("shared_with_partner", sa.Boolean, nullable=False),
        sa.Column("uploaded_by", sa.Text, nullable=False),
        _ts("created_at"),
        sa.CheckConstraint("(item_id IS NULL) <> (report_id IS NULL)", name="one_owner"),
        sa.CheckConstraint("size_bytes > 0", name="not_empty"),
    )
    op.create_index("ix_agenda_attachments_item", "agenda_attachments", ["item_id"])
    op.create_index("ix_agenda_attachments_report", "agenda_attachments", ["report_id"])
    own_report_file = ("report_id IS NOT NULL AND EXISTS (SELECT 1 FROM problem_reports r"
                       f" WHERE r.id = report_id AND {PRINCIPAL} = 'worker:' || r.worker_id::text)")
    partner_file = (f"item_id IS NOT NULL AND {PARTNER_OWN} AND {item_visible}"
                    f" AND (shared_with_partner OR uploaded_by = {PRINCIPAL})")
    protect("agenda_attachments", app, {
        "board_read": (f"SELECT:{STAFF_BOARD} OR {own_report_file} OR {partner_file}", None),
        "staff_insert": ("INSERT:", f"{STAFF_SUBTREE} AND uploaded_by = {PRINCIPAL}"),
        "owner_insert": ("INSERT:", f"uploaded_by = {PRINCIPAL} AND ({own_report_file}"
                                    f" OR {partner_file})"),
    }, "SELECT, INSERT")

    # ---- ratification ballots ------------------------------------------------------------
    op.create_table(
        "ballots", _id(), *_tenancy("ballots"),
        _fk("item_id", "agenda_items"),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("quorum", sa.Numeric(4, 3), nullable=False),
        sa.Column("threshold", sa.Numeric(4, 3), nullable=False),
        sa.Column("electorate", sa.Integer, nullable=False),
        _ts("opened_at"),
        _ts("closes_at"),
        _ts("closed_at", nullable=True),
        sa.Column("opened_by", sa.Text, nullable=False),
        sa.Column("closed_by", sa.Text, nullable=True),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("tally", JSONB, nullable=True),
        sa.Column("tally_digest", sa.Text, nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name="status"),
        sa.CheckConstraint("quorum > 0 AND quorum <= 1 AND threshold >= 0.5 AND threshold <= 1",
                           name="rules"),
        sa.CheckConstraint("result IS NULL OR result IN ('passed', 'failed_quorum',"
                           " 'failed_threshold')", name="result"),
        sa.CheckConstraint("(status = 'closed') = (result IS NOT NULL)", name="result_when_closed"),
        sa.CheckConstraint("opened_at < closes_at", name="ordered"),
    )
    op.create_index("uq_ballots_one_open", "ballots", ["item_id"], unique=True,
                    postgresql_where=sa.text("status = 'open'"))
    # Who may vote (frozen when the ballot opens) and whether they have: never what.
    op.create_table(
        "ballot_electors",
        sa.Column("ballot_id", UUID(as_uuid=True), sa.ForeignKey("ballots.id"), primary_key=True),
        sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey("members.id"), primary_key=True),
        _fk("worker_id", "worker_accounts"),
        *_tenancy("ballot_electors"),
        _ts("voted_at", nullable=True),
    )
    op.create_index("ix_ballot_electors_worker", "ballot_electors", ["worker_id"])
    on_roll = ("EXISTS (SELECT 1 FROM ballot_electors e WHERE e.ballot_id = ballots.id"
               f" AND {PRINCIPAL} = 'worker:' || e.worker_id::text)")
    protect("ballots", app, {
        "board_or_elector_read": (f"SELECT:{STAFF_BOARD} OR {REACH} OR {on_roll}", None),
        "staff_insert": ("INSERT:", STAFF_SUBTREE),
        "staff_update": ("UPDATE:" + STAFF_SUBTREE, STAFF_SUBTREE),
    }, "SELECT, INSERT, UPDATE (status, closed_at, closed_by, result, tally, tally_digest,"
       " closes_at)")
    op.execute("CREATE TRIGGER agenda_items_transition BEFORE UPDATE OF status ON agenda_items"
               " FOR EACH ROW EXECUTE FUNCTION flexunion_agenda_transition()")

    protect("ballot_electors", app, {
        "staff_or_self_read": (f"SELECT:{STAFF_BOARD} OR {WORKER_SELF}", None),
        "staff_insert": ("INSERT:", STAFF_SUBTREE),
        "self_vote": ("UPDATE:" + WORKER_SELF, WORKER_SELF + " AND voted_at IS NOT NULL"),
    }, "SELECT, INSERT, UPDATE (voted_at)")

    # What was voted: no member, no worker, no time. The app role can add a paper to an open
    # ballot and nothing else; reading goes through the functions below.
    op.create_table(
        "ballot_papers",
        _id(),
        _fk("ballot_id", "ballots"),
        sa.Column("choice", sa.Text, nullable=False),
        sa.Column("receipt_hash", sa.Text, nullable=False),
        sa.UniqueConstraint("ballot_id", "receipt_hash", name="uq_ballot_papers_receipt"),
        sa.CheckConstraint("choice IN ('yes', 'no', 'abstain')", name="choice"),
    )
    protect("ballot_papers", app, {
        "into_open_ballot": ("INSERT:", "EXISTS (SELECT 1 FROM ballots b WHERE b.id = ballot_id"
                                        " AND b.status = 'open' AND b.closes_at > now())"),
    }, "INSERT")
    closed = ("EXISTS (SELECT 1 FROM ballots b WHERE b.id = ballot AND b.status = 'closed')")
    _function(
        f"""CREATE FUNCTION flexunion_ballot_count(ballot uuid)
        RETURNS TABLE (choice text, papers bigint, digest text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT c.choice, coalesce(n.papers, 0), d.digest
            FROM (VALUES ('yes'), ('no'), ('abstain')) AS c(choice)
            LEFT JOIN (SELECT p.choice, count(*) AS papers FROM ballot_papers p
                        WHERE p.ballot_id = ballot GROUP BY p.choice) n ON n.choice = c.choice
            CROSS JOIN (SELECT encode(sha256(convert_to(coalesce(string_agg(
                          p.receipt_hash || ':' || p.choice, E'\\n' ORDER BY p.receipt_hash),
                          ''), 'UTF8')), 'hex') AS digest
                          FROM ballot_papers p WHERE p.ballot_id = ballot) d
           WHERE {closed}
        $$""", "flexunion_ballot_count(uuid)", qa)
    _function(
        """CREATE FUNCTION flexunion_ballot_receipt(ballot uuid, receipt text) RETURNS boolean
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT EXISTS (SELECT 1 FROM ballot_papers p
                          WHERE p.ballot_id = ballot AND p.receipt_hash = receipt)
        $$""", "flexunion_ballot_receipt(uuid, text)", qa)
    _function(
        f"""CREATE FUNCTION flexunion_ballot_seal(ballot uuid) RETURNS bigint
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE n bigint;
        BEGIN
          IF NOT {closed} THEN
            RAISE EXCEPTION 'ballot % is not closed', ballot USING ERRCODE = 'check_violation';
          END IF;
          DROP TABLE IF EXISTS pg_temp.sealing;
          CREATE TEMP TABLE sealing ON COMMIT DROP AS
            SELECT choice, receipt_hash FROM ballot_papers WHERE ballot_id = ballot;
          DELETE FROM ballot_papers WHERE ballot_id = ballot;
          INSERT INTO ballot_papers (id, ballot_id, choice, receipt_hash)
            SELECT gen_random_uuid(), ballot, choice, receipt_hash FROM sealing ORDER BY random();
          GET DIAGNOSTICS n = ROW_COUNT;
          DROP TABLE sealing;
          RETURN n;
        END $$""", "flexunion_ballot_seal(uuid)", qa)


def downgrade() -> None:
    for fn in ("flexunion_ballot_seal(uuid)", "flexunion_ballot_receipt(uuid, text)",
               "flexunion_ballot_count(uuid)"):
        op.execute(f"DROP FUNCTION {fn}")
    op.execute("DROP TRIGGER agenda_items_transition ON agenda_items")
    op.drop_constraint("fk_partner_responses_promise_id_data_promises", "partner_responses",
                       type_="foreignkey")
    for table in ("ballot_papers", "ballot_electors", "ballots", "agenda_attachments",
                  "data_promises", "partner_responses", "negotiation_round_items",
                  "negotiation_rounds", "agenda_templates", "agenda_supports",
                  "agenda_item_sources", "agenda_item_events", "agenda_items",
                  "rep_proposal_reports", "rep_proposals", "problem_reports",
                  "worker_representatives"):
        op.drop_table(table)
    for fn in ("flexunion_agenda_support_tally(uuid)", "flexunion_agenda_transition()",
               "flexunion_member_reach()", "flexunion_partner()", "flexunion_partners(uuid)"):
        op.execute(f"DROP FUNCTION {fn}")
