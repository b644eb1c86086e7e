"""具名同意 Naming the worker to the platform with recorded consent (issue 15, Visibility: "the
partner only for disputes addressed to it, with the worker masked until the worker agrees to
be named (recorded consent)").

- `worker_consents` (0001, the consent domain's append-only record: the latest row of a
  purpose decides) takes the purpose `dispute_named` with a new column `dispute_id`
  (required for that purpose, NULL for every other): the worker's consent to be named to the
  platform a dispute is addressed to, per dispute. Granting and withdrawing append rows.
  A worker may record it only for a dispute on their own case (a RESTRICTIVE insert arm:
  the case is the caller's, read through `case_disputes` under the worker's own policies).
- `flexunion_dispute_named(dispute)` (owner-owned, SECURITY DEFINER): the platform's one way
  to the worker's name. It answers only a partner principal, only for a dispute addressed to
  its platform, and only while the worker's latest `dispute_named` row for that dispute is a
  grant: the member's sealed real name (`members.name_cipher`, opened by the app) and the
  platform's own rider id for that worker when the member record lists it
  (`members.platforms`, {partner, platform_worker_id}). Otherwise no row. Partners still read
  no people table (0016/0027 stay as they are).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

PURPOSES = ("privacy_policy", "location_checkin", "sms_notice", "data_sharing", "id_number")
WORKER = "(SELECT flexunion_principal_worker())"

NAMED_FN = """CREATE FUNCTION flexunion_dispute_named(dispute uuid)
        RETURNS TABLE (name_cipher bytea, platform_worker_id text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT m.name_cipher,
                 (SELECT p->>'platform_worker_id' FROM jsonb_array_elements(m.platforms) p
                   WHERE p->>'partner' = pp.code LIMIT 1)
            FROM case_disputes d
            JOIN cases c ON c.id = d.case_id
            JOIN platform_partners pp ON pp.id = d.partner_id
            JOIN members m ON m.id = coalesce(c.member_id,
                 (SELECT m2.id FROM members m2 WHERE m2.worker_id = c.worker_id
                   ORDER BY m2.created_at DESC LIMIT 1))
           WHERE d.id = dispute
             AND flexunion_principal() ~ '^partner:'
             AND d.partner_id = flexunion_partner()
             AND c.worker_id IS NOT NULL
             AND coalesce((SELECT w.granted FROM worker_consents w
                            WHERE w.worker_id = c.worker_id AND w.purpose = 'dispute_named'
                              AND w.dispute_id = d.id
                            ORDER BY w.created_at DESC, w.id LIMIT 1), false)
        $$"""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _purposes(extra: tuple[str, ...] = ()) -> str:
    return "purpose IN (" + ", ".join(f"'{p}'" for p in (*PURPOSES, *extra)) + ")"


def upgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    op.add_column("worker_consents", sa.Column(
        "dispute_id", UUID(as_uuid=True), sa.ForeignKey("case_disputes.id",
                                                        name="fk_worker_consents_dispute_id"),
        nullable=True))
    op.drop_constraint(op.f("ck_worker_consents_purpose"), "worker_consents", type_="check")
    op.create_check_constraint("purpose", "worker_consents", _purposes(("dispute_named",)))
    op.create_check_constraint("dispute_named", "worker_consents",
                               "(purpose = 'dispute_named') = (dispute_id IS NOT NULL)")
    op.create_index("ix_worker_consents_dispute", "worker_consents",
                    ["dispute_id", "worker_id", "created_at"],
                    postgresql_where=sa.text("dispute_id IS NOT NULL"))
    op.execute(
        f"CREATE POLICY dispute_own ON worker_consents AS RESTRICTIVE FOR INSERT TO {qa}"
        " WITH CHECK (dispute_id IS NULL OR EXISTS (SELECT 1 FROM case_disputes d"
        " JOIN cases c ON c.id = d.case_id WHERE d.id = dispute_id"
        f" AND c.worker_id = worker_consents.worker_id AND c.worker_id = {WORKER}))")
    op.execute(NAMED_FN)
    op.execute("REVOKE ALL ON FUNCTION flexunion_dispute_named(uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION flexunion_dispute_named(uuid) TO {qa}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS flexunion_dispute_named(uuid)")
    op.execute("DROP POLICY IF EXISTS dispute_own ON worker_consents")
    op.execute("DELETE FROM worker_consents WHERE purpose = 'dispute_named'")
    op.drop_index("ix_worker_consents_dispute", table_name="worker_consents")
    op.drop_constraint(op.f("ck_worker_consents_dispute_named"), "worker_consents",
                       type_="check")
    op.drop_constraint(op.f("ck_worker_consents_purpose"), "worker_consents", type_="check")
    op.create_check_constraint("purpose", "worker_consents", _purposes())
    op.drop_column("worker_consents", "dispute_id")
