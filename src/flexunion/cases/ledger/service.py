"""需求清单: the ledger every sub-package writes into and reads from — a case's number, its
events (`record`, which re-derives the SLA clocks: cases/clocks/), telling the worker, and
what each caller may read of a case."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.board import service as board
from flexunion.bargaining.board.lifecycle import STATUSES as ITEM_STATUSES
from flexunion.bargaining.board.models import AgendaItem
from flexunion.bargaining.board.topics import TOPICS
from flexunion.bargaining.reports import service as reports
from flexunion.cases.clocks import service as clocks
from flexunion.cases.ledger import repository
from flexunion.cases.ledger.codes import STATUSES
from flexunion.cases.ledger.models import Case, CaseEvent
from flexunion.cases.ledger.schemas import (
    AgendaRef,
    Audience,
    CaseRead,
    Label,
    Names,
    QueueRow,
    ReportRef,
    case_read,
    queue_row,
)
from flexunion.core.context import Caller
from flexunion.core.errors import InvalidInput, NotFound
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.inbox import service as inbox
from flexunion.membership import service as membership

After = tuple[datetime, uuid.UUID] | None


class CaseNotFound(NotFound):
    code, title, title_en = "case_not_found", "未找到该诉求", "Case not found"


def no_such_case() -> CaseNotFound:
    return CaseNotFound("没有这条诉求，或不在你的管辖范围内。", "No such case.")


# ---- small pieces ---------------------------------------------------------------------------


async def names(session: AsyncSession, federation_id: uuid.UUID) -> Names:
    tenants = await directory.directory(session, federation_id)
    return Names(tenants={e.id: e.code for e in tenants.values()},
                 partners=await directory.partner_codes(session, federation_id))


def new_case_no(now: datetime) -> str:
    return f"{now:%Y%m%d}-{secrets.token_hex(4).upper()}"


async def record(session: AsyncSession, case: Case, kind: str, *, now: datetime,
                 reason: str | None = None, details: dict[str, Any] | None = None,
                 actor: str | None = None) -> CaseEvent:
    """One handling step on the case's event log; `actor` is the transaction's principal."""
    event = CaseEvent(id=uuid.uuid4(), federation_id=case.federation_id,
                      tenant_id=case.tenant_id, case_id=case.id, kind=kind, at=now,
                      actor=actor or await rls.principal(session), reason=reason,
                      details=details or {})
    repository.add(session, event)
    await repository.flush(session)
    await clocks.derive(session, case, now)  # the SLA clocks, re-derived from the events
    return event


async def tell_worker(session: AsyncSession, case: Case, now: datetime) -> None:
    """The worker's inbox gets the case's new status, in this transaction (and an SMS after
    the commit when they opted in). Anonymous suggestions have no worker: nothing."""
    if case.worker_id is None:
        return
    zh, en = STATUSES[case.status]
    await inbox.case_status_changed(
        session, federation_id=case.federation_id, tenant_id=case.tenant_id,
        worker_id=case.worker_id, case_id=case.id, case_no=case.case_no, status=case.status,
        status_zh=zh, status_en=en, now=now)


def unknown(what_zh: str, what_en: str, code: str, value: str) -> InvalidInput:
    return InvalidInput(f"{value} 不是本联合会的{what_zh}。",
                        f"'{value}' is not a {what_en} of this federation.", code=code,
                        extra={"value": value})


# ---- reading --------------------------------------------------------------------------------


async def access_case(session: AsyncSession, case_id: uuid.UUID, *,
                      lock: bool = False) -> Case:
    """Not there and not visible are the same 404."""
    case = await repository.get(session, case_id, lock=lock)
    if case is None:
        raise no_such_case()
    return case


async def own_case(session: AsyncSession, caller: Caller, case_id: uuid.UUID) -> Case:
    case = await repository.get(session, case_id)
    if case is None or str(case.worker_id) != caller.subject:
        raise no_such_case()
    return case


async def partner_case(session: AsyncSession, case_id: uuid.UUID) -> Case:
    """A case addressed to the calling partner (an open assignment), or that it pushed."""
    partner = await rls.current_partner(session)
    case = await repository.get(session, case_id)
    if case is None or partner is None:
        raise no_such_case()
    return case


async def duplicates(session: AsyncSession, case: Case) -> Sequence[uuid.UUID]:
    return await repository.open_duplicates(session, case)


async def agenda_ref(session: AsyncSession, case: Case) -> AgendaRef | None:
    """The agenda item the case feeds, with its status (if the caller can see it)."""
    if case.agenda_item_id is None:
        return None
    items = await board.items_by_ids(session, [case.agenda_item_id])
    if not items:
        return None
    return _agenda(items[0])


def _agenda(item: AgendaItem) -> AgendaRef:
    zh, en = ITEM_STATUSES[item.status]
    return AgendaRef(id=item.id, title=item.title, status=Label(code=item.status, zh=zh, en=en))


async def report_ref(session: AsyncSession, case: Case) -> ReportRef | None:
    """The problem report filed from the case (集体协商 as a report) and the board items it
    feeds now (bargaining/reports/service.py `trace`: as a source or through a taken
    proposal), as far as the caller sees them."""
    report_id = case.route_details.get("report_id") if case.route == "bargaining" else None
    if report_id is None:
        return None
    found = await reports.report_with_trace(session, uuid.UUID(report_id))
    if found is None:
        return None
    report, items = found
    zh, en = TOPICS[report.topic]
    return ReportRef(id=report.id, topic=Label(code=report.topic, zh=zh, en=en),
                     title=report.title, created_at=report.created_at.isoformat(),
                     items=[_agenda(i) for i in items])


async def read(session: AsyncSession, case: Case, *, audience: Audience,
               detail: bool = True, duplicate_of: Sequence[uuid.UUID] = (),
               now: datetime | None = None) -> CaseRead:
    """The case as `audience` may see it; the detail adds assignments, events and the SLA
    clocks (live at `now`; without it as derived at the last event)."""
    found = await names(session, case.federation_id)
    member_no = None
    if case.member_id is not None and audience == "staff":
        numbers = await membership.member_numbers(session, [case.member_id])
        member_no = numbers.get(case.member_id)
    agenda = await agenda_ref(session, case) if audience != "partner" else None
    report = await report_ref(session, case) if detail and audience != "partner" else None
    assignments = await repository.assignments(session, case.id) if detail else ()
    events = await repository.events(session, case.id) if detail else ()
    followups = (await repository.followups(session, case.id)
                 if detail and audience != "partner" else ())
    timed = await clocks.views(session, case, now) if detail and audience != "partner" else ()
    seen = await sight(session, case) if detail and audience == "staff" else None
    return case_read(case, found, audience=audience, member_no=member_no, agenda=agenda,
                     duplicate_of=duplicate_of, assignments=assignments, events=events,
                     followups=followups, clocks=timed, report=report, sight=seen)


async def sight(session: AsyncSession, case: Case) -> str | None:
    """Why the calling staff read a case their scope does not hold: `moved` (跟随转会, 0029)
    or `home` (会员所属工会, 0045); None when they handle it (or above) or see it as a unit."""
    if await rls.in_scope(session, case.tenant_id):
        return None
    reasons = await repository.sight_reasons(session, case.id)
    return "moved" if "moved" in reasons else "home" if "home" in reasons else None


async def reads(session: AsyncSession, rows: Sequence[Case], *,
                audience: Audience) -> list[CaseRead]:
    if not rows:
        return []
    found = await names(session, rows[0].federation_id)
    numbers: dict[uuid.UUID, str | None] = {}
    if audience == "staff":
        ids = [c.member_id for c in rows if c.member_id is not None]
        numbers = dict(await membership.member_numbers(session, ids)) if ids else {}
    return [case_read(c, found, audience=audience,
                      member_no=numbers.get(c.member_id) if c.member_id else None)
            for c in rows]


async def federation_of(session: AsyncSession, caller: Caller) -> uuid.UUID:
    return (await directory.my_directory(session, caller)).hq.id


async def ledger(session: AsyncSession, *, status: str | None, route: str | None,
                 category: str | None, channel: str | None, after: After,
                 limit: int, tier: str | None = None) -> Sequence[Case]:
    """需求台账: the staff caller's cases (its subtree's and its units'), newest first."""
    return await repository.page(session, status=status, route=route, category=category,
                                 channel=channel, tier=tier, after=after, limit=limit)


