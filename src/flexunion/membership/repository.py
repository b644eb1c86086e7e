"""Queries for memberships. Row-level security decides which members exist for the caller:
staff see their subtree's (and a member released to them by a transfer), a worker sees only
its own; card checks and the status list read through SECURITY DEFINER functions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Text,
    func,
    literal_column,
    select,
    text,
    true,
    tuple_,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.db.engine import reachable

# Re-exported for the service: the session calls every repository shares.
from flexunion.db.rows import add as add
from flexunion.db.rows import flush as flush
from flexunion.membership.models import Member, MemberHome

_NEXT_MEMBER_NO = text("SELECT flexunion_next_member_no(:f)")
_NEXT_STATUS_IDX = text("SELECT flexunion_next_status_idx(:f)")
_STATUS_ENTRIES = text("SELECT status_idx, status FROM flexunion_status_entries(:f)")
_CARD_HOLDER = text("SELECT status, name_masked, member_no, member_since, home_code, home_name_zh"
                    " FROM flexunion_card_holder(:f, :m)")
_CALLER_HQ = text("SELECT d.id, d.code FROM flexunion_directory((SELECT flexunion_federation())) d"
                  " WHERE d.kind = 'hq'")
# One statement in its own implicit transaction, for a bare asyncpg pool: the caller's
# tenant is set first (the function checks the card's federation is the caller's), then
# read; the LATERAL dependency orders the two, and the setting ends with the statement.
CARD_HOLDER_ONE_STATEMENT = (
    "SELECT h.status, h.name_masked, h.member_no, h.member_since, h.home_code,"
    " h.home_name_zh FROM (SELECT set_config('flexunion.tenant_id', $3, true) AS t) s"
    " CROSS JOIN LATERAL flexunion_card_holder(CASE WHEN s.t IS NOT NULL THEN $1::uuid"
    " END, $2) h")


async def own(session: AsyncSession, worker_id: uuid.UUID, federation_id: uuid.UUID, *,
              lock: bool = False) -> Member | None:
    """The worker's live membership (a rejected application does not count)."""
    stmt = select(Member).where(Member.worker_id == worker_id,
                                Member.federation_id == federation_id,
                                Member.status != "rejected")
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def get(session: AsyncSession, member_id: uuid.UUID, *, lock: bool = False,
              home_in_scope: bool = False) -> Member | None:
    stmt = select(Member).where(Member.id == member_id)
    if home_in_scope:
        stmt = stmt.where(Member.tenant_id == func.any(func.flexunion_tenant_scope()))
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def by_number(session: AsyncSession, federation_id: uuid.UUID,
                    member_no: str) -> Member | None:
    return await session.scalar(select(Member).where(Member.federation_id == federation_id,
                                                     Member.member_no == member_no))


_HOTLINE_MEMBER = text("SELECT id, worker_id, status, name_masked"
                       " FROM flexunion_hotline_member(:federation, :number)")


async def for_hotline(session: AsyncSession, federation_id: uuid.UUID,
                      member_no: str) -> tuple[uuid.UUID, uuid.UUID, str, str] | None:
    """(id, worker id, status, masked name) of a member by number, for a registered 12351
    platform only (partners read no members: migration 0016)."""
    row = (await session.execute(_HOTLINE_MEMBER, {"federation": federation_id,
                                                   "number": member_no})).first()
    return (row.id, row.worker_id, row.status, row.name_masked) if row else None


async def labels(session: AsyncSession, member_ids: Iterable[uuid.UUID]
                 ) -> dict[uuid.UUID, tuple[str | None, str]]:
    """id → (会员号, masked name) of the members the caller may see among `member_ids`."""
    ids = list(set(member_ids))
    if not ids:
        return {}
    rows = await session.execute(select(Member.id, Member.member_no, Member.name_masked)
                                 .where(Member.id.in_(ids)))
    return {row.id: (row.member_no, row.name_masked) for row in rows}


async def numbers(session: AsyncSession, member_ids: Iterable[uuid.UUID]
                  ) -> dict[uuid.UUID, str | None]:
    """id → 会员号 of the members the caller may see among `member_ids`."""
    ids = list(set(member_ids))
    if not ids:
        return {}
    rows = await session.execute(select(Member.id, Member.member_no).where(Member.id.in_(ids)))
    return {row.id: row.member_no for row in rows}


