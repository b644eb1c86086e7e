"""协商轮次 Negotiation rounds and promised data (staff)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining import rounds
from flexunion.bargaining.lifecycle import STATUSES
from flexunion.bargaining.models import DataPromise
from flexunion.bargaining.round_schemas import (
    PartnerCode,
    PromiseRead,
    RoundCreate,
    RoundItemRead,
    RoundRead,
    RoundSummary,
    party_read,
)
from flexunion.config import AUDIENCE_ADMIN, Settings
from flexunion.core.clock import Clock
from flexunion.core.context import ADMIN_ROLES
from flexunion.core.errors import InvalidInput
from flexunion.core.pagination import Page, clamp, decode_cursor, decode_time_cursor, encode_cursor

STAFF = {"audiences": (AUDIENCE_ADMIN,), "roles": ADMIN_ROLES}
TAGS = ["negotiation 协商轮次"]
SECURITY = [{"bearer": []}]
RoundId = Annotated[uuid.UUID, PathParameter()]
Cursor = Annotated[str | None, QueryParameter(max_length=512)]
Limit = Annotated[int | None, QueryParameter()]


def promise_read(p: DataPromise, codes: dict[uuid.UUID, str], today: date) -> PromiseRead:
    return PromiseRead(
        id=p.id, round_id=p.round_id, item_id=p.item_id, partner=codes.get(p.partner_id, ""),
        description=p.description, due_on=p.due_on, delivered=p.delivered_at is not None,
        overdue=p.delivered_at is None and p.due_on < today, created_at=p.created_at,
        delivered_at=p.delivered_at, response_id=p.response_id)


def offset_cursor(cursor: str | None) -> int:
    values = decode_cursor(cursor, 1)
    if values is None:
        return 0
    if not isinstance(values[0], int) or values[0] < 0:
        raise InvalidInput("The cursor is not one this API issued.", code="cursor_invalid")
    return values[0]


async def round_read(session: AsyncSession, round_id: uuid.UUID, clock: Clock) -> RoundRead:
    detail = await rounds.access_round(session, round_id)
    held = detail.round
    codes = await rounds.partner_codes(session, {held.partner_id})
    tenants = await rounds.tenant_codes(session)
    today = rounds.beijing_today(clock.now())
    return RoundRead(
        id=held.id, partner=codes.get(held.partner_id, ""), scope=tenants.get(held.tenant_id, ""),
        held_on=held.held_on, location=held.location,
        parties=[party_read(p) for p in held.parties], minutes=held.minutes,
        next_steps=held.next_steps,
        items=[RoundItemRead(
            item_id=ri.item_id, title=item.title if item else None,
            union_position=ri.union_position, platform_position=ri.platform_position,
            outcome=ri.outcome, status=item.status if item else None,
            status_zh=STATUSES[item.status][0] if item else None,
            status_en=STATUSES[item.status][1] if item else None)
            for ri, item in detail.items],
        promises=[promise_read(p, codes, today) for p in detail.promises],
        created_by=held.created_by, created_at=held.created_at)


@post("/v1/admin/bargaining/rounds", opt=STAFF, tags=TAGS, security=SECURITY,
      summary="记录一轮协商 Record a negotiation round: parties, minutes, positions per item and "
              "promised data; items on the agenda move to in negotiation",
      description="422 parties_incomplete / duplicate_item / promise_item_not_in_round / "
                  "unknown_partner / partner_mismatch / mixed_scope; 404 agenda_item_not_found; "
                  "409 item_not_negotiable; 403 outside_subtree.")
async def record_round(
    session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
    data: JSONBody[RoundCreate],
) -> RoundRead:
    held = await rounds.record_round(session, data, now=clock.now())
    return await round_read(session, held.id, clock)


@get("/v1/admin/bargaining/rounds", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="协商轮次列表 Rounds I can see, newest first (filter by partner or item)")
async def list_rounds(
    session: NamedDependency[AsyncSession], settings: NamedDependency[Settings],
    partner: Annotated[PartnerCode | None, QueryParameter()] = None,
    item_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
    cursor: Cursor = None, limit: Limit = None,
) -> Page[RoundSummary]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    rows = await rounds.list_rounds(session, partner=partner, item_id=item_id,
                                    after=decode_time_cursor(cursor), limit=size + 1)
    if not rows:
        return Page(items=[])
    codes = await rounds.partner_codes(session, {r.partner_id for r, _ in rows})
    tenants = await rounds.tenant_codes(session)
    items = [RoundSummary(id=r.id, partner=codes.get(r.partner_id, ""),
                          scope=tenants.get(r.tenant_id, ""), held_on=r.held_on,
                          location=r.location, item_ids=ids, created_at=r.created_at)
             for r, ids in rows[:size]]
    last = rows[size - 1][0] if len(rows) > size else None
    return Page(items=items, next_cursor=encode_cursor(last.created_at.isoformat(), last.id)
                if last else None)


@get("/v1/admin/bargaining/rounds/{round_id:uuid}", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="协商轮次详情 One round: parties, minutes, positions, promises")
async def get_round(session: NamedDependency[AsyncSession], clock: NamedDependency[Clock],
                    round_id: RoundId) -> RoundRead:
    return await round_read(session, round_id, clock)


@get("/v1/admin/bargaining/promises", opt=STAFF, tags=TAGS, security=SECURITY,
     summary="数据承诺 Data the platforms promised, soonest due first; overdue=true: past due "
             "(Beijing date) and not delivered")
async def list_promises(
    session: NamedDependency[AsyncSession], settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    overdue: Annotated[bool | None, QueryParameter()] = None,
    partner: Annotated[PartnerCode | None, QueryParameter()] = None,
    item_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
    cursor: Cursor = None, limit: Limit = None,
) -> Page[PromiseRead]:
    size = clamp(limit, settings.api.page_size_default, settings.api.page_size_max)
    offset = offset_cursor(cursor)
    today = rounds.beijing_today(clock.now())
    partner_id = (await rounds.partner_by_code(session, partner)).id if partner else None
    rows = await rounds.list_promises(session, today=today, overdue=overdue,
                                      partner_id=partner_id, item_id=item_id,
                                      offset=offset, limit=size + 1)
    codes = await rounds.partner_codes(session, {p.partner_id for p in rows})
    return Page(items=[promise_read(p, codes, today) for p in rows[:size]],
                next_cursor=encode_cursor(offset + size) if len(rows) > size else None)


ROUTES = [record_round, list_rounds, get_round, list_promises]
