"""The worker's inbox tells them what became of a referral (docs/referrals.md).

`worker_notifications.kind` also takes `referral_accepted`, `referral_declined`,
`referral_closed` (a provider's receipt that matters to the worker: 已受理, 不予受理 with its
reason, 已办结 with its outcome) and `referral_cancelled` (the union cancelled it). A
provider's `received` (已接收) tells nothing: it changes nothing the worker is to do.

- The cancellation's row is written by the staff who cancel, through the inbox's policies as
  they stand (0015 `case_change_insert`: the writer sees the case and names its worker).
- A receipt's row: the provider may not read `cases` (0041), so it cannot name the worker,
  and must not learn who it is. `flexunion_receipt_notice(receipt, title_zh, title_en)`
  (SECURITY DEFINER) writes the row for it: only for a receipt the calling
  `provider:<client id>` recorded itself, for its own provider, of a status the worker is
  told (accepted / declined / closed), on a case that has a worker — the worker, case
  number, tenant and case status taken from the case inside the function, kind
  `referral_<status>`, `created_by` the provider's principal, `created_at` the receipt's
  time — and only once per receipt (a second call for it finds the row and writes none).
  It answers the row's id (NULL when nothing was written), nothing else of it; the row is
  the worker's alone to read. `flexunion_notice_sms(id)` (0015) then gives the sealed phone
  for the SMS once, if the worker opted in, to that row's creator, as for every notice.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

BEFORE = ("case_status", "case_moved", "case_referred")
# Frozen copy of flexunion.inbox's referral notice kinds (migrations never import app code).
NEW = ("referral_accepted", "referral_declined", "referral_closed", "referral_cancelled")

NOTICE_FN = """CREATE FUNCTION flexunion_receipt_notice(receipt uuid, title_zh text,
                                                    title_en text) RETURNS uuid
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          INSERT INTO worker_notifications (id, federation_id, tenant_id, worker_id, case_id,
                                            kind, status, case_no, title_zh, title_en, sms,
                                            created_by, created_at)
          SELECT gen_random_uuid(), c.federation_id, c.tenant_id, c.worker_id, c.id,
                 'referral_' || r.status, c.status, c.case_no, $2, $3, 'none',
                 r.recorded_by, r.recorded_at
            FROM referral_receipts r JOIN cases c ON c.id = r.case_id
           WHERE r.id = $1 AND r.status IN ('accepted', 'declined', 'closed')
             AND r.provider_id = flexunion_provider()
             AND r.recorded_by = flexunion_principal()
             AND c.worker_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM worker_notifications n
                              WHERE n.case_id = c.id AND n.kind = 'referral_' || r.status
                                AND n.created_by = r.recorded_by
                                AND n.created_at = r.recorded_at)
          RETURNING id
        $$"""
SIGNATURE = "flexunion_receipt_notice(uuid, text, text)"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _kinds(kinds: tuple[str, ...]) -> None:
    op.execute("ALTER TABLE worker_notifications DROP CONSTRAINT ck_worker_notifications_kind")
    listed = ", ".join(f"'{k}'" for k in kinds)
    op.execute("ALTER TABLE worker_notifications ADD CONSTRAINT ck_worker_notifications_kind"
               f" CHECK (kind IN ({listed}))")


def upgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    _kinds(BEFORE + NEW)
    op.execute(NOTICE_FN)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {qa}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
    listed = ", ".join(f"'{k}'" for k in NEW)
    op.execute(f"DELETE FROM worker_notifications WHERE kind IN ({listed})")
    _kinds(BEFORE)
