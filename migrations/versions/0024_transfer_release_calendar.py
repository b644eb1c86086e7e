"""A transfer's release deadline on the federation's calendar (issue 14).

The N working days before a transfer releases automatically are counted on the origin's
working calendar (calendars/service.py `deadline_after`), no longer on the chinese_calendar
package, which counted Monday to Friday silently for a year it did not know. A deadline that
reached a year the calendar does not cover is flagged: `transfers.release_due_uncovered_years`
names those years (empty: an official deadline).

Open transfers requested before this revision keep their deadline; one whose last day lies
in a year the federation's calendar (its latest settings) does not cover is flagged here.

The worker requests the transfer, so the worker's session counts the deadline: the calendar
tables (0013) become readable by a worker of that federation too (through its own member
row, which only the worker sees) — the public schedule of working days, nothing personal.
Before, a worker read the calendar only once it had filed a case (0017's case_reader).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

CALENDAR_TABLES = ("calendar_days", "calendar_settings", "calendar_versions")
# Hashed once per query: the federations of the worker's own member rows (members' RLS).
WORKER = ("federation_id IN (SELECT m.federation_id FROM members m"
          " WHERE m.worker_id = (SELECT flexunion_principal_worker()))")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    qa = _q(op.get_context().config.attributes["app_role"])
    op.add_column("transfers", sa.Column("release_due_uncovered_years", ARRAY(sa.Integer),
                                         nullable=False, server_default=sa.text("'{}'")))
    # The deadline is 24:00 Beijing ending its last day: that day is the second before.
    op.execute("""
        UPDATE transfers t
           SET release_due_uncovered_years = ARRAY[d.year]
          FROM (SELECT id, extract(year FROM (release_due_at - interval '1 second')
                                   AT TIME ZONE 'Asia/Shanghai')::int AS year
                  FROM transfers WHERE status = 'requested') d
         WHERE d.id = t.id
           AND NOT d.year = ANY (coalesce((
               SELECT s.covered_years FROM calendar_settings s
                WHERE s.federation_id = t.federation_id
                ORDER BY s.version DESC LIMIT 1), '{}'))""")
    for table in CALENDAR_TABLES:
        op.execute(f"CREATE POLICY worker_reader ON {table} AS PERMISSIVE FOR SELECT TO {qa}"
                   f" USING ({WORKER})")


def downgrade() -> None:
    for table in CALENDAR_TABLES:
        op.execute(f"DROP POLICY IF EXISTS worker_reader ON {table}")
    op.drop_column("transfers", "release_due_uncovered_years")
