"""答复模板 Answer templates and bulk answers.

A bulk answer is all-or-nothing: every item must be one the caller may change (else 404
listing them) and, when the template moves items, every item must be allowed that step
(else 409 listing each refused item). Each item then gets an 'answer' entry on its
timeline (seen by members and the platform), the transition, and an audit event."""

from __future__ import annotations

import string
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.bargaining.board import repository
from flexunion.bargaining.board.lifecycle import STATUSES, may_move
from flexunion.bargaining.board.models import AgendaItem, AgendaTemplate
from flexunion.bargaining.board.schemas import AnswerCreate, TemplatePut
from flexunion.bargaining.board.service import (
    NOT_TARGETS,
    ItemNotFound,
    record_event,
    transition,
)
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory

PLACEHOLDERS = frozenset({"title", "reason"})


# ---- answer templates and bulk answers -----------------------------------------------------


def check_body(body: str) -> None:
    """Only {title} and {reason}, without conversions or format specs."""
    try:
        parts = list(string.Formatter().parse(body))
    except ValueError as exc:
        raise InvalidInput(f"模板正文格式有误：{exc}。", f"The template body is malformed: {exc}.",
                           code="template_malformed") from exc
    unknown = sorted({name if name else "{}" for _, name, spec, conv in parts
                      if name is not None and (name not in PLACEHOLDERS or spec or conv)})
    if unknown:
        raise InvalidInput("模板只能使用占位符 {title} 和 {reason}。",
                           "A template may only use the placeholders {title} and {reason}.",
                           code="template_placeholder_unknown", extra={"placeholders": unknown})


async def put_template(session: AsyncSession, caller: Caller, code: str, data: TemplatePut, *,
                       now: datetime) -> AgendaTemplate:
    check_body(data.body)
    if data.to_status in NOT_TARGETS:
        raise InvalidInput(f"模板不能把事项变为「{STATUSES[data.to_status][0]}」。",
                           f"A template cannot move items to '{data.to_status}'.",
                           code="invalid_to_status")
    template = await repository.template(session, caller.tenant_id, code, lock=True)
    actor = await rls.principal(session)
    fields = {"title_zh": data.title_zh, "title_en": data.title_en, "body": data.body,
              "to_status": data.to_status}
    if template is None:
        template = AgendaTemplate(id=uuid.uuid4(),
                                  federation_id=await directory.federation_of(session, caller),
                                  tenant_id=caller.tenant_id, code=code, created_by=actor,
                                  created_at=now, updated_at=now, **fields)
        repository.add(session, template)
    else:
        for name, value in fields.items():
            setattr(template, name, value)
        template.updated_at = now
    await repository.flush(session)
    await audit.record(session, "agenda.template_saved", tenant_id=caller.tenant_id,
                       object_type="agenda_template", object_id=template.id,
                       payload={"code": code, **fields})
    return template


async def templates(session: AsyncSession) -> Sequence[AgendaTemplate]:
    return await repository.templates(session)


async def find_template(session: AsyncSession, caller: Caller, code: str) -> AgendaTemplate:
    """My tenant's template of that code, else the federation's (HQ) one."""
    found = await repository.templates(session, code=code)
    mine = [t for t in found if t.tenant_id == caller.tenant_id]
    fed = [t for t in found if t.tenant_id == t.federation_id]
    chosen = mine or fed or list(found)
    if not chosen:
        raise NotFound(f"没有答复模板 {code}。", f"No answer template '{code}'.",
                       code="template_not_found")
    return chosen[0]


async def answer(session: AsyncSession, caller: Caller, data: AnswerCreate, *,
                 now: datetime) -> tuple[AgendaTemplate, list[tuple[AgendaItem, str]]]:
    template = await find_template(session, caller, data.template)
    ids = list(dict.fromkeys(data.item_ids))
    by_id = {i.id: i for i in await repository.by_ids(session, ids, lock=True)}
    missing = [str(i) for i in ids if i not in by_id]
    if missing:
        raise ItemNotFound("有些事项不存在，或不归你答复。",
                           "Some items do not exist or are not yours to answer.",
                           extra={"missing": missing})
    target = template.to_status
    if target:
        refused = [{"item_id": str(i), "status": by_id[i].status} for i in ids
                   if not may_move(by_id[i].status, target)]
        if refused:
            raise Conflict(f"有些事项不能变为「{STATUSES[target][0]}」，全部未答复。",
                           f"Some items cannot move to '{target}'; nothing was answered.",
                           code="answer_refused", extra={"to": target, "items": refused})
    actor = await rls.principal(session)
    reason = data.reason or template.title_zh
    done: list[tuple[AgendaItem, str]] = []
    for item_id in ids:
        item = by_id[item_id]
        body = template.body.format(title=item.title, reason=data.reason or "")
        await record_event(session, item, "answer", actor=actor, now=now, reason=reason,
                           payload={"template": template.code, "text": body})
        if target:
            await transition(session, item, target, actor=actor, reason=reason, now=now,
                             payload={"template": template.code})
        await audit.record(session, "agenda.answered", tenant_id=item.tenant_id,
                           object_type="agenda_item", object_id=item.id,
                           payload={"template": template.code, "to": target,
                                    "reason": data.reason})
        done.append((item, body))
    return template, done
