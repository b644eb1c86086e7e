"""帮扶台账 The assistance ledger: hardship cases on their own track (lifecycle.py), grants
against a region's budget lines under a per-member yearly cap, and the special-category
details kept sealed, apart, and purged after the retention period.

Roles per step (lifecycle.ACTIONS): 受理 station or regional staff; 核实 a second person (not
the one who accepted: refused here with 409 `assistance_same_person`, and by the CHECK and the
trigger of migration 0053); 会商 the regional union's committee, recording who sat and the
decision (approve with an amount in fen, or refuse with a reason); 发放 regional (or HQ)
admins, each grant audited in its transaction; 回访 station or regional staff, which closes
the case. Each step restarts the step clock: an urgent case (急难事项) gets
`urgent_step_hours` hours, an ordinary one `ordinary_step_days` working days on the case
tenant's calendar (calendars.service.deadline_after), per the federation's policy.

The yearly cap: a grant locks the member's yearly total row (`assistance_member_totals`,
created if absent) FOR UPDATE and then the budget line's row, always in that order, and checks
both against committed values, so two concurrent grants that together pass the cap serialise
and the second is refused (409 `assistance_yearly_cap`); the budget line's CHECK
(`used_fen <= allocated_fen`) backs the budget (409 `assistance_budget_exceeded`).

Special-category details (`Details`): sealed with the keyring (purpose
`assistance-details`), in `assistance_details`, which row-level security shows only to the
regional admins and station officers of the case's subtree (the handlers and the committee);
a list shows only a mask; the worker files them but never reads them back."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.calendars import service as calendars
from flexunion.config import AssistanceSettings
from flexunion.core.clock import BEIJING
from flexunion.core.context import Caller, Role
from flexunion.core.errors import DomainError, InvalidInput
from flexunion.core.secrets import Keyring
from flexunion.db import rls
from flexunion.federation import directory
from flexunion.membership import service as membership
from flexunion.services.assistance import repository
from flexunion.services.assistance.errors import (
    BudgetExceeded,
    DecisionIncomplete,
    OverApproved,
    RoleNotAllowed,
    SamePerson,
    StepNotAllowed,
    UnknownBudgetLine,
    YearlyCap,
    no_such_case,
)
from flexunion.services.assistance.lifecycle import (
    ACTIONS,
    FOLLOW_UP_FROM,
    OPEN,
    ROLE_LABELS,
    STEPS,
    may_move,
)
from flexunion.services.assistance.models import (
    AssistanceCase,
    AssistancePolicy,
    Grant,
)
from flexunion.services.assistance.schemas import (
    KINDS,
    Apply,
    Ask,
    CaseRead,
    CaseRow,
    Decide,
    Details,
    FollowUp,
    GrantCreate,
    MyCaseRead,
    PolicyRead,
    PolicySet,
    Verify,
    WalkIn,
    case_read,
    case_row,
    my_case,
)
from flexunion.services.groups import service as groups

DETAILS_SEAL = "assistance-details"
KIND_CODES = frozenset(KINDS)
# A case that granted help keeps its member in the hardship service group this long after 回访.
HARDSHIP_AFTER_GRANT = timedelta(days=365)


def year_of(moment: datetime) -> int:
    return moment.astimezone(BEIJING).year


# ---- policy and clock ------------------------------------------------------------------------


async def policy(session: AsyncSession, federation_id: uuid.UUID,
                 defaults: AssistanceSettings) -> PolicyRead:
    row = await repository.policy_of(session, federation_id)
    if row is None:
        return PolicyRead(yearly_cap_fen=defaults.yearly_cap_fen,
                          urgent_step_hours=defaults.urgent_step_hours,
                          ordinary_step_days=defaults.ordinary_step_days,
                          retention_days=defaults.retention_days, configured=False)
    return PolicyRead(yearly_cap_fen=row.yearly_cap_fen, urgent_step_hours=row.urgent_step_hours,
                      ordinary_step_days=row.ordinary_step_days,
                      retention_days=row.retention_days, configured=True)


async def read_policy(session: AsyncSession, caller: Caller,
                      defaults: AssistanceSettings) -> PolicyRead:
    return await policy(session, await directory.federation_of(session, caller), defaults)


async def set_policy(session: AsyncSession, caller: Caller, data: PolicySet, *,
                     now: datetime) -> PolicyRead:
    """HQ sets the federation's policy (audited)."""
    if caller.role is not Role.HQ_ADMIN:
        raise RoleNotAllowed("帮扶政策由总部设置。", "The federation's HQ sets the policy.")
    federation_id = await directory.federation_of(session, caller)
    row = await repository.policy_of(session, federation_id)
    if row is None:
        row = AssistancePolicy(federation_id=federation_id, tenant_id=federation_id,
                               updated_by=caller.principal, updated_at=now,
                               **msgspec.structs.asdict(data))
        repository.add(session, row)
    else:
        for name, value in msgspec.structs.asdict(data).items():
            setattr(row, name, value)
        row.updated_by, row.updated_at = caller.principal, now
    await repository.flush(session)
    await audit.record(session, "assistance.policy_set", tenant_id=federation_id,
                       object_type="assistance_policy", object_id=row.id,
                       payload=msgspec.structs.asdict(data))
    return await policy(session, federation_id, AssistanceSettings())


