"""The board's core, shared by every bargaining module: finding an item the caller may
see, writing its timeline, and moving it along the lifecycle (audited, 409 if not allowed).

Row-level security decides what an item lookup returns; "not there" and "not yours" give
the same 404."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.lifecycle import ALLOWED, BALLOT_ONLY, may_move
from flexunion.bargaining.models import AgendaItem, AgendaItemEvent
from flexunion.core.errors import Conflict, InvalidInput, NotFound

_OPEN_BALLOT = text("SELECT EXISTS (SELECT 1 FROM ballots WHERE item_id = :item AND status = 'open')")


class ItemNotFound(NotFound):
    code, title, title_en = "agenda_item_not_found", "未找到该协商事项", "Agenda item not found"


class InvalidTransition(Conflict):
    code, title, title_en = "invalid_transition", "事项状态不允许此流转", "Transition not allowed"


async def access_item(session: AsyncSession, item_id: uuid.UUID, *,
                      lock: bool = False) -> AgendaItem:
    """The item if the caller's row-level security shows it, else 404."""
    query = select(AgendaItem).where(AgendaItem.id == item_id)
    if lock:
        query = query.with_for_update()
    item = (await session.execute(query)).scalar_one_or_none()
    if item is None:
        raise ItemNotFound("No such agenda item.")
    return item


async def principal(session: AsyncSession) -> str:
    """Who is acting, as PostgreSQL sees it (the same string the audit trail records)."""
    return (await session.execute(text("SELECT flexunion_principal()"))).scalar_one()


async def record_event(
    session: AsyncSession, item: AgendaItem, kind: str, *, actor: str, now: datetime,
    reason: str | None = None, from_status: str | None = None, to_status: str | None = None,
    payload: dict[str, Any] | None = None, audience: str = "all",
) -> AgendaItemEvent:
    """One timeline entry. `actor` must be the transaction's principal (RLS checks it)."""
    event = AgendaItemEvent(
        id=uuid.uuid4(), federation_id=item.federation_id, tenant_id=item.tenant_id,
        item_id=item.id, partner_id=item.partner_id, kind=kind, from_status=from_status,
        to_status=to_status, actor=actor, reason=reason, payload=payload or {},
        audience=audience, created_at=now,
    )
    session.add(event)
    await session.flush()
    return event


async def partners(session: AsyncSession, federation_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """The federation's platform partners, id → code: reference data any caller of the
    federation may read (through `flexunion_partners`, since a worker's scope has no rows)."""
    rows = await session.execute(text("SELECT id, code FROM flexunion_partners(:f)"),
                                 {"f": federation_id})
    return {r.id: r.code for r in rows}


async def partner_by_code(session: AsyncSession, federation_id: uuid.UUID, code: str) -> uuid.UUID:
    found = {c: i for i, c in (await partners(session, federation_id)).items()}
    if code not in found:
        raise InvalidInput(f"'{code}' is not a platform partner of this federation.",
                           code="unknown_partner", extra={"partner": code})
    return found[code]


def check_transition(item: AgendaItem, target: str, *, by_ballot: bool = False) -> None:
    if target in BALLOT_ONLY and not by_ballot:
        raise InvalidTransition(
            f"Only a passed ratification ballot makes an item '{target}'.",
            code="ballot_required", extra={"item_id": str(item.id), "item_status": item.status,
                                           "to": target})
    if not may_move(item.status, target):
        raise InvalidTransition(
            f"An item that is '{item.status}' cannot become '{target}'.",
            extra={"item_id": str(item.id), "item_status": item.status, "to": target,
                   "allowed": sorted(ALLOWED.get(item.status, ()))})


async def transition(
    session: AsyncSession, item: AgendaItem, target: str, *, actor: str, reason: str,
    now: datetime, by_ballot: bool = False, payload: dict[str, Any] | None = None,
) -> AgendaItemEvent:
    """Move the (locked) item to `target`: checked, written, on the timeline and audited.
    The database trigger refuses the same steps, so a bug here cannot skip a stage."""
    check_transition(item, target, by_ballot=by_ballot)
    if not by_ballot and await session.scalar(_OPEN_BALLOT, {"item": item.id}):
        raise InvalidTransition("The members are voting on this item; close the ballot first.",
                                code="ballot_open", extra={"item_id": str(item.id),
                                                           "item_status": item.status, "to": target})
    before = item.status
    item.status = target
    item.updated_at = now
    await session.flush()
    event = await record_event(session, item, "transition", actor=actor, now=now, reason=reason,
                               from_status=before, to_status=target, payload=payload)
    await audit.record(session, "agenda.transition", tenant_id=item.tenant_id,
                       object_type="agenda_item", object_id=item.id,
                       payload={"from": before, "to": target, "reason": reason,
                                **(payload or {})})
    return event
