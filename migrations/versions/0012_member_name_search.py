"""The console's member search by masked name (张*): an index the keyset page can walk.

A masked name is the first character and one asterisk per further character (张三 → 张*,
欧阳娜娜 → 欧***: membership/identity.py). The console's search turns what the officer
types into the exact masked forms it can match (`membership.service.masked_forms`), and
membership/repository.py `page` reads, per tenant of the scope and per masked form, one
ordered range of this index cut at the page size — as the unfiltered list reads
ix_members_tenant_created. Without it, a search at 1M members scanned whole tenants:
4.4 s for the HQ, 1.05 s for a region (bench/console.py, 2026-12-03).

Plain CREATE INDEX inside the migration's transaction: on a live database with many
members it blocks writes to members while it builds (docs/operations.md).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_members_tenant_name_created", "members",
                    ["tenant_id", "name_masked", "created_at", "id"],
                    postgresql_include=["worker_id"])


def downgrade() -> None:
    op.drop_index("ix_members_tenant_name_created", table_name="members")