async def _due(session: AsyncSession, case: AssistanceCase, rules: PolicyRead,
               now: datetime) -> datetime | None:
    if case.step == "closed":
        return None
    if case.urgent:
        return now + timedelta(hours=rules.urgent_step_hours)
    moment = await calendars.deadline_after(session, case.tenant_id, now,
                                            rules.ordinary_step_days,
                                            federation_id=case.federation_id)
    return moment.at


# ---- opening ---------------------------------------------------------------------------------


def _seal(keyring: Keyring, details: Details) -> bytes:
    return keyring.seal(DETAILS_SEAL, msgspec.json.encode(details))


async def _file_details(session: AsyncSession, keyring: Keyring, case: AssistanceCase,
                        details: Details | None, actor: str, now: datetime) -> None:
    if details is None or not details.fields():
        return
    await repository.insert_details(session, {
        "id": uuid.uuid4(), "federation_id": case.federation_id, "tenant_id": case.tenant_id,
        "case_id": case.id, "sealed": _seal(keyring, details), "fields": details.fields(),
        "created_by": actor, "created_at": now})


async def _new_case(session: AsyncSession, *, federation_id: uuid.UUID, tenant_id: uuid.UUID,
                    member_id: uuid.UUID, worker_id: uuid.UUID, kind: str, urgent: bool,
                    source: str, source_ref: str | None, summary: str, actor: str,
                    rules: PolicyRead, now: datetime) -> AssistanceCase:
    case = AssistanceCase(
        federation_id=federation_id, tenant_id=tenant_id, member_id=member_id,
        worker_id=worker_id, kind=kind, urgent=urgent, step="applied", source=source,
        source_ref=source_ref, summary=summary, opened_by=actor, granted_fen=0,
        created_at=now, updated_at=now)
    case.step_due_at = await _due(session, case, rules, now)
    repository.add(session, case)
    await repository.flush(session)
    await audit.record(session, "assistance.opened", tenant_id=tenant_id,
                       object_type="assistance_case", object_id=case.id,
                       payload={"kind": kind, "urgent": urgent, "source": source,
                                "source_ref": source_ref})
    return case


async def apply(session: AsyncSession, keyring: Keyring, caller: Caller, data: Apply, *,
                defaults: AssistanceSettings, now: datetime) -> MyCaseRead:
    """帮扶申报 from the app (the route takes an Idempotency-Key): the worker's own active
    membership, at its home tenant, step `applied`."""
    member = await membership.require_active(session, caller)
    rules = await policy(session, member.federation_id, defaults)
    case = await _new_case(session, federation_id=member.federation_id,
                           tenant_id=member.tenant_id, member_id=member.id,
                           worker_id=member.worker_id, kind=data.kind, urgent=data.urgent,
                           source="app", source_ref=None, summary=data.summary,
                           actor=caller.principal, rules=rules, now=now)
    await _file_details(session, keyring, case, data.details, caller.principal, now)
    return my_case(case)


