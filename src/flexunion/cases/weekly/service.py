"""周研判 the weekly risk review (issue 15): a region's week of counts against its own
previous four weeks, the signals that cross the thresholds (rules.py), stored per region and
week, and the officers' judgements on them.

The counts come from one SECURITY DEFINER aggregate (migration 0032), set-based in
PostgreSQL; the rule is applied here to one row per place, never per case. A run of a week
replaces the region's unjudged signals of that week and refreshes the judged ones' figures
(their judgement kept): re-running is idempotent. Who: the job `system:jobs:weekly-review`
for every region of its federation (jobs/tasks.py), HQ and regional admins on demand for
the regions of their subtree; the list for the same admins, and for a station officer the
signals placed at its own station (row-level security)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.cases.weekly import repository
from flexunion.cases.weekly.models import ReviewSignal
from flexunion.cases.weekly.rules import (
    JUDGEMENT_ZH,
    KIND_ZH,
    Thresholds,
    Verdict,
    Week,
    count_verdict,
    drop_verdict,
)
from flexunion.cases.weekly.schemas import (
    JudgementWrite,
    Place,
    ReviewRead,
    RunRead,
    SignalRead,
)
from flexunion.config import CaseSettings
from flexunion.core.context import ADMIN_ROLES, Caller, Role
from flexunion.core.errors import Conflict, Forbidden, NotFound
from flexunion.federation import directory

MANAGERS = frozenset({Role.HQ_ADMIN, Role.REGIONAL_ADMIN})
DIM_ZH = {"station": "站点", "zone": "配送片区", "partner": "平台"}


def thresholds(settings: CaseSettings) -> Thresholds:
    return Thresholds(min_count=settings.review_min_count,
                      repeat_min=settings.review_repeat_min, k=settings.review_k,
                      floor=settings.review_floor, drop_pct=settings.review_drop_pct,
                      drop_min=settings.review_drop_min,
                      roster_min=settings.review_roster_min)


def _why(kind: str, dimension: str, detail: str, v: Verdict) -> tuple[str, str]:
    what = f"{KIND_ZH[kind]}（{DIM_ZH[dimension]}{'，' + detail if detail else ''}）"
    if kind == "roster_drop":
        return (f"{what}：在岗 {v.value} 人，上周 {v.baseline:.0f} 人，减少 {v.spread:.0f} 人，"
                f"低于 {v.threshold:.1f}。",
                f"{kind} at {dimension} {detail}: {v.value} active, {v.baseline:.0f} the week"
                f" before, {v.spread:.0f} fewer, below {v.threshold:.1f}.")
    return (f"{what}：本周 {v.value}，前 4 周均值 {v.baseline:.1f}（标准差 {v.spread:.1f}），"
            f"阈值 {v.threshold:.1f}。",
            f"{kind} at {dimension}{' ' + detail if detail else ''}: {v.value} this week,"
            f" 4-week mean {v.baseline:.1f} (sd {v.spread:.1f}), threshold {v.threshold:.1f}.")


def evaluate(rows: Sequence[Any], rules: Thresholds) -> list[tuple[str, str, str, str, Verdict]]:
    """(kind, dimension, place, detail, verdict) of the counts that cross their threshold:
    one pass over rows already grouped by place and week."""
    series: dict[tuple[str, str, str, str], dict[int, int]] = defaultdict(dict)
    for row in rows:
        series[(row.source, row.dimension, row.place, row.detail)][int(row.wk)] = int(row.n)
    found = []
    for (source, dimension, place, detail), weeks in series.items():
        if source == "roster":
            verdict = drop_verdict(weeks.get(0, 0), weeks.get(-1, 0), rules)
            kind = "roster_drop"
        else:
            history = [weeks.get(w, 0) for w in (-4, -3, -2, -1)]
            verdict = count_verdict(weeks.get(0, 0), history, rules,
                                    min_count=rules.repeat_min if source == "category"
                                    else None)
            kind = source
        if verdict is not None:
            found.append((kind, dimension, place, detail, verdict))
    return found


async def compute(session: AsyncSession, tenants: directory.Directory,
                  region: directory.DirectoryEntry, week: Week, rules: Thresholds, *,
                  now: datetime) -> int:
    """Compute region's signals of `week` and store them (idempotent); how many stand."""
    rows = await repository.counts(session, tenants.subtree(region), week.start)
    partners = {str(i): c for i, c in
                (await directory.partner_codes(session, tenants.hq.id)).items()}
    signals, keys = [], []
    for kind, dimension, place, detail, verdict in evaluate(rows, rules):
        place_tenant: uuid.UUID | None = None
        if dimension == "station":
            entry = tenants.by_id.get(uuid.UUID(place))
            if entry is None:
                continue
            place, place_tenant = entry.code, entry.id
        elif dimension == "partner":
            place = partners.get(place, place)
        if kind == "roster_drop":
            detail = partners.get(detail, detail)
        why_zh, why_en = _why(kind, dimension, detail, verdict)
        keys.append((kind, dimension, place, detail))
        signals.append({
            "id": uuid.uuid4(), "federation_id": tenants.hq.id, "tenant_id": region.id,
            "week": week.code, "kind": kind, "dimension": dimension, "place": place,
            "place_tenant_id": place_tenant, "detail": detail, "value": verdict.value,
            "baseline": verdict.baseline, "spread": verdict.spread,
            "threshold": verdict.threshold, "why_zh": why_zh, "why_en": why_en,
            "computed_at": now})
    await repository.upsert(session, signals)
    await repository.drop_stale(session, region.id, week.code, keys)
    return await repository.count(session, region.id, week.code)


