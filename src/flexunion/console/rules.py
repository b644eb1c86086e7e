"""平台规则 (劳动规则与算法公示): pick a platform partner; its register — every entry by
category with its versions (effective dates, the platform's reasons, the source, a change
recorded without due notice flagged) — and the changes still to come, each with the notice it
was given and its consultation item on the agenda board. The same service and row-level
security as /v1/admin/platform-rules (union staff, federation-wide)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.config import Settings
from flexunion.console.render import html
from flexunion.contracts.rules import service
from flexunion.core.clock import Clock
from flexunion.core.context import Caller

PartnerChoice = Annotated[str | None, QueryParameter(max_length=63)]


@get("/", include_in_schema=False)
async def rules_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                     settings: NamedDependency[Settings],
                     partner: PartnerChoice = None) -> Response[str]:
    partners = await service.federation_partners(session, caller)
    chosen = next((p for p in partners if p.code == partner), partners[0] if partners else None)
    today = service.local_day(clock.now())
    register = (await service.register(session, chosen, today=today,
                                       notice_days=settings.platform_rules.notice_days)
                if chosen is not None else None)
    return html(request, "rules/list.html", menu="rules", partners=partners, chosen=chosen,
                register=register, today=today,
                upcoming=service.upcoming(register) if register is not None else [])


router = Router("/rules", route_handlers=[rules_page])
