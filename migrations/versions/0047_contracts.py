"""协议条款: agreements with platform partners, their versions and annex clauses, and HQ's
clause templates (contracts/; docs/contracts.md).

- `clause_templates` (HQ's, `tenant_id` = the HQ): the five union clauses (支持建会, 会员转接,
  经费列支, 活动场地, 基础数据对接) and the bargaining outcomes (one per agenda topic), each
  with typed `parameters`, an optional evidence schema and CEL condition. Read by the
  federation's staff; written by HQ admins (and the owner: tenants/<fed>/clause-templates.yaml).
- `agreements` (协议): a partner's agreement with the federation (HQ) or a region: kind
  franchise | crowdsourcing | transport | collective.
- `agreement_versions`: the term (starts_on/ends_on), renewal, parties; a renewal is a new
  version; at most one in force per agreement (partial unique index).
- `agreement_clauses`: the annex of one version — a template instantiated with parameter
  values, the rendered text, the evidence schema and condition (type-checked by the app when
  saved), the agenda item it came from (if any), and once the version is in force the signed
  document (a JWS) and its sha256. `clause_key` is stable across versions (the diff pairs
  clauses by it); a trigger keeps a signed clause as it was signed (in force, it may only
  become superseded). Checkpoints and evidence (the second half) will hang off a clause's id.
- `flexunion_worker_partners()`: the platform partners named in the calling worker's active
  membership (`members.platforms`), as an array (one InitPlan).

Sight (RLS, forced, every table): staff of the federation (hq_admin, regional_admin,
station_officer) their subtree's agreements and the federation-wide ones; partners their own
agreements, versions and clauses, never another platform's nor the templates; workers the
clauses in force (and their agreements' header) of a platform their membership names. Writes:
HQ and regional admins within their subtree; templates HQ admins only; a draft version's
clause may be deleted by those admins (nothing signed is ever deleted).

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None

SCOPE = "((SELECT flexunion_tenant_scope())::uuid[])"
FEDERATION = "(SELECT flexunion_federation())"
PRINCIPAL = "flexunion_principal()"
STAFF = f"{PRINCIPAL} ~ '^(hq_admin|regional_admin|station_officer):'"
STAFF_READ = (f"({STAFF} AND (tenant_id = ANY {SCOPE}"
              f" OR (tenant_id = federation_id AND federation_id = {FEDERATION})))")
ADMINS = f"({PRINCIPAL} ~ '^(hq_admin|regional_admin):' AND tenant_id = ANY {SCOPE})"
HQ_ADMINS = f"({PRINCIPAL} ~ '^hq_admin:' AND tenant_id = ANY {SCOPE})"
PARTNER_OWN = "partner_id = (SELECT flexunion_partner())"
WORKER_PLATFORM = "partner_id = ANY ((SELECT flexunion_worker_partners())::uuid[])"
KINDS = ("franchise", "crowdsourcing", "transport", "collective")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tenancy(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("federation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "federation_id"],
                                ["tenants.id", "tenants.federation_id"],
                                name=f"fk_{table}_tenant_id_in_federation"),
    ]


def _stamps() -> list[sa.Column]:
    return [sa.Column("created_by", sa.Text, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)]


def _partner() -> sa.Column:
    return sa.Column("partner_id", UUID(as_uuid=True), sa.ForeignKey("platform_partners.id"),
                     nullable=False)


def _rls(table: str, app: str, *, read: str, write: str, updatable: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY owner_all ON {table} TO CURRENT_USER USING (true)"
               " WITH CHECK (true)")
    op.execute(f"CREATE POLICY contracts_read ON {table} FOR SELECT TO {app} USING ({read})")
    op.execute(f"CREATE POLICY contracts_insert ON {table} FOR INSERT TO {app}"
               f" WITH CHECK ({write})")
    op.execute(f"CREATE POLICY contracts_update ON {table} FOR UPDATE TO {app}"
               f" USING ({write}) WITH CHECK ({write})")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ({updatable}) ON {table} TO {app}")


def upgrade() -> None:
    app = _q(op.get_context().config.attributes["app_role"])
    op.execute("""CREATE FUNCTION flexunion_worker_partners() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT coalesce(array_agg(DISTINCT p.id), '{}')
            FROM members m
            CROSS JOIN LATERAL jsonb_array_elements(m.platforms) AS link
            JOIN platform_partners p ON p.tenant_id = m.federation_id
                                    AND p.code = link ->> 'partner'
           WHERE m.worker_id = flexunion_principal_worker() AND m.status = 'active'
        $$""")
    op.execute("REVOKE ALL ON FUNCTION flexunion_worker_partners() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION flexunion_worker_partners() TO {app}")

    op.create_table(
        "clause_templates", *_tenancy("clause_templates"),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=True),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("parameters", JSONB, nullable=False),
        sa.Column("evidence_schema", JSONB, nullable=True),
        sa.Column("condition", sa.Text, nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        *_stamps(),
        sa.UniqueConstraint("federation_id", "code", name="uq_clause_templates_code"),
        sa.CheckConstraint("kind IN ('union', 'outcome')", name="kind"),
        sa.CheckConstraint("(kind = 'outcome') = (topic IS NOT NULL)", name="outcome_topic"),
        sa.CheckConstraint("(condition IS NULL) OR (evidence_schema IS NOT NULL)",
                           name="condition_schema"),
    )
    op.create_index("uq_clause_templates_topic", "clause_templates", ["federation_id", "topic"],
                    unique=True, postgresql_where=sa.text("topic IS NOT NULL"))

    op.create_table(
        "agreements", *_tenancy("agreements"), _partner(),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("in_force_version", sa.Integer, nullable=True),
        *_stamps(),
        sa.UniqueConstraint("federation_id", "code", name="uq_agreements_code"),
        sa.CheckConstraint("kind IN ('franchise', 'crowdsourcing', 'transport', 'collective')",
                           name="kind"),
        sa.CheckConstraint("status IN ('draft', 'in_force', 'ended')", name="status"),
    )
    op.create_index("ix_agreements_tenant", "agreements", ["tenant_id", "created_at"])
    op.create_index("ix_agreements_partner", "agreements", ["partner_id", "status"])

    op.create_table(
        "agreement_versions", *_tenancy("agreement_versions"), _partner(),
        sa.Column("agreement_id", UUID(as_uuid=True), sa.ForeignKey("agreements.id"),
                  nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("renewal", sa.Text, nullable=False),
        sa.Column("renewal_notice_days", sa.Integer, nullable=True),
        sa.Column("parties", JSONB, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("in_force_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_force_by", sa.Text, nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
        sa.UniqueConstraint("agreement_id", "number", name="uq_agreement_versions_number"),
        sa.CheckConstraint("status IN ('draft', 'in_force', 'superseded')", name="status"),
        sa.CheckConstraint("renewal IN ('none', 'manual', 'automatic')", name="renewal"),
        sa.CheckConstraint("ends_on >= starts_on", name="term"),
        sa.CheckConstraint("number >= 1", name="number"),
    )
    op.create_index("uq_agreement_versions_in_force", "agreement_versions", ["agreement_id"],
                    unique=True, postgresql_where=sa.text("status = 'in_force'"))

    op.create_table(
        "agreement_clauses", *_tenancy("agreement_clauses"), _partner(),
        sa.Column("agreement_id", UUID(as_uuid=True), sa.ForeignKey("agreements.id"),
                  nullable=False),
        sa.Column("version_id", UUID(as_uuid=True), sa.ForeignKey("agreement_versions.id"),
                  nullable=False),
        sa.Column("version_number", sa.Integer, nullable=False),
        sa.Column("clause_key", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("template_id", UUID(as_uuid=True), sa.ForeignKey("clause_templates.id"),
                  nullable=True),
        sa.Column("template_code", sa.Text, nullable=True),
        sa.Column("template_revision", sa.Integer, nullable=True),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("parameters", JSONB, nullable=False),
        sa.Column("missing_parameters", JSONB, nullable=False),
        sa.Column("evidence_schema", JSONB, nullable=True),
        sa.Column("condition", sa.Text, nullable=True),
        sa.Column("condition_reads", JSONB, nullable=False),
        sa.Column("agenda_item_id", UUID(as_uuid=True), sa.ForeignKey("agenda_items.id"),
                  nullable=True),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("document", sa.Text, nullable=True),
        sa.Column("document_sha256", sa.Text, nullable=True),
        sa.Column("document_kid", sa.Text, nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
        sa.UniqueConstraint("version_id", "clause_key", name="uq_agreement_clauses_key"),
        sa.CheckConstraint("status IN ('draft', 'in_force', 'superseded')", name="status"),
        sa.CheckConstraint("origin IN ('manual', 'agenda_item', 'renewal')", name="origin"),
        sa.CheckConstraint("(condition IS NULL) OR (evidence_schema IS NOT NULL)",
                           name="condition_schema"),
        sa.CheckConstraint("status = 'draft' OR document IS NOT NULL", name="published_signed"),
    )
    op.create_index("ix_agreement_clauses_version", "agreement_clauses",
                    ["version_id", "position"])
    op.create_index("ix_agreement_clauses_partner", "agreement_clauses", ["partner_id", "status"])
    op.create_index("ix_agreement_clauses_item", "agreement_clauses", ["agenda_item_id"],
                    postgresql_where=sa.text("agenda_item_id IS NOT NULL"))

    _rls("clause_templates", app, read=f"{STAFF} AND federation_id = {FEDERATION}",
         write=HQ_ADMINS, updatable="title_zh, title_en, text, parameters, evidence_schema,"
         " condition, revision, updated_at")
    _rls("agreements", app,
         read=(f"{STAFF_READ} OR {PARTNER_OWN}"
               f" OR (status = 'in_force' AND {WORKER_PLATFORM})"),
         write=ADMINS, updatable="title, status, latest_version, in_force_version, updated_at")
    _rls("agreement_versions", app, read=f"{STAFF_READ} OR {PARTNER_OWN}", write=ADMINS,
         updatable="status, starts_on, ends_on, renewal, renewal_notice_days, parties, note,"
         " in_force_at, in_force_by, superseded_at, updated_at")
    _rls("agreement_clauses", app,
         read=(f"{STAFF_READ} OR {PARTNER_OWN}"
               f" OR (status = 'in_force' AND {WORKER_PLATFORM})"),
         write=ADMINS, updatable="position, status, title_zh, title_en, text, parameters,"
         " missing_parameters, evidence_schema, condition, condition_reads, document,"
         " document_sha256, document_kid, signed_at, updated_at")
    # What was signed never changes, for any role: a clause out of draft keeps its text,
    # parameters, condition and document; in force it may only become superseded.
    op.execute("""CREATE FUNCTION flexunion_clause_signed() RETURNS trigger
        LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
        BEGIN
          IF OLD.status <> 'draft' AND (
               (NEW.text, NEW.parameters, NEW.condition, NEW.evidence_schema, NEW.title_zh,
                NEW.title_en, NEW.document, NEW.document_sha256, NEW.version_id)
               IS DISTINCT FROM
               (OLD.text, OLD.parameters, OLD.condition, OLD.evidence_schema, OLD.title_zh,
                OLD.title_en, OLD.document, OLD.document_sha256, OLD.version_id)
               OR NOT (NEW.status = OLD.status
                       OR (OLD.status = 'in_force' AND NEW.status = 'superseded'))) THEN
            RAISE EXCEPTION 'agreement clause % is signed (%): it does not change', OLD.id,
              OLD.status USING ERRCODE = 'check_violation';
          END IF;
          RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER agreement_clauses_signed BEFORE UPDATE ON agreement_clauses"
               " FOR EACH ROW EXECUTE FUNCTION flexunion_clause_signed()")
    # A draft's clause may be taken out of the annex (a renewal that drops a clause); a clause
    # in force or superseded is signed and stays.
    op.execute(f"CREATE POLICY contracts_delete ON agreement_clauses FOR DELETE TO {app}"
               f" USING ({ADMINS} AND status = 'draft')")
    op.execute(f"GRANT DELETE ON agreement_clauses TO {app}")


def downgrade() -> None:
    for table in ("agreement_clauses", "agreement_versions", "agreements", "clause_templates"):
        op.drop_table(table)
    op.execute("DROP FUNCTION flexunion_worker_partners()")
    op.execute("DROP FUNCTION flexunion_clause_signed()")
