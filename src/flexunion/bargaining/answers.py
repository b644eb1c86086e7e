"""答复模板与批量答复: reply templates, and answering many items at once.

A bulk answer is all-or-nothing: every item must be one the caller may change (else 404
listing them) and, when the template moves items, every item must be allowed to make that
step (else 409 listing each refused item with its status). Then each item gets an 'answer'
entry on its timeline (seen by members and the platform), the transition, and an audit."""

from __future__ import annotations

import string
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining import board
from flexunion.bargaining.items import federation_of
from flexunion.bargaining.lifecycle import BALLOT_ONLY, may_move
from flexunion.bargaining.models import AgendaItem, AgendaTemplate
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, InvalidInput, NotFound

PLACEHOLDERS = frozenset({"title", "reason"})
NOT_TARGETS = BALLOT_ONLY | {"merged"}


def check_body(body: str) -> None:
    """Only {title} and {reason}, without conversions or format specs."""
    try:
        parts = list(string.Formatter().parse(body))
    except ValueError as exc:
        raise InvalidInput(f"The template body is malformed: {exc}.",
                           code="template_malformed") from exc
    unknown = sorted({name if name else "{}" for _, name, spec, conv in parts
                      if name is not None and (name not in PLACEHOLDERS or spec or conv)})
    if unknown:
        raise InvalidInput("A template may only use the placeholders {title} and {reason}.",
                           code="template_placeholder_unknown", extra={"placeholders": unknown})


async def put_template(session: AsyncSession, caller: Caller, code: str, data: Any, *,
                       now: datetime) -> AgendaTemplate:
    check_body(data.body)
    if data.to_status in NOT_TARGETS:
        raise InvalidInput(f"A template cannot move items to '{data.to_status}'.",
                           code="invalid_to_status")
    template = await session.scalar(select(AgendaTemplate).where(
        AgendaTemplate.tenant_id == caller.tenant_id, AgendaTemplate.code == code)
        .with_for_update())
    actor = await board.principal(session)
    fields = {"title_zh": data.title_zh, "title_en": data.title_en, "body": data.body,
              "to_status": data.to_status}
    if template is None:
        federation_id = await federation_of(session, caller)
        template = AgendaTemplate(id=uuid.uuid4(), federation_id=federation_id,
                                  tenant_id=caller.tenant_id, code=code, created_by=actor,
                                  created_at=now, updated_at=now, **fields)
        session.add(template)
    else:
        for name, value in fields.items():
            setattr(template, name, value)
        template.updated_at = now
    await session.flush()
    await audit.record(session, "agenda.template_saved", tenant_id=caller.tenant_id,
                       object_type="agenda_template", object_id=template.id,
                       payload={"code": code, **fields})
    return template


async def templates(session: AsyncSession) -> Sequence[AgendaTemplate]:
    return (await session.scalars(select(AgendaTemplate).order_by(
        AgendaTemplate.code, AgendaTemplate.tenant_id))).all()


async def find_template(session: AsyncSession, caller: Caller, code: str) -> AgendaTemplate:
    """My tenant's template of that code, else the federation's (HQ) one."""
    found = (await session.scalars(select(AgendaTemplate).where(
        AgendaTemplate.code == code))).all()
    mine = [t for t in found if t.tenant_id == caller.tenant_id]
    fed = [t for t in found if t.tenant_id == t.federation_id]
    chosen = (mine or fed or list(found))
    if not chosen:
        raise NotFound(f"No answer template '{code}'.", code="template_not_found")
    return chosen[0]


async def answer(session: AsyncSession, caller: Caller, data: Any, *,
                 now: datetime) -> tuple[AgendaTemplate, list[tuple[AgendaItem, str]]]:
    template = await find_template(session, caller, data.template)
    ids = list(dict.fromkeys(data.item_ids))
    rows = (await session.scalars(select(AgendaItem).where(AgendaItem.id.in_(ids))
                                  .order_by(AgendaItem.id).with_for_update())).all()
    by_id = {i.id: i for i in rows}
    missing = [str(i) for i in ids if i not in by_id]
    if missing:
        raise board.ItemNotFound("Some items do not exist or are not yours to answer.",
                                 extra={"missing": missing})
    target = template.to_status
    if target:
        refused = [{"item_id": str(i), "status": by_id[i].status} for i in ids
                   if not may_move(by_id[i].status, target)]
        if refused:
            raise Conflict(f"Some items cannot move to '{target}'; nothing was answered.",
                           code="answer_refused", extra={"to": target, "items": refused})
    actor = await board.principal(session)
    reason = data.reason or template.title_zh
    done: list[tuple[AgendaItem, str]] = []
    for item_id in ids:
        item = by_id[item_id]
        body = template.body.format(title=item.title, reason=data.reason or "")
        await board.record_event(session, item, "answer", actor=actor, now=now, reason=reason,
                                 payload={"template": template.code, "text": body})
        if target:
            await board.transition(session, item, target, actor=actor, reason=reason, now=now,
                                   payload={"template": template.code})
        await audit.record(session, "agenda.answered", tenant_id=item.tenant_id,
                           object_type="agenda_item", object_id=item.id,
                           payload={"template": template.code, "to": target,
                                    "reason": data.reason})
        done.append((item, body))
    return template, done
