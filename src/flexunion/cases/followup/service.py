"""回访复核, satisfaction and reopening: closing the loop.

- A case closes only through a follow-up (`close`, outcome 已解决) taken by the dispatching
  union (staff whose subtree holds the case's tenant: the union reviews the handling, not
  the unit that handled it). It records whether the worker knows the result and accepts the
  handling, and any new problem that came of it; a new problem may open a linked new case
  (channel 回访发现, `source_case_id`). 阶段推进 / 暂难解决 (`follow_up`) need a next node, its
  due date and a responsible unit (a tenant of the federation) and keep the case open
  (status 跟进中); a later follow-up closes it or moves the node on.
- Closing pins the reopen window: `reopen_until` = the closing + `settings.cases.reopen_days`
  calendar days (自然日, to the moment).
- The worker rates each closing once (满意 / 基本满意 / 不满意; UNIQUE (case_id, closing)),
  and may reopen the closed case before `reopen_until`, with a reason: the case goes back to
  handling (status 已重启: assign, route or answer again), its satisfaction cleared (the
  rating stays with its closing).
Every step is a `case_events` row and an audit entry; each status change tells the worker
(inbox/)."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.followup import repository as followup_repository
from flexunion.cases.followup.models import CaseRating
from flexunion.cases.followup.schemas import FollowupCreate, RatingCreate
from flexunion.cases.handling.service import check, dispatcher, take_step
from flexunion.cases.intake.service import enter
from flexunion.cases.ledger import repository
from flexunion.cases.ledger.models import Case, CaseFollowup
from flexunion.cases.ledger.service import access_case, new_case_no, no_such_case, record
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller
from flexunion.core.errors import Conflict, InvalidInput
from flexunion.db import rls
from flexunion.federation import directory


def _next_node(data: FollowupCreate) -> tuple[str, datetime, str]:
    if data.next_node is None or data.next_due_on is None or data.responsible_unit is None:
        raise InvalidInput("阶段推进或暂难解决须写明下一节点、完成日期和责任单位。",
                           "In progress / hard to resolve names the next node, its due date "
                           "and the responsible unit.", code="next_node_required")
    try:
        day = datetime.strptime(data.next_due_on, "%Y-%m-%d").date()
    except ValueError as exc:
        raise InvalidInput("日期无效。", "Not a date.", code="next_due_invalid") from exc
    due = datetime.combine(day + timedelta(days=1), time(0), BEIJING)  # end of that day
    return data.next_node, due, data.responsible_unit


async def _new_case(session: AsyncSession, case: Case, data: FollowupCreate,
                    now: datetime) -> Case | None:
    problem = data.new_problem
    if problem is None or not problem.open_case:
        return None
    new = Case(
        id=uuid.uuid4(), federation_id=case.federation_id, tenant_id=case.tenant_id,
        case_no=new_case_no(now), worker_id=case.worker_id, member_id=case.member_id,
        is_member=case.is_member, contact=dict(case.contact), partner_id=case.partner_id,
        category=problem.category, description=problem.description.strip(),
        employment_form=case.employment_form, tags=list(case.tags), tier="general",
        channel="followup", place=dict(case.place), status="received", route=None,
        route_details={}, source_case_id=case.id, created_by=await rls.principal(session),
        created_at=now, updated_at=now, closings=0, reopens=0)
    await enter(session, new, now)
    return new


async def follow_up(session: AsyncSession, case_id: uuid.UUID, data: FollowupCreate, *,
                    reopen_days: int, now: datetime) -> Case:
    """回访复核 by the dispatching union: 已解决 closes; 阶段推进 / 暂难解决 keep it open."""
    case = await access_case(session, case_id, lock=True)
    step = "close" if data.outcome == "resolved" else "follow_up"
    target = check(case, step)
    await dispatcher(session, case)
    node: tuple[str, datetime, str] | None = None
    unit_id: uuid.UUID | None = None
    if step == "follow_up":
        node = _next_node(data)
        unit = (await directory.directory(session, case.federation_id)).get(node[2])
        if unit is None:
            raise InvalidInput(f"{node[2]} 不是本联合会的组织。",
                               f"'{node[2]}' is not a tenant of this federation.",
                               code="unknown_unit", extra={"unit": node[2]})
        unit_id = unit.id
        if node[1] <= now:
            raise InvalidInput("下一节点的完成日期须在今天或以后。",
                               "The next node is due today or later.", code="next_due_invalid")
    new = await _new_case(session, case, data, now)
    row = CaseFollowup(
        id=uuid.uuid4(), federation_id=case.federation_id, tenant_id=case.tenant_id,
        case_id=case.id, closing=case.closings + 1, outcome=data.outcome,
        worker_informed=data.worker_informed, worker_accepts=data.worker_accepts,
        new_problem=data.new_problem.description.strip() if data.new_problem else None,
        new_case_id=new.id if new else None, next_node=node[0] if node else None,
        next_due_at=node[1] if node else None, responsible_tenant_id=unit_id,
        note=data.note, by=await rls.principal(session), at=now)
    if step == "close":
        case.closings += 1
        case.closed_at, case.reopen_until = now, now + timedelta(days=reopen_days)
        case.next_due_at = case.next_unit_id = case.satisfaction = None
    else:
        assert node is not None
        case.next_due_at, case.next_unit_id = node[1], unit_id
    repository.add(session, row)
    await repository.flush(session)
    await take_step(session, case, step, target, now=now, reason=data.note, details={
        "followup_id": str(row.id), "outcome": data.outcome,
        "worker_informed": data.worker_informed, "worker_accepts": data.worker_accepts,
        "new_case_id": str(new.id) if new else None,
        "next_node": node[0] if node else None,
        "next_due_at": node[1].isoformat() if node else None,
        "responsible_unit": node[2] if node else None})
    return case


# A node scheduled from elsewhere — a dispute's resolution (cases/disputes/resolutions.py) —
# moves the case itself only where a 回访复核 could: answered or already followed up. While it
# is still being handled, the node is kept on the case and the status is left to the handling.
FOLLOWS = frozenset({"answered", "followed_up"})
IN_HANDLING = frozenset({"received", "assigned", "accepted", "returned", "reopened"})


async def schedule(session: AsyncSession, case: Case, *, next_node: str, due: datetime,
                   unit_id: uuid.UUID, unit_code: str, note: str, worker_informed: bool,
                   worker_accepts: bool, now: datetime,
                   source: dict[str, str]) -> str | None:
    """The case's own 回访 from a node another step decided (the caller holds the case row
    locked and has checked the node: due today or later, a unit of the federation):

    - answered / followed_up: a 阶段推进 follow-up of the case (`case_followups` row, outcome
      in_progress, the step `follow_up`: status 跟进中, audited `case.followed_up`, the worker
      told), with `source` (e.g. the dispute and its path) in the event's details;
    - still in handling (received / assigned / accepted / returned / reopened): the case's
      next node and unit only (`next_due_at`, `next_unit_id`); no status change;
    - closed or merged: nothing.
    Returns what was done: "followed_up", "scheduled" or None."""
    if case.status in FOLLOWS:
        target = check(case, "follow_up")
        await dispatcher(session, case)
        row = CaseFollowup(
            id=uuid.uuid4(), federation_id=case.federation_id, tenant_id=case.tenant_id,
            case_id=case.id, closing=case.closings + 1, outcome="in_progress",
            worker_informed=worker_informed, worker_accepts=worker_accepts, new_problem=None,
            new_case_id=None, next_node=next_node, next_due_at=due, responsible_tenant_id=unit_id,
            note=note, by=await rls.principal(session), at=now)
        case.next_due_at, case.next_unit_id = due, unit_id
        repository.add(session, row)
        await repository.flush(session)
        await take_step(session, case, "follow_up", target, now=now, reason=note, details={
            "followup_id": str(row.id), "outcome": "in_progress",
            "worker_informed": worker_informed, "worker_accepts": worker_accepts,
            "new_case_id": None, "next_node": next_node, "next_due_at": due.isoformat(),
            "responsible_unit": unit_code, **source})
        return "followed_up"
    if case.status in IN_HANDLING:
        await dispatcher(session, case)
        case.next_due_at, case.next_unit_id, case.updated_at = due, unit_id, now
        await repository.flush(session)
        return "scheduled"
    return None


async def _own_locked(session: AsyncSession, caller: Caller, case_id: uuid.UUID) -> Case:
    """The worker's own case, locked when closed (the worker's UPDATE policy, which a FOR
    UPDATE read needs, covers only a closed case: another status is returned unlocked, and
    the caller refuses it)."""
    case = await repository.get(session, case_id)
    if case is None or str(case.worker_id) != caller.subject:
        raise no_such_case()
    if case.status == "closed":
        locked = await repository.get(session, case_id, lock=True)
        if locked is not None:
            await session.refresh(locked)
            return locked
    return case


class CaseNotClosed(Conflict):
    code, title, title_en = "case_not_closed", "诉求尚未办结", "Case not closed"


async def rate(session: AsyncSession, caller: Caller, case_id: uuid.UUID, data: RatingCreate,
               *, now: datetime) -> CaseRating:
    """满意度 of the current closing, once (409 `already_rated` for a second rating)."""
    case = await _own_locked(session, caller, case_id)
    if case.status != "closed":
        raise CaseNotClosed("诉求办结后才能评价。", "A case is rated once it is closed.",
                            extra={"case_status": case.status})
    if await followup_repository.rating(session, case.id, case.closings) is not None:
        raise Conflict("本次办结已评价过。", "This closing was already rated.",
                       code="already_rated", extra={"closing": case.closings})
    row = CaseRating(id=uuid.uuid4(), federation_id=case.federation_id,
                     tenant_id=case.tenant_id, case_id=case.id, closing=case.closings,
                     worker_id=case.worker_id, rating=data.rating, comment=data.comment,
                     at=now)
    try:
        async with session.begin_nested():
            repository.add(session, row)
            await repository.flush(session)
    except IntegrityError:  # the same closing rated twice at once: the first won
        raise Conflict("本次办结已评价过。", "This closing was already rated.",
                       code="already_rated", extra={"closing": case.closings}) from None
    case.satisfaction, case.updated_at = data.rating, now
    await repository.flush(session)
    await record(session, case, "rate", now=now, details={"closing": case.closings,
                                                          "rating": data.rating})
    await audit.record(session, "case.rated", tenant_id=case.tenant_id, object_type="case",
                       object_id=case.id, payload={"case_no": case.case_no,
                                                   "closing": case.closings,
                                                   "rating": data.rating})
    return row


async def reopen(session: AsyncSession, caller: Caller, case_id: uuid.UUID, reason: str, *,
                 now: datetime) -> Case:
    """重启 by the worker before `reopen_until`; back to handling (status 已重启)."""
    case = await _own_locked(session, caller, case_id)
    target = check(case, "reopen")
    if case.reopen_until is None or now >= case.reopen_until:
        raise Conflict("已超过可重启的期限。", "The window for reopening has passed.",
                       code="reopen_window_passed",
                       extra={"reopen_until": case.reopen_until.isoformat()
                              if case.reopen_until else None})
    closing = case.closings
    case.reopens += 1
    case.satisfaction = None
    await take_step(session, case, "reopen", target, now=now, reason=reason.strip(),
                    details={"closing": closing})
    return case
