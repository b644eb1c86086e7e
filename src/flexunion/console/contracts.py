"""协议条款: the agreements I may see (my subtree's and the federation's), filtered by
platform and status; an agreement's page with its versions, the annex of the version chosen
(each clause's text, parameters, condition, the agenda item it came from, and once in force
its document's sha256), and what changed from the version before it (or another one
chosen). The writes are contract_edits.py, HQ's templates clause_templates.py. The same
services and row-level security as /v1/admin/contracts; an agreement outside my sight is
the 404 page."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.console.render import html
from flexunion.contracts.agreements import service
from flexunion.contracts.agreements.schemas import (
    KINDS,
    STATUSES,
    agreement_read,
    clause_read,
    version_read,
)
from flexunion.core.context import Caller

Code = Annotated[str | None, QueryParameter(max_length=64)]
Status = Annotated[str | None, QueryParameter(pattern=r"^(|draft|in_force|ended)$")]
Version = Annotated[int | None, QueryParameter(ge=1, le=100_000)]
RENEWALS = {"none": ("不续签", "No renewal"), "manual": ("协商续签", "Renewed by agreement"),
            "automatic": ("自动续签", "Renews automatically")}
ORIGINS = {"manual": ("手工添加", "Added by hand"), "renewal": ("续签沿用", "Carried over"),
           "agenda_item": ("协商事项", "Agenda item")}
FIELDS = {"text": ("条文", "Text"), "condition": ("核验条件", "Condition"),
          "evidence_schema": ("证据结构", "Evidence schema"), "title_zh": ("标题", "Title"),
          "template_code": ("模板", "Template"), "starts_on": ("起始日期", "Start date"),
          "ends_on": ("终止日期", "End date"), "renewal": ("续签方式", "Renewal"),
          "renewal_notice_days": ("续签提前通知", "Renewal notice"),
          "parties": ("各方", "Parties")}


@get("/", include_in_schema=False)
async def agreements_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                          caller: NamedDependency[Caller], partner: Code = None,
                          status: Status = None) -> Response[str]:
    tenants, partners = await service.codes(session, caller)
    chosen = partner if partner in partners.values() else None
    rows = await service.listed(session, caller, partner=chosen, kind=None,
                                status=status or None)
    return html(request, "contracts/list.html", menu="contracts",
                agreements=[agreement_read(a, tenants, partners) for a in rows],
                partners=sorted(partners.values()), partner=chosen, chosen_status=status or "",
                statuses={k: STATUSES[k] for k in ("draft", "in_force", "ended")})


@get("/{agreement_id:uuid}", include_in_schema=False)
async def agreement_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                         caller: NamedDependency[Caller],
                         agreement_id: Annotated[uuid.UUID, PathParameter()],
                         version: Version = None, against: Version = None) -> Response[str]:
    agreement = await service.access(session, agreement_id)
    tenants, partners = await service.codes(session, caller)
    versions = list(await service.versions(session, agreement))
    number = version or agreement.in_force_version or agreement.latest_version
    shown = next((v for v in versions if v.number == number), versions[-1])
    clauses = [clause_read(c) for c in await service.version_clauses(session, shown)]
    before = against if against in {v.number for v in versions} - {shown.number} else (
        shown.number - 1 if shown.number > 1 else None)
    diff = (await service.diff(session, agreement.id, min(before, shown.number),
                               max(before, shown.number)) if before else None)
    latest = versions[-1]
    return html(request, "contracts/detail.html", menu="contracts",
                agreement=agreement_read(agreement, tenants, partners), kinds=KINDS,
                versions=[version_read(v) for v in versions], shown=version_read(shown),
                clauses=clauses, diff=diff, renewals=RENEWALS, origins=ORIGINS, fields=FIELDS,
                draft=shown.status == "draft", done=request.query_params.get("done"),
                can_renew=latest.status != "draft" and agreement.status != "ended")


router = Router("/contracts", route_handlers=[agreements_page, agreement_page])