async def my_cases(session: AsyncSession, caller: Caller) -> list[MyCaseRead]:
    return [my_case(c) for c in await repository.cases_of_worker(session,
                                                                 uuid.UUID(caller.subject))]


def _event_ref(source: str, source_ref: str) -> str:
    return f"{source}:{source_ref}"


async def open_from_event(session: AsyncSession, *, member_id: uuid.UUID, kind: str,
                          urgent: bool, source: str, source_ref: str, summary: str,
                          now: datetime | None = None) -> AssistanceCase:
    """A case opened by another part of flexunion (e.g. a partner's injury event, wired
    later): idempotent on (source, source_ref) within the member's federation — a repeated
    call answers the case the first one opened, never a second case. The session's scope
    must see the member (staff of its subtree, or a job named in the policies). It starts at
    `applied` (source `event`, `source_ref` "<source>:<source_ref>"); staff accept it like an
    application. `now` defaults to the transaction's time."""
    if kind not in KIND_CODES:
        raise InvalidInput(f"未知的帮扶类别 {kind}。", f"Unknown assistance kind '{kind}'.")
    member = await membership.access_member(session, member_id)
    ref = _event_ref(source, source_ref)
    found = await repository.case_by_source(session, member.federation_id, "event", ref)
    if found is not None:
        return found
    rules = await policy(session, member.federation_id, AssistanceSettings())
    at = now or await repository.transaction_time(session)
    actor = await rls.principal(session)
    try:
        async with session.begin_nested():
            return await _new_case(session, federation_id=member.federation_id,
                                   tenant_id=member.tenant_id, member_id=member.id,
                                   worker_id=member.worker_id, kind=kind, urgent=urgent,
                                   source="event", source_ref=ref, summary=summary[:500],
                                   actor=actor, rules=rules, now=at)
    except IntegrityError:  # the same event opened concurrently: answer that case
        again = await repository.case_by_source(session, member.federation_id, "event", ref)
        if again is None:
            raise
        return again


async def walk_in(session: AsyncSession, keyring: Keyring, caller: Caller, data: WalkIn, *,
                  defaults: AssistanceSettings, now: datetime) -> CaseRead:
    """现场受理: station or regional staff open a member's case at their own tenant and accept
    it in the same step (they are its acceptor; 核实 needs someone else)."""
    _require_role(caller, "accept")
    member = await membership.access_member(session, data.member_id)
    rules = await policy(session, member.federation_id, defaults)
    case = await _new_case(session, federation_id=member.federation_id,
                           tenant_id=caller.tenant_id, member_id=member.id,
                           worker_id=member.worker_id, kind=data.kind, urgent=data.urgent,
                           source="walk_in", source_ref=None, summary=data.summary,
                           actor=caller.principal, rules=rules, now=now)
    await _file_details(session, keyring, case, data.details, caller.principal, now)
    case.accepted_by, case.accepted_at = caller.principal, now
    await _step(session, case, "accepted", caller, rules, now)
    await _accepted(session, case, now)
    return await read(session, keyring, caller, case.id, now=now)


# ---- the steps -------------------------------------------------------------------------------


def _require_role(caller: Caller, action: str) -> None:
    label, _, roles = ACTIONS[action]
    if caller.role not in roles:
        who = "、".join(label for r, label in ROLE_LABELS.items() if r in roles)
        raise RoleNotAllowed(f"「{label}」须由{who}办理。",
                             f"'{action}' is taken by: {', '.join(r.value for r in roles)}.",
                             extra={"step": action, "roles": sorted(r.value for r in roles)})


async def _locked(session: AsyncSession, case_id: uuid.UUID) -> AssistanceCase:
    case = await repository.case_by_id(session, case_id, lock=True)
    if case is None:
        raise no_such_case()
    return case


