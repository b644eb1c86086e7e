"""条款模板 (under 协议条款): HQ's clause templates — the five union clauses and one outcome
template per bargaining topic — listed and each shown with its typed parameters, evidence
schema and condition; HQ admins save a new revision (the text, titles, parameters, evidence
schema and condition; clauses already made keep the revision they were made from). The same
service as /v1/admin/contracts/templates: the condition is type-checked when saved and a
refusal is shown next to its field with the engine's line and column."""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.console.forms import Form, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.contracts.templates import service
from flexunion.contracts.templates.models import ClauseTemplate
from flexunion.contracts.templates.schemas import KINDS, TemplateCreate, template_read
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.core.errors import DomainError

TemplateCode = Annotated[str, PathParameter(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
_PATHS = ("text", "parameters", "evidence_schema", "condition", "title_zh", "title_en")


@get("/templates", include_in_schema=False)
async def templates_page(request: Request[Any, Any, Any],
                         session: NamedDependency[AsyncSession],
                         caller: NamedDependency[Caller]) -> Response[str]:
    rows = await service.listed(session, caller)
    return html(request, "contracts/templates.html", menu="contracts", kinds=KINDS,
                templates=[template_read(r) for r in rows])


def _values(row: ClauseTemplate) -> dict[str, str]:
    return {"title_zh": row.title_zh, "title_en": row.title_en, "text": row.text,
            "condition": row.condition or "",
            "parameters": json.dumps(row.parameters, ensure_ascii=False, indent=1),
            "evidence_schema": (json.dumps(row.evidence_schema, ensure_ascii=False, indent=1)
                                if row.evidence_schema is not None else "")}


async def _page(request: Request[Any, Any, Any], caller: Caller, row: ClauseTemplate,
                form: Form | None = None, status: int = 200) -> Response[str]:
    hq = caller.role == Role.HQ_ADMIN
    if form is None and hq:
        form = Form(speaker(request), _values(row))
    return html(request, "contracts/template.html", status=status, menu="contracts",
                tpl=template_read(row), kinds=KINDS, hq=hq, form=form,
                done=request.query_params.get("done"))


@get("/templates/{code:str}", include_in_schema=False)
async def template_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller], code: TemplateCode) -> Response[str]:
    return await _page(request, caller, await service.access(session, caller, code))


def _json(form: Form, name: str, *, required: bool) -> Any:
    raw = form.values.get(name, "").strip()
    if not raw:
        if required:
            return []
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        form.errors[name] = form.t(f"不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）：",
                                   f"Not valid JSON (line {exc.lineno}, column {exc.colno}): "
                                   ) + exc.msg


@post("/templates/{code:str}", include_in_schema=False)
async def save_template(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                        code: TemplateCode) -> Response[str]:
    """A new revision of the template (HQ; the service refuses anyone else)."""
    row = await service.access(session, caller, code)
    form = await read_form(request, speaker(request))
    body = {"code": row.code, "kind": row.kind, "topic": row.topic,
            "title_zh": form.text("title_zh", max_length=200),
            "title_en": form.text("title_en", max_length=200),
            "text": form.text("text", max_length=8000),
            "parameters": _json(form, "parameters", required=True),
            "evidence_schema": _json(form, "evidence_schema", required=False),
            "condition": form.text("condition", required=False, max_length=2000)}
    if form.ok:
        try:
            data = msgspec.convert(body, TemplateCreate)
        except msgspec.ValidationError as exc:
            where = next((p for p in _PATHS if f"$.{p}" in str(exc)), None)
            message = form.t("输入有误：", "Invalid input: ") + str(exc)
            if where:
                form.errors[where] = message
            else:
                form.problem = message
        else:
            try:
                await service.save(session, caller, data, now=clock.now())
            except DomainError as exc:
                if exc.status == 404:
                    raise
                _refused(form, exc)
    if not form.ok:
        return await _page(request, caller, row, form, form.status)
    return see_other(f"/console/contracts/templates/{code}?done=saved",
                     htmx=request.headers.get("hx-request") == "true")


def _refused(form: Form, exc: DomainError) -> None:
    form.status = exc.status
    path = str(exc.extra.get("path") or "").split(".")[0].split("[")[0]
    line, column = exc.extra.get("line"), exc.extra.get("column")
    if exc.code.startswith("condition_"):
        path = "condition"
    if line is not None:
        message = form.t(str(exc.detail), f"line {line}, column {column}: {exc.detail_en}")
    else:
        message = form.t.problem(exc)
    if path in _PATHS:
        form.errors[path] = message
    else:
        form.problem = message


router = Router("/contracts", route_handlers=[templates_page, template_page, save_template])
