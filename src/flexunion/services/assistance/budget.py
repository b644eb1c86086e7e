"""经费科目 The budget lines: per region and year, the allocated amount and what the grants
used (each grant locks its line: service.grant). HQ adds a line for a region it names; a
regional admin for itself. Read with each line's region, as row-level security shows them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, InvalidInput
from flexunion.federation import directory
from flexunion.services.assistance import repository
from flexunion.services.assistance.models import BudgetLine
from flexunion.services.assistance.schemas import BudgetLineCreate, BudgetLineRead, budget_read


class BudgetLineExists(Conflict):
    code = "assistance_budget_line_exists"
    title, title_en = "该经费科目已存在", "Budget line already exists"


class RegionRequired(InvalidInput):
    code = "assistance_region_required"
    title, title_en = "经费科目须属于一个区域工会", "A budget line belongs to a regional union"



# ---- budget lines ------------------------------------------------------------------------------


async def add_budget_line(session: AsyncSession, caller: Caller, data: BudgetLineCreate, *,
                          now: datetime) -> BudgetLineRead:
    """经费科目 for a region and year: HQ names the region, a regional admin files its own."""
    federation_id = await directory.federation_of(session, caller)
    tree = await directory.directory(session, federation_id)
    code = data.region or caller.tenant_code
    entry = tree.get(code)
    if entry is None or entry.kind != "regional":
        raise RegionRequired(f"{code} 不是区域工会。", f"'{code}' is not a regional union.",
                             extra={"field": "region"})
    line = BudgetLine(federation_id=federation_id, tenant_id=entry.id, year=data.year,
                      code=data.code, name_zh=data.name_zh, allocated_fen=data.allocated_fen,
                      used_fen=0, created_by=caller.principal, created_at=now)
    try:
        async with session.begin_nested():
            repository.add(session, line)
            await repository.flush(session)
    except IntegrityError:
        raise BudgetLineExists(f"{entry.name_zh} {data.year} 年已有经费科目 {data.code}。",
                               f"Budget line '{data.code}' exists for {data.year}.") from None
    await audit.record(session, "assistance.budget_line_added", tenant_id=entry.id,
                       object_type="assistance_budget_line", object_id=line.id,
                       payload={"year": data.year, "code": data.code,
                                "allocated_fen": data.allocated_fen})
    return budget_read(line, entry.code, entry.name_zh)


async def budget_lines(session: AsyncSession, year: int | None = None) -> list[BudgetLineRead]:
    """The budget lines of the caller's subtree (row-level security), each with its region."""
    lines = list(await repository.budget_lines(session, year))
    if not lines:
        return []
    tree = await directory.directory(session, lines[0].federation_id)
    return [budget_read(line, tree.by_id[line.tenant_id].code,
                        tree.by_id[line.tenant_id].name_zh) for line in lines]
