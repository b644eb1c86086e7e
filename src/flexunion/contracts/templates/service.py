"""条款模板 The rules: HQ saves a template (a new code is created, a known code gets a new
revision; clauses already made keep the revision they were made from), staff read them, and
the agreements sub-package instantiates them. Saving type-checks the condition against the
evidence schema and the parameters (422 with the line and column where it fails)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.contracts.templates import repository
from flexunion.contracts.templates.models import ClauseTemplate
from flexunion.contracts.templates.schemas import TemplateCreate, TemplateError, check_template
from flexunion.core.context import Caller
from flexunion.core.errors import Forbidden, InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory


class TemplateNotFound(NotFound):
    code, title, title_en = ("clause_template_not_found", "未找到该条款模板",
                             "Clause template not found")


def refused(exc: TemplateError) -> InvalidInput:
    """A template or clause error as a 422 with its stable code and where it fails."""
    where = {k: v for k, v in (("path", exc.path), ("line", exc.line), ("column", exc.column))
             if v is not None}
    at = f"（第 {exc.line} 行第 {exc.column} 列）" if exc.line is not None else ""
    return InvalidInput(f"条款内容未通过校验{at}：{exc.message}", exc.message, code=exc.code,
                        extra=where)


def check(data: TemplateCreate) -> None:
    try:
        check_template(data)
    except TemplateError as exc:
        raise refused(exc) from None


async def save(session: AsyncSession, caller: Caller, data: TemplateCreate, *,
               now: datetime) -> tuple[ClauseTemplate, bool]:
    """Create the template, or a new revision of the one with the same code. HQ only."""
    federation_id = await directory.federation_of(session, caller)
    if caller.tenant_id != federation_id:
        raise Forbidden("条款模板由总部维护。", "Clause templates are kept by HQ.",
                        code="templates_hq_only")
    check(data)
    row, created = await upsert(session, federation_id, data, actor=await rls.principal(session),
                                now=now)
    await audit.record(session, "contracts.template_saved", tenant_id=federation_id,
                       object_type="clause_template", object_id=row.id,
                       payload={"code": row.code, "revision": row.revision})
    return row, created


def _fields(data: TemplateCreate) -> dict[str, Any]:
    return {"kind": data.kind, "topic": data.topic, "title_zh": data.title_zh,
            "title_en": data.title_en, "text": data.text,
            "parameters": msgspec.to_builtins(data.parameters),
            "evidence_schema": data.evidence_schema, "condition": data.condition}


async def upsert(session: AsyncSession, federation_id: uuid.UUID, data: TemplateCreate, *,
                 actor: str, now: datetime) -> tuple[ClauseTemplate, bool]:
    """Write the (checked) template; an unchanged one is left as it is. Also the file's path."""
    wanted = _fields(data)
    row = await repository.by_code(session, federation_id, data.code, lock=True)
    if row is None:
        if data.topic is not None and await repository.by_topic(session, federation_id,
                                                                data.topic):
            raise InvalidInput(f"议题 {data.topic} 已有成果模板。",
                               f"Topic {data.topic} already has an outcome template.",
                               code="template_invalid", extra={"path": "topic"})
        row = ClauseTemplate(id=uuid.uuid4(), federation_id=federation_id,
                             tenant_id=federation_id, code=data.code, revision=1,
                             created_by=actor, created_at=now, updated_at=now, **wanted)
        repository.add(session, row)
        await repository.flush(session)
        return row, True
    if row.kind != data.kind or row.topic != data.topic:
        raise InvalidInput("模板的类别和议题不能更改。", "A template's kind and topic stay.",
                           code="template_invalid", extra={"path": "kind"})
    if any(getattr(row, k) != v for k, v in wanted.items()):
        for k, v in wanted.items():
            setattr(row, k, v)
        row.revision += 1
        row.updated_at = now
        await repository.flush(session)
    return row, False


async def listed(session: AsyncSession, caller: Caller,
                 kind: str | None = None) -> Sequence[ClauseTemplate]:
    return await repository.listed(session, await directory.federation_of(session, caller), kind)


async def access(session: AsyncSession, caller: Caller, code: str) -> ClauseTemplate:
    row = await repository.by_code(session, await directory.federation_of(session, caller), code)
    if row is None:
        raise TemplateNotFound(f"没有代码为 {code} 的条款模板。", f"No clause template '{code}'.")
    return row


async def for_topic(session: AsyncSession, federation_id: uuid.UUID,
                    topic: str) -> ClauseTemplate | None:
    """The federation's outcome template for an agenda topic (or for `other`), if any."""
    return (await repository.by_topic(session, federation_id, topic)
            or await repository.by_topic(session, federation_id, "other"))


async def by_id(session: AsyncSession, template_id: uuid.UUID) -> ClauseTemplate | None:
    return await repository.get(session, template_id)