async def awaiting_acceptance(session: AsyncSession, caller: Caller, *,
                              limit: int) -> Sequence[Case]:
    """待接单: cases assigned to the caller's own unit as lead, not yet accepted."""
    return await repository.awaiting_acceptance(session, caller.tenant_id, limit=limit)


async def mine(session: AsyncSession, caller: Caller, *, status: str | None, after: After,
               limit: int) -> Sequence[Case]:
    return await repository.page(session, worker_id=uuid.UUID(caller.subject), status=status,
                                 after=after, limit=limit)


async def addressed(session: AsyncSession, *, status: str | None, after: After,
                    limit: int) -> Sequence[Case]:
    """The calling partner's cases: those with an open assignment to it."""
    ids = await repository.partner_case_ids(session)
    return await repository.page(session, only=ids, status=status, after=after, limit=limit)


async def returned_list(session: AsyncSession, *, category: str | None, route: str | None,
                        tier: str | None, after: After, limit: int) -> list[QueueRow]:
    """退回件 in the caller's scope, the latest return first (`limit` rows, the cursor's +1)."""
    rows = await repository.returned(session, category=category, route=route, tier=tier,
                                     after=after, limit=limit)
    if not rows:
        return []
    found = await names(session, rows[0].federation_id)
    reasons = await repository.return_reasons(session, [c.id for c in rows])
    return [queue_row(c, found, None, reasons.get(c.id)) for c in rows]


async def open_list(session: AsyncSession, *, status: str | None, category: str | None,
                    route: str | None, tier: str | None, unit: str | None, after: After,
                    limit: int, federation_id: uuid.UUID) -> list[QueueRow]:
    """Open cases in the caller's scope with their status and handling unit, newest first."""
    found = await names(session, federation_id)
    unit_id = None
    if unit is not None:
        unit_id = next((i for i, code in found.tenants.items() if code == unit), None)
        if unit_id is None:
            raise unknown("组织", "tenant", "unknown_unit", unit)
    rows = await repository.open_cases(session, status=status, category=category, route=route,
                                       tier=tier, unit=unit_id, after=after, limit=limit)
    return [queue_row(c, found, u) for c, u in rows]