async def run_due(session: AsyncSession, federation_id: uuid.UUID, now: datetime,
                  settings: CaseSettings, *, week: str | None = None) -> int:
    """The job: every region of the federation, the week just ended (or `week`)."""
    target = Week.parse(week) if week else Week.of(now).previous()
    tenants = await directory.directory(session, federation_id)
    rules = thresholds(settings)
    total = 0
    for region in sorted((e for e in tenants.values() if e.kind == "regional"),
                         key=lambda e: e.code):  # one aggregate per region, not per case
        total += await compute(session, tenants, region, target, rules, now=now)
    return total


def _regions(tenants: directory.Directory, caller: Caller) -> list[directory.DirectoryEntry]:
    own = tenants.by_id.get(caller.tenant_id)
    if own is None:
        return []
    if own.kind == "regional":
        return [own]
    if own.kind == "station":
        region = tenants.region_of(own)
        return [region] if region else []
    return sorted((e for e in tenants.values() if e.kind == "regional"), key=lambda e: e.code)


async def run(session: AsyncSession, caller: Caller, week_code: str, settings: CaseSettings, *,
              now: datetime) -> RunRead:
    """On demand (HQ and regional admins): the week for the regions of my subtree."""
    if caller.role not in MANAGERS:
        raise Forbidden("周研判由总部或地区工会运行。",
                        "HQ or regional admins run the weekly review.",
                        code="weekly_review_admin_only")
    week = Week.parse(week_code)
    if week.start > now:
        raise Conflict("该周尚未开始。", "The week has not begun.", code="week_in_future")
    tenants = await directory.my_directory(session, caller)
    regions = _regions(tenants, caller)
    rules = thresholds(settings)
    total = 0
    for region in regions:
        total += await compute(session, tenants, region, week, rules, now=now)
    await audit.record(session, "weekly_review.run", tenant_id=caller.tenant_id,
                       object_type="weekly_review", object_id=week.code,
                       payload={"regions": [r.code for r in regions], "signals": total})
    return RunRead(week=week.code, regions=[r.code for r in regions], signals=total)


def _place(row: ReviewSignal, tenants: directory.Directory,
           partners: dict[str, directory.Partner]) -> Place:
    if row.dimension == "station" and row.place_tenant_id in tenants.by_id:
        entry = tenants.by_id[row.place_tenant_id]
        return Place(dimension=row.dimension, code=entry.code, name_zh=entry.name_zh,
                     name_en=entry.name_en, tenant_id=entry.id)
    if row.dimension == "partner" and row.place in partners:
        p = partners[row.place]
        return Place(dimension=row.dimension, code=p.code, name_zh=p.name_zh,
                     name_en=p.name_en, tenant_id=None)
    return Place(dimension=row.dimension, code=row.place, name_zh=row.place,
                 name_en=row.place, tenant_id=row.place_tenant_id)


def read(row: ReviewSignal, tenants: directory.Directory,
         partners: dict[str, directory.Partner]) -> SignalRead:
    region = tenants.by_id.get(row.tenant_id)
    return SignalRead(
        id=row.id, week=row.week, region=region.code if region else str(row.tenant_id),
        kind=row.kind, kind_zh=KIND_ZH[row.kind], place=_place(row, tenants, partners),
        detail=row.detail, value=row.value, baseline=row.baseline, spread=row.spread,
        threshold=row.threshold, why_zh=row.why_zh, why_en=row.why_en,
        computed_at=row.computed_at, judgement=row.judgement,
        judgement_zh=JUDGEMENT_ZH.get(row.judgement or ""), action=row.action,
        follow_up_node=row.follow_up_node, follow_up_due=row.follow_up_due,
        judged_by=row.judged_by, judged_at=row.judged_at)


def _staff(caller: Caller) -> None:
    if caller.role not in ADMIN_ROLES:
        raise Forbidden("周研判由工会工作人员查看。", "Union staff read the weekly review.",
                        code="forbidden")


async def review(session: AsyncSession, caller: Caller, week_code: str) -> ReviewRead:
    """The week's signals I may see (row-level security: my regions, or my station's)."""
    _staff(caller)
    week = Week.parse(week_code)
    tenants = await directory.my_directory(session, caller)
    partners = await directory.partners(session, tenants.hq.id)
    rows = await repository.signals(session, week.code)
    return ReviewRead(week=week.code, start=week.start, end=week.end,
                      signals=[read(r, tenants, partners) for r in rows])


async def judge(session: AsyncSession, caller: Caller, signal_id: uuid.UUID,
                data: JudgementWrite, *, now: datetime) -> SignalRead:
    """研判: record (or revise) the judgement, action and follow-up node of a signal."""
    _staff(caller)
    row = await repository.signal(session, signal_id, lock=True)
    if row is None:
        raise NotFound("没有该研判信号，或不在您的管辖范围内。", "No such signal.",
                       code="signal_not_found")
    row.judgement, row.action = data.judgement, data.action
    row.follow_up_node, row.follow_up_due = data.follow_up_node, data.follow_up_due
    row.judged_by, row.judged_at = caller.principal, now
    await session.flush()
    await audit.record(session, "weekly_review.judged", tenant_id=row.tenant_id,
                       object_type="review_signal", object_id=row.id,
                       payload={"week": row.week, "kind": row.kind, "place": row.place,
                                "judgement": data.judgement,
                                "follow_up_due": data.follow_up_due.isoformat()})
    tenants = await directory.my_directory(session, caller)
    partners = await directory.partners(session, tenants.hq.id)
    return read(row, tenants, partners)
