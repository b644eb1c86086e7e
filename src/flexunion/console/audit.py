"""审计: who did what, and when, in my subtree — the hash-chained audit trail the API gives
union admins (GET /v1/admin/audit), newest first, narrowed by action (its beginning, e.g.
`membership.`), object type and object id, a page at a time.

Whether the chain is intact is not something a union admin's session can know: the check
recomputes every entry of the federation's chain and its head, which only the database
owner reads (audit/verify.py); no result of it is stored. So the page says how an operator
runs `flexunion audit verify`, and shows each entry's hash so that the last line of that
check (its head hash) can be compared with the newest entry here."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.audit.schemas import event_read
from flexunion.console.render import html
from flexunion.core.context import Caller
from flexunion.federation import directory

PAGE = 50
Filter = Annotated[str | None, QueryParameter(max_length=80)]


def _clean(value: str | None) -> str | None:
    return (value or "").strip() or None


@get("/", include_in_schema=False)
async def audit_trail(
    request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
    caller: NamedDependency[Caller], action: Filter = None, object_type: Filter = None,
    object_id: Filter = None,
    before: Annotated[int | None, QueryParameter(ge=1)] = None,
) -> Response[str]:
    """The trail, newest first; `before` is the seq the next page starts below."""
    filters = {"action": _clean(action), "object_type": _clean(object_type),
               "object_id": _clean(object_id)}
    rows = list(await audit.page(session, before_seq=before, limit=PAGE + 1,
                                 object_type=filters["object_type"],
                                 object_id=filters["object_id"],
                                 action_prefix=filters["action"]))
    next_before = None
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        next_before = rows[-1].seq
    codes = {e.id: e.code for e in (await directory.my_directory(session, caller)).values()}
    return html(request, "audit/list.html", menu="audit", events=[event_read(r) for r in rows],
                codes=codes, filters=filters, before=before, next_before=next_before,
                query={k: v for k, v in filters.items() if v})


router = Router("/audit", route_handlers=[audit_trail])
