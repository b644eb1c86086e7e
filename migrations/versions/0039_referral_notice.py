"""The worker's inbox tells them where a referral sends them (docs/referrals.md).

`worker_notifications.kind` also takes `case_referred`: written in the referral's transaction
by the staff who refer the case (cases/referrals/service.py `refer`, inbox/service.py
`case_referred`), one per referral — the provider, its address and phone, and the booked slot
(Beijing) or the hand-over. The inbox's policies (0015) are unchanged: the writer must see
the case and name its worker; only that worker reads the row.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def _kinds(kinds: str) -> None:
    op.execute("ALTER TABLE worker_notifications DROP CONSTRAINT ck_worker_notifications_kind")
    op.execute("ALTER TABLE worker_notifications ADD CONSTRAINT ck_worker_notifications_kind"
               f" CHECK (kind IN {kinds})")


def upgrade() -> None:
    _kinds("('case_status', 'case_moved', 'case_referred')")


def downgrade() -> None:
    op.execute("DELETE FROM worker_notifications WHERE kind = 'case_referred'")
    _kinds("('case_status', 'case_moved')")
