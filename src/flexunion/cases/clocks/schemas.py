"""SLA clocks — what callers send (pause, resume, extension request and decision) and see
(each clock of a case; the overdue list), and the pure mapping to it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from flexunion.cases.clocks.engine import STATE_LABELS
from flexunion.cases.clocks.models import CaseClock
from flexunion.cases.clocks.rules import METRICS, PAUSE_REASONS
from flexunion.cases.ledger import codes
from flexunion.cases.ledger.models import CaseEvent

# (cases/ledger/schemas.py embeds ClockRead in CaseRead, so nothing here imports it.)
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]

PauseReason = Literal["waiting_worker", "waiting_partner_data"]
Decision = Literal["approve", "refuse"]


class PauseCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """暂停计时: why the case waits (the worker, or the partner's data), and a note."""

    reason: PauseReason
    note: Reason | None = None


class ResumeCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    note: Reason | None = None


class ExtensionRequestCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """延期申请: the resolution deadline moved by N working days, with why."""

    days: Annotated[int, msgspec.Meta(ge=1, le=30)]
    reason: Reason


class ExtensionDecisionCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """延期审批 by a superior of the handling unit: approve or refuse, with why."""

    decision: Decision
    reason: Reason | None = None


class ClockLabel(msgspec.Struct):
    code: str
    zh: str
    en: str


class ClockRead(msgspec.Struct):
    metric: ClockLabel
    state: ClockLabel
    deadline: str | None
    elapsed_minutes: int  # working minutes the clock ran
    remaining_minutes: int  # working minutes left (negative: overdue by)
    budget_minutes: int
    target_days: int | None
    target_minutes: int | None
    policy_version: int
    calendar_version: int
    started_at: str
    paused_since: str | None
    pause_reason: ClockLabel | None
    uncovered: bool
    uncovered_years: list[int]
    warning_zh: str | None
    warning_en: str | None
    as_of: str  # the instant this answer was computed for


class OverdueRead(msgspec.Struct):
    """超期件: an open case and its clock whose deadline has passed (since `overdue_since`)."""

    case_id: uuid.UUID
    case_no: str
    case_status: ClockLabel
    category: ClockLabel
    route: ClockLabel | None
    work_tenant: str
    clock: ClockRead
    overdue_since: str


def _label(table: codes.Labels, code: str) -> ClockLabel:
    zh, en = table.get(code, (code, code))
    return ClockLabel(code=code, zh=zh, en=en)


def _state(code: str) -> ClockLabel:
    zh, _, en = STATE_LABELS[code].partition(" ")
    return ClockLabel(code=code, zh=zh, en=en)


def warnings(years: Sequence[int]) -> tuple[str | None, str | None]:
    if not years:
        return None, None
    listed = "、".join(map(str, years))
    return (f"工作日历未覆盖 {listed} 年的法定节假日：此期限仅按每周工作时间推算，"
            "不是正式期限，须人工核对。",
            f"The calendar does not cover {', '.join(map(str, years))}: this deadline counts "
            "weekly hours only, is provisional and must be checked by hand.")


def clock_read(row: CaseClock, now: datetime) -> ClockRead:
    """A clock as its row holds it; `breached` once its deadline passed by `now`, even when
    the cached state (derived at the last event) still says running."""
    state = row.state
    if state == "running" and row.deadline is not None and row.deadline < now:
        state = "breached"
    years = sorted(row.uncovered_years)
    zh, en = warnings(years)
    reason = row.pause_reason
    return ClockRead(
        metric=_label(METRICS, row.metric), state=_state(state),
        deadline=row.deadline.isoformat() if row.deadline else None,
        elapsed_minutes=row.elapsed_minutes, remaining_minutes=row.remaining_minutes,
        budget_minutes=row.budget_minutes, target_days=row.target_days,
        target_minutes=row.target_minutes, policy_version=row.policy_version,
        calendar_version=row.calendar_version, started_at=row.started_at.isoformat(),
        paused_since=row.paused_since.isoformat() if row.paused_since else None,
        pause_reason=_label(PAUSE_REASONS, reason) if reason else None,
        uncovered=bool(years), uncovered_years=years, warning_zh=zh, warning_en=en,
        as_of=now.isoformat())


def clock_key(row: CaseClock) -> tuple[str, uuid.UUID]:
    assert row.deadline is not None
    return row.deadline.isoformat(), row.id


def overdue_read(row: CaseClock, *, case_no: str, status: str, category: str,
                 route: str | None, work_tenant: str, now: datetime) -> OverdueRead:
    assert row.deadline is not None
    return OverdueRead(case_id=row.case_id, case_no=case_no,
                       case_status=_label(codes.STATUSES, status),
                       category=_label(codes.CATEGORIES, category),
                       route=_label(codes.ROUTES, route) if route else None,
                       work_tenant=work_tenant, clock=clock_read(row, now),
                       overdue_since=row.deadline.isoformat())


class EscalationRead(msgspec.Struct):
    """督办: a clock of an open or closed case escalated to a unit of my subtree (超期升级) —
    which metric, its deadline, the handling unit and the unit it went up to, and when; or a
    platform's answer in a dispute past its deadline (metric `platform_reply` /
    `evidence_request`, cases/disputes/sweep.py)."""

    event_id: uuid.UUID
    case_id: uuid.UUID
    case_no: str
    case_status: ClockLabel
    category: ClockLabel
    work_tenant: str
    metric: ClockLabel
    deadline: str
    unit: str
    to: str
    escalated_at: str


def escalation_read(event: CaseEvent, *, case_no: str, status: str, category: str,
                    work_tenant: str) -> EscalationRead:
    d = event.details
    # A clock's metric, or a deadline the event labels itself (a platform's overdue answer
    # in a dispute, cases/disputes/sweep.py)
    zh, en = METRICS.get(d.get("metric", ""), (d.get("label_zh") or d.get("metric", ""),
                                                d.get("label_en") or d.get("metric", "")))
    return EscalationRead(event_id=event.id, case_id=event.case_id, case_no=case_no,
                          case_status=_label(codes.STATUSES, status),
                          category=_label(codes.CATEGORIES, category), work_tenant=work_tenant,
                          metric=ClockLabel(code=d.get("metric", ""), zh=zh, en=en),
                          deadline=str(d.get("deadline", "")), unit=str(d.get("unit", "")),
                          to=str(d.get("to", "")), escalated_at=event.at.isoformat())


def escalation_key(event: CaseEvent) -> tuple[str, uuid.UUID]:
    return event.at.isoformat(), event.id