def _expect(case: AssistanceCase, *steps: str) -> None:
    if case.step not in steps:
        now_zh = STEPS[case.step][0]
        raise StepNotAllowed(f"帮扶件当前为「{now_zh}」，不能办理此步骤。",
                             f"The case is '{case.step}'; this step is not allowed now.",
                             extra={"step": case.step})


async def _step(session: AsyncSession, case: AssistanceCase, target: str, caller: Caller,
                rules: PolicyRead, now: datetime) -> None:
    assert may_move(case.step, target), (case.step, target)
    case.step, case.updated_at = target, now
    case.asked_zh = None
    if target == "closed":
        case.closed_at = now
    case.step_due_at = await _due(session, case, rules, now)


async def _rules_for(session: AsyncSession, case: AssistanceCase,
                     defaults: AssistanceSettings) -> PolicyRead:
    return await policy(session, case.federation_id, defaults)


async def _flag_member_hardship(session: AsyncSession, case: AssistanceCase, *,
                                granted: bool | None = None, now: datetime) -> None:
    """困难会员 (services/groups): a case reaching 受理 marks its member for the `hardship`
    service group (source `assistance:<case id>`, open-ended); at 回访 the mark ends unless
    another of the member's cases is still open, and a case that granted help keeps the
    member in the group for HARDSHIP_AFTER_GRANT more. In a savepoint: staff who cannot see
    the member (a walk-in at a station of another region) leave no mark, audited, and the
    step itself stands."""
    source = f"assistance:{case.id}"
    try:
        async with session.begin_nested():
            if granted is None:
                await groups.mark_hardship(session, case.member_id, source=source, until=None,
                                           now=now)
                return
            if await repository.other_open_case(session, case.member_id, case.id):
                return
            await groups.clear_hardship(session, case.member_id, source=source, now=now)
            if granted:
                await groups.mark_hardship(session, case.member_id, source=source,
                                           until=now + HARDSHIP_AFTER_GRANT, now=now)
    except DomainError as exc:
        await audit.record(session, "assistance.hardship_mark_skipped", tenant_id=case.tenant_id,
                           object_type="assistance_case", object_id=case.id,
                           payload={"code": exc.code})


async def _accepted(session: AsyncSession, case: AssistanceCase, now: datetime) -> None:
    await repository.flush(session)
    await audit.record(session, "assistance.accepted", tenant_id=case.tenant_id,
                       object_type="assistance_case", object_id=case.id,
                       payload={"urgent": case.urgent})
    await _flag_member_hardship(session, case, now=now)


async def accept(session: AsyncSession, keyring: Keyring, caller: Caller, case_id: uuid.UUID, *,
                 defaults: AssistanceSettings, now: datetime) -> CaseRead:
    """受理: station or regional staff of the case's subtree."""
    case = await _locked(session, case_id)
    _require_role(caller, "accept")
    _expect(case, "applied")
    case.accepted_by, case.accepted_at = caller.principal, now
    await _step(session, case, "accepted", caller, await _rules_for(session, case, defaults),
                now)
    await _accepted(session, case, now)
    return await read(session, keyring, caller, case.id, now=now)


async def verify(session: AsyncSession, keyring: Keyring, caller: Caller, case_id: uuid.UUID,
                 data: Verify, *, defaults: AssistanceSettings, now: datetime) -> CaseRead:
    """核实: a second person — not the one who accepted (409 `assistance_same_person`)."""
    case = await _locked(session, case_id)
    _require_role(caller, "verify")
    _expect(case, "accepted")
    if case.accepted_by == caller.principal:
        raise SamePerson("受理人不能核实自己受理的帮扶件，请由另一位工作人员核实。",
                         "The person who accepted the case cannot verify it.")
    # Set before the step: the step's clock reads the calendar, which flushes the row, and
    # the trigger checks the verifier with the step.
    case.verified_by, case.verified_at, case.verify_note = caller.principal, now, data.note
    await _step(session, case, "verified", caller, await _rules_for(session, case, defaults),
                now)
    await repository.flush(session)
    await audit.record(session, "assistance.verified", tenant_id=case.tenant_id,
                       object_type="assistance_case", object_id=case.id)
    return await read(session, keyring, caller, case.id, now=now)