async def page(
    session: AsyncSession, *, status: str | None, after: tuple[datetime, uuid.UUID] | None,
    limit: int, masked_names: Sequence[str] | None = None,
) -> Sequence[Member]:
    """The members the caller may see, oldest first, `limit` of them past the keyset `after`.

    Row-level security decides what is visible (members' policy has three arms: a home in
    the scope, the worker itself, a member released to the scope by a transfer); the query
    only says how to find it fast. Each arm is read along its own index, the tenant arm as one
    ordered range of ix_members_tenant_(status_)created per tenant of the scope, at most
    `limit` keys each, so a page costs O(tenants × limit) index entries however many members
    there are; the keys are merged, and only the page's rows are fetched. Rows outside every
    arm are invisible anyway, so the union is exactly what `SELECT … ORDER BY created_at, id`
    would return (tests/membership/test_plans.py checks both, and pins the plan)."""
    conditions: list[Any] = []
    if status:
        conditions.append(Member.status == status)
    if masked_names is not None:  # any of these masked names exactly (张*, 张**, …)
        conditions.append(Member.name_masked.in_(list(masked_names)))
    if after:
        conditions.append(tuple_(Member.created_at, Member.id) > tuple_(*after))
    keys = (Member.id, Member.created_at)
    # The page size as a literal, not a parameter: asyncpg prepares statements and PostgreSQL
    # plans them generically after five runs; a generic plan that cannot see the LIMIT
    # prefers the policy's BitmapOr over a whole tenant plus a sort to the ordered index
    # range (3 s instead of 15 ms at 1M members). Sizes are clamped, so few distinct texts.
    n = literal_column(str(int(limit)), Integer())
    tenants = (func.unnest(func.flexunion_tenant_scope()).table_valued("tenant_id")
               .render_derived(name="scope_tenant"))
    if masked_names is None:
        per_tenant = (select(*keys).where(Member.tenant_id == tenants.c.tenant_id, *conditions)
                      .order_by(Member.created_at, Member.id).limit(n).lateral("per_tenant"))
        home = select(per_tenant.c.id, per_tenant.c.created_at).select_from(
            tenants.join(per_tenant, true()))
    else:  # one ordered range of ix_members_tenant_name_created per tenant and masked name
        names = (func.unnest(array(list(masked_names), type_=Text)).table_valued("name_masked")
                 .render_derived(name="masked"))
        per_name = (select(*keys).where(Member.tenant_id == tenants.c.tenant_id,
                                        Member.name_masked == names.c.name_masked, *conditions)
                    .order_by(Member.created_at, Member.id).limit(n).lateral("per_name"))
        home = select(per_name.c.id, per_name.c.created_at).select_from(
            tenants.join(names, true()).join(per_name, true()))
    # Released to the scope: a primary-key probe per id (as a join, so the planner cannot fold
    # `id = ANY (…)` into a BitmapOr over a whole tenant index, which it did at 1M members).
    released = (func.unnest(func.flexunion_incoming_members()).table_valued("member_id")
                .render_derived(name="released"))
    incoming = (select(*keys).select_from(released)
                .join(Member, Member.id == released.c.member_id).where(*conditions))
    self_ = select(*keys).where(
        Member.worker_id == func.flexunion_principal_worker(),
        *conditions)
    arms = union(home, incoming, self_).subquery("arms")
    first = (select(arms.c.id).order_by(arms.c.created_at, arms.c.id).limit(n)
             .subquery("first"))
    stmt = (select(Member).join(first, Member.id == first.c.id)
            .order_by(Member.created_at, Member.id))
    return (await session.scalars(stmt)).all()


