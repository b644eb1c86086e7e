"""季度合规核查 (its own menu): pick a quarter; one row per partner — checkpoints due, met,
breached, evidence missing, under objection, awaiting, not evaluable, set aside, verified —
the same tally as GET /v1/admin/contracts/compliance (checkpoints.service.compliance), its
CSV (compliance.csv_bytes, the API export's bytes), and per partner a chart of the last
quarters' counts, drawn here as inline SVG (no script, no CDN: the CSP allows neither)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.console.render import html
from flexunion.contracts.checkpoints import compliance, service
from flexunion.core.clock import BEIJING, Clock
from flexunion.core.context import Caller

QuarterQ = Annotated[str | None, QueryParameter(max_length=8)]
HISTORY = 4  # quarters in each partner's chart, the chosen one last
SERIES = (("met", "达标", "Met", "#2e8b57"), ("breached", "未达标", "Breached", "#c0392b"),
          ("evidence_missing", "材料逾期", "Evidence missing", "#e67e22"),
          ("under_objection", "复议中", "Under objection", "#7d5ba6"),
          ("awaiting_evidence", "待提交", "Awaiting", "#98a2b3"))
COLUMNS = (("checkpoints", "核验节点", "Checkpoints"), ("met", "达标", "Met"),
           ("breached", "未达标", "Breached"), ("evidence_missing", "材料逾期", "Evidence missing"),
           ("under_objection", "复议中", "Under objection"),
           ("awaiting_evidence", "待提交", "Awaiting evidence"),
           ("evaluation_failed", "无法判定", "Not evaluable"),
           ("breach_set_aside", "复议撤销", "Set aside"),
           ("superseded", "已被续签取代", "Superseded"), ("verified", "三方已核验", "Verified"))
BAR_W, GAP, HEIGHT, LEFT = 36, 18, 120, 24


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def earlier(quarter: str, n: int) -> list[str]:
    """`n` quarters ending with `quarter`, oldest first."""
    year, q = int(quarter[:4]), int(quarter[5])
    index = year * 4 + q - 1
    return [f"{i // 4}Q{i % 4 + 1}" for i in range(index - n + 1, index + 1)]


def chart(quarters: list[str], counts: dict[str, compliance.PartnerCompliance | None],
          ) -> dict[str, Any]:
    """A stacked bar per quarter (the statuses in SERIES), scaled to the partner's busiest."""
    top = max([1, *(c.checkpoints for c in counts.values() if c is not None)])
    bars = []
    for i, q in enumerate(quarters):
        row = counts.get(q)
        x, y, parts = LEFT + i * (BAR_W + GAP), float(HEIGHT), []
        for key, zh, en, colour in SERIES:
            n = getattr(row, key) if row is not None else 0
            if n:
                h = n * HEIGHT / top
                y -= h
                parts.append({"key": key, "n": n, "y": round(y, 1), "h": round(h, 1),
                              "colour": colour, "zh": zh, "en": en})
        bars.append({"quarter": q, "x": x, "parts": parts,
                     "total": row.checkpoints if row is not None else 0})
    return {"bars": bars, "top": top, "width": LEFT + len(quarters) * (BAR_W + GAP),
            "height": HEIGHT, "bar_w": BAR_W}


def _chosen(clock: Clock, quarter: str | None) -> tuple[str, bool]:
    if quarter and compliance.QUARTER.match(quarter):
        return quarter, True
    return quarter_of(clock.now().astimezone(BEIJING).date()), not quarter


@get("/", include_in_schema=False)
async def compliance_page(request: Request[Any, Any, Any],
                          session: NamedDependency[AsyncSession],
                          caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                          quarter: QuarterQ = None) -> Response[str]:
    chosen, valid = _chosen(clock, quarter)
    now = clock.now()
    history = earlier(chosen, HISTORY)
    by_quarter = {q: await service.compliance(session, caller, q, now=now) for q in history}
    rows = by_quarter[chosen]
    partners = sorted({r.partner for runs in by_quarter.values() for r in runs})
    charts = [{"partner": p, **chart(history, {q: next((r for r in by_quarter[q]
                                                          if r.partner == p), None)
                                               for q in history})} for p in partners]
    return html(request, "compliance/run.html", status=200 if valid else 422,
                menu="compliance", quarter=chosen, typed=quarter, valid=valid, rows=rows,
                columns=COLUMNS, series=SERIES, charts=charts,
                choices=earlier(quarter_of(now.astimezone(BEIJING).date()), 8)[::-1])


@get("/export", include_in_schema=False)
async def compliance_export(session: NamedDependency[AsyncSession],
                            caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                            quarter: QuarterQ = None) -> Response[bytes]:
    chosen, _ = _chosen(clock, quarter)
    rows = await service.compliance(session, caller, chosen, now=clock.now())
    return Response(compliance.csv_bytes(rows), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="compliance-{chosen}.csv"'})


router = Router("/compliance", route_handlers=[compliance_page, compliance_export])