async def decide(session: AsyncSession, keyring: Keyring, caller: Caller, case_id: uuid.UUID,
                 data: Decide, *, defaults: AssistanceSettings, now: datetime) -> CaseRead:
    """会商: the committee's decision, who sat, approve with an amount or refuse with a reason."""
    case = await _locked(session, case_id)
    _require_role(caller, "decide")
    _expect(case, "verified")
    if data.decision == "approve" and data.amount_fen is None:
        raise DecisionIncomplete("同意帮扶须填写金额（分）。", "An approval needs amount_fen.",
                                 extra={"field": "amount_fen"})
    if data.decision == "refuse" and data.reason is None:
        raise DecisionIncomplete("不予帮扶须写明理由。", "A refusal needs a reason.",
                                 extra={"field": "reason"})
    target = "approved" if data.decision == "approve" else "refused"
    await _step(session, case, target, caller, await _rules_for(session, case, defaults), now)
    case.committee_members = list(data.members_present)
    case.committee_note = data.note
    case.approved_fen = data.amount_fen if target == "approved" else None
    case.refusal_reason = data.reason if target == "refused" else None
    case.decided_by, case.decided_at = caller.principal, now
    await repository.flush(session)
    await audit.record(session, f"assistance.{target}", tenant_id=case.tenant_id,
                       object_type="assistance_case", object_id=case.id,
                       payload={"amount_fen": case.approved_fen,
                                "members_present": case.committee_members})
    return await read(session, keyring, caller, case.id, now=now)


async def _region_of(session: AsyncSession, case: AssistanceCase) -> uuid.UUID:
    tree = await directory.directory(session, case.federation_id)
    region = tree.region_of(tree.by_id[case.tenant_id])
    return region.id if region is not None else case.tenant_id


async def grant(session: AsyncSession, keyring: Keyring, caller: Caller, case_id: uuid.UUID,
                data: GrantCreate, *, defaults: AssistanceSettings, now: datetime) -> CaseRead:
    """发放: one grant of an approved case from its region's budget line, within the approved
    amount, the member's yearly cap and the line's allocation; audited in this transaction.
    Locks: the case, then the member's yearly total, then the budget line."""
    case = await _locked(session, case_id)
    _require_role(caller, "grant")
    _expect(case, "approved", "granted")
    if case.granted_fen + data.amount_fen > (case.approved_fen or 0):
        left = (case.approved_fen or 0) - case.granted_fen
        raise OverApproved(f"会商同意 {case.approved_fen} 分，已发放 {case.granted_fen} 分，"
                           f"最多还能发放 {left} 分。",
                           f"At most {left} fen remain of the approved amount.",
                           extra={"remaining_fen": left})
    rules = await _rules_for(session, case, defaults)
    year = year_of(now)
    total = await repository.locked_total(session, case.federation_id, case.member_id, year)
    if total.total_fen + data.amount_fen > rules.yearly_cap_fen:
        left = rules.yearly_cap_fen - total.total_fen
        raise YearlyCap(f"该会员 {year} 年已获帮扶 {total.total_fen} 分，年度上限 "
                        f"{rules.yearly_cap_fen} 分，本次最多 {left} 分。",
                        f"The member's {year} total would pass the cap; at most {left} fen.",
                        extra={"remaining_fen": left, "yearly_cap_fen": rules.yearly_cap_fen})
    region = await _region_of(session, case)
    line = await repository.budget_line(session, [region], year, data.budget_line, lock=True)
    if line is None:
        raise UnknownBudgetLine(f"本区域 {year} 年没有经费科目 {data.budget_line}。",
                                f"No budget line '{data.budget_line}' for {year}.",
                                extra={"field": "budget_line"})
    if line.used_fen + data.amount_fen > line.allocated_fen:
        left = line.allocated_fen - line.used_fen
        raise BudgetExceeded(f"经费科目「{line.name_zh}」余额 {left} 分，不足本次发放。",
                             f"The budget line has {left} fen left.",
                             extra={"remaining_fen": left})
    total.total_fen += data.amount_fen
    line.used_fen += data.amount_fen
    case.granted_fen += data.amount_fen
    row = Grant(federation_id=case.federation_id, tenant_id=case.tenant_id, case_id=case.id,
                member_id=case.member_id, budget_line_id=line.id, year=year,
                amount_fen=data.amount_fen, note=data.note, granted_by=caller.principal,
                granted_at=now)
    repository.add(session, row)
    if case.step == "approved":
        await _step(session, case, "granted", caller, rules, now)
    case.updated_at = now
    await repository.flush(session)
    await audit.record(session, "assistance.granted", tenant_id=case.tenant_id,
                       object_type="assistance_case", object_id=case.id,
                       payload={"grant_id": str(row.id), "amount_fen": data.amount_fen,
                                "budget_line": line.code, "year": year,
                                "member_total_fen": total.total_fen})
    return await read(session, keyring, caller, case.id, now=now)