async def active_in(session: AsyncSession, federation_id: uuid.UUID,
                    tenant_ids: Iterable[uuid.UUID]) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(id, worker_id) of the active members whose home is one of `tenant_ids`, by id."""
    stmt = (select(Member.id, Member.worker_id)
            .where(Member.federation_id == federation_id, Member.status == "active",
                   Member.tenant_id.in_(list(tenant_ids)))
            .order_by(Member.id))
    return [(row.id, row.worker_id) for row in await session.execute(stmt)]


async def in_federation(session: AsyncSession, federation_id: uuid.UUID, *,
                        ids: Sequence[uuid.UUID] | None = None, after: uuid.UUID | None = None,
                        limit: int = 1000) -> Sequence[Member]:
    """The federation's members the caller may see, by id: those of `ids`, or a chunk after
    `after` (the service groups' evaluation)."""
    stmt = select(Member).where(Member.federation_id == federation_id)
    if ids is not None:
        stmt = stmt.where(Member.id.in_(list(ids)))
    if after is not None:
        stmt = stmt.where(Member.id > after)
    return (await session.scalars(stmt.order_by(Member.id).limit(limit))).all()


async def without_demographics(session: AsyncSession, *, after: uuid.UUID | None,
                               limit: int) -> Sequence[Member]:
    stmt = select(Member).where(Member.birth_month.is_(None))
    if after is not None:
        stmt = stmt.where(Member.id > after)
    return (await session.scalars(stmt.order_by(Member.id).limit(limit).with_for_update())).all()


async def next_member_no(session: AsyncSession, federation_id: uuid.UUID) -> int:
    return int((await session.execute(_NEXT_MEMBER_NO, {"f": federation_id})).scalar_one())


async def next_status_idx(session: AsyncSession, federation_id: uuid.UUID) -> int:
    return int((await session.execute(_NEXT_STATUS_IDX, {"f": federation_id})).scalar_one())


async def homes(session: AsyncSession, member_id: uuid.UUID) -> Sequence[MemberHome]:
    return (await session.scalars(select(MemberHome).where(MemberHome.member_id == member_id)
                                  .order_by(MemberHome.started_at, MemberHome.id))).all()


async def close_open_home(session: AsyncSession, member_id: uuid.UUID, at: datetime) -> int:
    """End the member's open home. Its own statement, flushed before the next home opens:
    the one-open-home index is not deferrable."""
    result = await session.execute(
        update(MemberHome).where(MemberHome.member_id == member_id, MemberHome.ended_at.is_(None))
        .values(ended_at=at).execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]  # an UPDATE's result has one


async def status_entries(session: AsyncSession, federation_id: uuid.UUID) -> list[tuple[int, str]]:
    """Every member's (status-list slot, status) in the federation, for anyone."""
    rows = await session.execute(_STATUS_ENTRIES, {"f": federation_id})
    return [(int(i), s) for i, s in rows.all()]


HolderRow = tuple[str, str, str | None, date | None, str, str]


async def card_holder(session: AsyncSession, federation_id: uuid.UUID,
                      member_id: uuid.UUID) -> HolderRow | None:
    """(status, name_masked, member_no, member_since, home_code, home_name_zh), or None."""
    row = (await session.execute(_CARD_HOLDER, {"f": federation_id, "m": member_id})).first()
    return (row[0], row[1], row[2], row[3], row[4], row[5]) if row is not None else None


async def card_holder_read(reader: Any, federation_id: uuid.UUID, member_id: uuid.UUID,
                           caller_tenant: uuid.UUID | None) -> HolderRow | None:
    """The same read through a bare asyncpg pool of the app role, in one statement."""
    async with reachable():
        row = await reader.fetchrow(CARD_HOLDER_ONE_STATEMENT, federation_id, member_id,
                                    str(caller_tenant or ""))
    return (row[0], row[1], row[2], row[3], row[4], row[5]) if row is not None else None


_CARD_MEMBER = text("SELECT worker_id, status FROM flexunion_card_member(:f, :m)")


async def card_member(session: AsyncSession, federation_id: uuid.UUID,
                      member_id: uuid.UUID) -> tuple[uuid.UUID, str] | None:
    """(worker id, status) of the member a verified card names, for staff who check cards
    (migration 0048); None for anyone else or another federation."""
    row = (await session.execute(_CARD_MEMBER, {"f": federation_id, "m": member_id})).first()
    return (row[0], row[1]) if row is not None else None


async def caller_hq(session: AsyncSession) -> tuple[uuid.UUID, str] | None:
    """(federation id, HQ code) of the caller's tenant, under the caller's scope."""
    row = (await session.execute(_CALLER_HQ)).first()
    return (row[0], row[1]) if row is not None else None
