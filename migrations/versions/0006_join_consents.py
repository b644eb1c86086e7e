"""Joining needs consents, and partners are reference data for every worker.

- `worker_consents.purpose` may be `id_number`: the separate consent (单独同意, PIPL art. 29)
  to processing the resident ID number, which joining now requires beside the privacy policy.
- `flexunion_partners(fed)` answered a worker only through its active membership's reach, so
  an applicant naming its platforms (线上入会) could not look the partners up. It now also
  answers a worker whose account belongs to `fed`: the list carries codes and names only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BODY = """CREATE OR REPLACE FUNCTION flexunion_partners(fed uuid)
        RETURNS TABLE (id uuid, code text, name_zh text, name_en text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT p.id, p.code, p.name_zh, p.name_en FROM platform_partners p
           WHERE p.tenant_id = fed
             AND (fed = flexunion_federation() OR fed = ANY (flexunion_member_reach()){worker})
        $$"""
_WORKER = """
                  OR EXISTS (SELECT 1 FROM worker_accounts w
                              WHERE w.tenant_id = fed
                                AND 'worker:' || w.id::text
                                    = current_setting('flexunion.principal', true))"""


_PURPOSES = ("privacy_policy", "location_checkin", "sms_notice", "data_sharing")


def _purposes(extra: tuple[str, ...] = ()) -> str:
    return "purpose IN (" + ", ".join(f"'{p}'" for p in (*_PURPOSES, *extra)) + ")"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_worker_consents_purpose"), "worker_consents", type_="check")
    op.create_check_constraint("purpose", "worker_consents", _purposes(("id_number",)))
    op.execute(_BODY.format(worker=_WORKER))


def downgrade() -> None:
    op.execute(_BODY.format(worker=""))
    op.execute("DELETE FROM worker_consents WHERE purpose = 'id_number'")
    op.drop_constraint(op.f("ck_worker_consents_purpose"), "worker_consents", type_="check")
    op.create_check_constraint("purpose", "worker_consents", _purposes())