async def ask_worker(session: AsyncSession, keyring: Keyring, caller: Caller,
                     case_id: uuid.UUID, data: Ask, *, now: datetime) -> CaseRead:
    """What the worker is asked now (e.g. 请补交诊断证明): a handler of an open case, shown in
    the app until the next step replaces it with that step's own prompt."""
    case = await _locked(session, case_id)
    if caller.role not in (Role.STATION_OFFICER, Role.REGIONAL_ADMIN):
        raise RoleNotAllowed("须由站点工作人员、区域工会告知会员。",
                             "Station or regional staff ask the worker.",
                             extra={"step": "ask", "roles": ["regional_admin",
                                                             "station_officer"]})
    _expect(case, *OPEN, "refused")
    case.asked_zh, case.updated_at = data.asked_zh, now
    await repository.flush(session)
    await audit.record(session, "assistance.worker_asked", tenant_id=case.tenant_id,
                       object_type="assistance_case", object_id=case.id)
    return await read(session, keyring, caller, case.id, now=now)


async def follow_up(session: AsyncSession, keyring: Keyring, caller: Caller, case_id: uuid.UUID,
                    data: FollowUp, *, defaults: AssistanceSettings, now: datetime) -> CaseRead:
    """回访: the follow-up visit closes the case (a refused case too: 告知与回访)."""
    case = await _locked(session, case_id)
    _require_role(caller, "follow_up")
    _expect(case, *FOLLOW_UP_FROM)
    case.followup_by, case.followup_at, case.followup_note = caller.principal, now, data.note
    granted = case.step == "granted"
    await _step(session, case, "closed", caller, await _rules_for(session, case, defaults), now)
    await repository.flush(session)
    await audit.record(session, "assistance.closed", tenant_id=case.tenant_id,
                       object_type="assistance_case", object_id=case.id)
    await _flag_member_hardship(session, case, granted=granted, now=now)
    return await read(session, keyring, caller, case.id, now=now)


# ---- reading ---------------------------------------------------------------------------------


async def cases(session: AsyncSession, *, now: datetime, include_closed: bool = False,
                limit: int = 200) -> list[CaseRow]:
    """The ledger as the caller may see it: overdue first, then urgent, then by due time;
    details masked."""
    rows = await repository.open_cases_first(session, now, include_closed=include_closed,
                                             limit=limit)
    sealed = await repository.cases_with_details(session, [c.id for c in rows])
    return [case_row(c, c.id in sealed, now) for c in rows]


async def read(session: AsyncSession, keyring: Keyring, caller: Caller, case_id: uuid.UUID, *,
               now: datetime) -> CaseRead:
    """A case for staff in scope; the details only where row-level security shows them (the
    case's handlers), opened with the keyring."""
    case = await repository.case_by_id(session, case_id)
    if case is None:
        raise no_such_case()
    row = await repository.details_of(session, case.id)
    details = (msgspec.json.decode(keyring.open(DETAILS_SEAL, row.sealed), type=Details)
               if row is not None else None)
    return case_read(case, details, list(await repository.grants_of(session, case.id)), now)
