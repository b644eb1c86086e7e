"""条款模板 over HTTP: staff read the federation's templates; HQ admins save them."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.contracts.templates import service
from flexunion.contracts.templates.schemas import TemplateCreate, TemplateRead, template_read
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.http import BEARER, STAFF, UNION_ADMINS, problems

TemplateCode = Annotated[str, PathParameter(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
KindQ = Annotated[Literal["union", "outcome"] | None,
                  QueryParameter(description="union 工会条款 / outcome 协商成果")]
INVALID = ("template_invalid, evidence_schema_invalid, condition_syntax, condition_ill_typed, "
           "condition_not_boolean: the template refused, with `path` and for a condition "
           "`line` and `column`")


@get("/templates", summary="条款模板 The federation's clause templates")
async def list_templates(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                         kind: KindQ = None) -> list[TemplateRead]:
    return [template_read(t) for t in await service.listed(session, caller, kind)]


@get("/templates/{code:str}", summary="条款模板 One clause template",
     responses=problems({404: "clause_template_not_found"}))
async def get_template(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                       code: TemplateCode) -> TemplateRead:
    return template_read(await service.access(session, caller, code))


@post("/templates", status_code=200,
      summary="保存条款模板 Save a clause template (HQ): a new code is created, a known one gets "
              "a new revision; the condition is type-checked against the evidence schema",
      responses=problems({403: "templates_hq_only", 422: INVALID}))
async def save_template(session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock],
                        data: JSONBody[TemplateCreate]) -> TemplateRead:
    row, _ = await service.save(session, caller, data, now=clock.now())
    return template_read(row)


router = Router("/v1/admin/contracts", tags=["contracts 协议条款"], security=BEARER,
                route_handlers=[
                    Router("/", opt=STAFF, route_handlers=[list_templates, get_template]),
                    Router("/", opt=UNION_ADMINS, route_handlers=[save_template]),
                ])
