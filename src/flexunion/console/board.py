"""协商清单: the agenda board the union runs — every item of my subtree and the federation's,
in one column per stage of its life (已收集 → 审核中 → 已列入协商清单 → 协商中 → …), narrowed by
topic, platform, region and a text query; answer many items at once with a template (答复模板).

An item's page shows what the topic needs to be negotiable (current and proposed rate, the
dispatch rule and what it does to riders, the appeal deadline …), where it came from
(reports, proposals, merged items, evidence), its whole timeline, the steps lifecycle.py
allows from where it stands, the negotiation rounds with the data the platform promised,
and its ratification ballots (their own pages are ballots.py). Every list and every step is
the API's service call under the same row-level security."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.ballots import service as ballots
from flexunion.bargaining.ballots.schemas import admin_read as ballot_read
from flexunion.bargaining.board import answers, service
from flexunion.bargaining.board.lifecycle import ALLOWED, BALLOTABLE, STATUSES
from flexunion.bargaining.board.schemas import (
    AnswerCreate,
    TemplatePut,
    admin_read,
    detail_read,
    event_reads,
    template_read,
)
from flexunion.bargaining.board.service import NOT_TARGETS
from flexunion.bargaining.board.topics import DETAILS, TOPICS
from flexunion.bargaining.evidence import service as evidence
from flexunion.bargaining.evidence.schemas import attachment_read
from flexunion.bargaining.rounds import service as rounds
from flexunion.bargaining.rounds.schemas import RoundCreate, party_read, promise_read
from flexunion.config import Settings
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.i18n import BEIJING
from flexunion.console.render import html, see_other, speaker
from flexunion.contracts.agreements import service as agreements
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import DomainError, InvalidInput
from flexunion.federation import directory

PER_COLUMN = 30  # cards per column; the count above it says how many there are in all
ItemId = Annotated[uuid.UUID, PathParameter()]
Filter = Annotated[str | None, QueryParameter(max_length=64)]
Query = Annotated[str | None, QueryParameter(max_length=200)]
CODE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")  # a template's code, as the API's
# A topic's fields as the page labels them: (zh, en, unit zh, unit en), in the topic's order.
FIELDS: dict[str, tuple[str, str, str, str]] = {
    "current_rate_pct": ("现行抽成比例", "Current rate", "%", "%"),
    "proposed_rate_pct": ("提议抽成比例", "Proposed rate", "%", "%"),
    "order_type": ("订单类型", "Order type", "", ""),
    "basis": ("现行计算方式", "How it is computed now", "", ""),
    "rule": ("派单规则", "Dispatch rule", "", ""),
    "observed_effect": ("实际影响", "Observed effect", "", ""),
    "proposed_change": ("提议修改", "Proposed change", "", ""),
    "affected_share_pct": ("受影响人员比例", "Share of workers affected", "%", "%"),
    "current_rule": ("现行口径", "Current rule", "", ""),
    "proposed_rule": ("提议口径", "Proposed rule", "", ""),
    "grace_minutes_proposed": ("提议宽限时间", "Proposed grace period", " 分钟", " min"),
    "current_process": ("现行申诉流程", "Current appeal process", "", ""),
    "current_deadline_hours": ("现行答复时限", "Current answer deadline", " 小时", " h"),
    "proposed_process": ("提议申诉流程", "Proposed appeal process", "", ""),
    "proposed_deadline_hours": ("提议答复时限", "Proposed answer deadline", " 小时", " h"),
    "filing_window_hours": ("申诉提交期限", "Window to file an appeal", " 小时", " h"),
    "current_arrangement": ("现行休息安排", "Current arrangement", "", ""),
    "proposed_arrangement": ("提议休息安排", "Proposed arrangement", "", ""),
    "max_continuous_hours_proposed": ("提议最长连续工作", "Proposed max. continuous work",
                                      " 小时", " h"),
    "examples": ("实例", "Examples", "", ""),
    "description": ("问题描述", "Description", "", ""),
}
STEP_FIELDS = {"reason_required": "reason"}
BALLOT_FIELDS = {"invalid_closes_at": "closes_at"}
ROUND_FIELDS = {"parties_incomplete": "union_party"}
TEMPLATE_FIELDS = {"invalid_to_status": "to_status", "template_malformed": "body",
                   "template_placeholder_unknown": "body"}


def _htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def detail_fields(topic: str, details: dict[str, Any]) -> list[tuple[str, tuple[str, ...], Any]]:
    """The item's structured details as (field, labels, value), in the topic's order."""
    names = DETAILS[topic].__struct_fields__
    return [(f, FIELDS.get(f, (f, f, "", "")), details[f]) for f in names if f in details]


# ---- the board -----------------------------------------------------------------------------


async def _board(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller, *,
                 topic: str | None = None, partner: str | None = None,
                 region: str | None = None, q: str | None = None, form: Form | None = None,
                 status: int = 200) -> Response[str]:
    if topic and topic not in TOPICS:
        raise InvalidInput(f"没有议题 {topic}。", f"Unknown topic '{topic}'.",
                           code="invalid_topic")
    filters = await service.filters(session, caller, topic=topic, status=None,
                                    partner=partner, region=region, q=q)
    counts = await service.counts(session, filters)
    names = await service.names(session, caller)
    columns = []
    for key, (zh, en) in STATUSES.items():
        rows = await service.page(session, msgspec.structs.replace(filters, status=key),
                                  after=None, limit=PER_COLUMN) if counts[key] else []
        columns.append({"status": key, "zh": zh, "en": en, "count": counts[key],
                        "items": [admin_read(i, names) for i in rows]})
    tenants = await directory.my_directory(session, caller)
    partners = await directory.partners(session, tenants.hq.id)
    context: dict[str, Any] = {
        "columns": columns, "partners": partners, "tenants": tenants,
        "chosen": {"topic": topic or "", "partner": partner or "", "region": region or "",
                   "q": q or ""},
        "filtered": any((topic, partner, region, q)),
    }
    if _htmx(request) and request.method == "GET":
        return html(request, "board/_columns.html", **context)
    regions = [e for e in tenants.values() if e.kind in ("hq", "regional")]
    templates = [template_read(t, names) for t in await answers.templates(session)]
    return html(request, "board/board.html", status=status, menu="board", topics=TOPICS,
                regions=regions, templates=templates, form=form,
                targets=[s for s in STATUSES if s not in NOT_TARGETS], status_names=STATUSES,
                done=request.query_params.get("done"), **context)


@get("/", include_in_schema=False)
async def board(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                caller: NamedDependency[Caller], topic: Filter = None, partner: Filter = None,
                region: Filter = None, q: Query = None) -> Response[str]:
    """The board (or, for HTMX as the filters change, just its columns)."""
    return await _board(request, session, caller, topic=topic or None,
                        partner=partner or None, region=region or None,
                        q=(q or "").strip() or None)


@post("/answers", include_in_schema=False)
async def bulk_answer(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller],
                      clock: NamedDependency[Clock]) -> Response[str]:
    """批量答复: one template on every ticked card, all or nothing (the API's answer)."""
    form = await read_form(request, speaker(request))
    codes = [t.code for t in await answers.templates(session)]
    template = form.choice("template", codes)
    reason = form.text("answer_reason", required=False, max_length=2000)
    ticked: list[str] = [v for v in (await request.form()).getall("item_ids", [])
                         if isinstance(v, str)]
    try:
        ids = [uuid.UUID(v) for v in dict.fromkeys(ticked)][:200]
    except ValueError:
        ids = []
    if not ids:
        form.errors["item_ids"] = form.t("请在清单上勾选要答复的事项。",
                                         "Tick the items to answer on the board.")
    if not form.ok or template is None:
        return await _board(request, session, caller, form=form, status=422)
    await attempt(form, answers.answer(
        session, caller, AnswerCreate(template=template, item_ids=ids, reason=reason),
        now=clock.now()))
    if not form.ok:
        return await _board(request, session, caller, form=form, status=form.status)
    return see_other("/console/board?done=answered", htmx=_htmx(request))


@post("/templates", include_in_schema=False)
async def save_template(request: Request[Any, Any, Any],
                        session: NamedDependency[AsyncSession], caller: NamedDependency[Caller],
                        clock: NamedDependency[Clock]) -> Response[str]:
    """保存答复模板 (my union's; the same code again replaces it)."""
    form = await read_form(request, speaker(request))
    code = form.text("code", max_length=64)
    if code and not CODE.fullmatch(code):
        form.errors["code"] = form.t("代码只能用小写字母、数字和 _ . -。",
                                     "Use lower-case letters, digits and _ . - only.")
    values = {"title_zh": form.text("title_zh", max_length=200),
              "title_en": form.text("title_en", max_length=200),
              "body": form.text("body", max_length=8000),
              "to_status": form.choice("to_status",
                                       [s for s in STATUSES if s not in NOT_TARGETS],
                                       required=False)}
    if not form.ok or code is None:
        return await _board(request, session, caller, form=form, status=422)
    await attempt(form, answers.put_template(session, caller, code,
                                             msgspec.convert(values, TemplatePut),
                                             now=clock.now()), TEMPLATE_FIELDS)
    if not form.ok:
        return await _board(request, session, caller, form=form, status=form.status)
    return see_other("/console/board?done=template", htmx=_htmx(request))


# ---- one item ------------------------------------------------------------------------------


async def item_page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                    clock: Clock, item_id: uuid.UUID, *, forms: dict[str, Form] | None = None,
                    status: int = 200) -> Response[str]:
    """The item's page; `forms` holds a refused form (by name) to show with its errors."""
    item = await service.access_item(session, item_id)
    names = await service.names(session, caller)
    today = rounds.beijing_today(clock.now())
    found = await rounds.item_negotiation(session, item)
    tenants = await directory.my_directory(session, caller)
    partners = await directory.partners(session, tenants.hq.id)
    on_item = await ballots.item_ballots(session, item)
    sources = await service.sources(session, item.id)
    titles = await service.item_titles(session, [
        i for s in sources for i in (s.from_item_id, s.moved_to_item_id) if i] + (
        [item.merged_into_id] if item.merged_into_id else []))
    return html(
        request, "board/item.html", status=status, menu="board",
        item=detail_read(item, names, sources),
        fields=detail_fields(item.topic, item.details),
        partner=partners.get(names.partners.get(item.partner_id, "")),
        scope=tenants.get(names.tenants.get(item.tenant_id, "")),
        timeline=event_reads(await service.timeline(session, item.id)),
        steps=[s for s in STATUSES if s in ALLOWED[item.status]], statuses=STATUSES,
        rounds=[{"round": r, "position": ri, "parties": [party_read(p) for p in r.parties]}
                for r, ri in found.rounds],
        promises=[promise_read(p, names.partners, today) for p in found.promises],
        negotiable=item.status in rounds.NEGOTIABLE, ballotable=item.status in BALLOTABLE,
        ballots=[ballot_read(b, item_title=item.title, scope=None,
                             voted=await ballots.voted_count(session, b.id)) for b in on_item],
        attachments=[attachment_read(a) for a in await evidence.of_item(session, item.id)],
        clauses=await agreements.clauses_of_items(session, [item.id]),
        titles=titles, forms=forms or {}, done=request.query_params.get("done"),
        today=today)


@get("/{item_id:uuid}", include_in_schema=False)
async def item_detail(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                      item_id: ItemId) -> Response[str]:
    return await item_page(request, session, caller, clock, item_id)


@post("/{item_id:uuid}/step", include_in_schema=False)
async def item_step(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                    item_id: ItemId) -> Response[str]:
    """事项流转: one step of the lifecycle, with its reason (the API's transition)."""
    form = await read_form(request, speaker(request))
    target = form.choice("to", STATUSES)
    reason = form.text("reason", max_length=2000)
    if not form.ok or target is None or reason is None:
        return await item_page(request, session, caller, clock, item_id, forms={"step": form},
                               status=422)
    await attempt(form, service.move(session, item_id, target, reason=reason, now=clock.now()),
                  STEP_FIELDS)
    if not form.ok:
        return await item_page(request, session, caller, clock, item_id, forms={"step": form},
                               status=form.status)
    return see_other(f"/console/board/{item_id}?done={target}", htmx=_htmx(request))


@post("/{item_id:uuid}/rounds", include_in_schema=False)
async def record_round(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                       item_id: ItemId) -> Response[str]:
    """记录一轮协商 on this item with its platform: who sat at the table, the minutes, each
    side's position, and (optionally) one promise of data with its due date."""
    form = await read_form(request, speaker(request))
    held_on = _date(form, "held_on", required=True)
    union_party = form.text("union_party", max_length=100)
    platform_party = form.text("platform_party", max_length=100)
    minutes = form.text("minutes", max_length=50_000)
    union_position = form.text("union_position", max_length=5000)
    platform_position = form.text("platform_position", required=False, max_length=5000)
    outcome = form.text("outcome", required=False, max_length=2000)
    location = form.text("location", required=False, max_length=200)
    next_steps = form.text("next_steps", required=False, max_length=5000)
    promise = form.text("promise", required=False, max_length=2000)
    due_on = _date(form, "promise_due", required=bool(promise))
    if not form.ok:
        return await item_page(request, session, caller, clock, item_id,
                               forms={"round": form}, status=422)
    item = await service.access_item(session, item_id)
    partner = (await service.names(session, caller)).partners.get(item.partner_id, "")
    body = {
        "partner": partner, "held_on": held_on, "minutes": minutes, "location": location,
        "next_steps": next_steps,
        "parties": [{"side": "union", "name": union_party},
                    {"side": "platform", "name": platform_party}],
        "items": [{"item_id": item_id, "union_position": union_position,
                   "platform_position": platform_position, "outcome": outcome}],
        "promises": [{"item_id": item_id, "description": promise, "due_on": due_on}]
        if promise else [],
    }
    try:
        data = msgspec.convert({k: v for k, v in body.items() if v is not None}, RoundCreate)
        await rounds.record_round(session, caller, data, now=clock.now())
    except msgspec.ValidationError as exc:
        form.problem = form.t(f"内容有误：{exc}", f"Something is wrong: {exc}")
        return await item_page(request, session, caller, clock, item_id,
                               forms={"round": form}, status=422)
    except DomainError as exc:
        if exc.status == 404:
            raise
        form.refused(exc, ROUND_FIELDS)
        return await item_page(request, session, caller, clock, item_id,
                               forms={"round": form}, status=exc.status)
    return see_other(f"/console/board/{item_id}?done=round", htmx=_htmx(request))


def _date(form: Form, name: str, *, required: bool) -> date | None:
    raw = form.text(name, required=required, max_length=10)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        form.errors[name] = form.t("请填写日期，如 2025-06-30。", "Enter a date, e.g. 2025-06-30.")
        return None


@post("/{item_id:uuid}/ballots", include_in_schema=False)
async def open_ballot(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                      settings: NamedDependency[Settings], item_id: ItemId) -> Response[str]:
    """发起批准表决 on an agreed item: the roll of active members in its scope is frozen now."""
    form = await read_form(request, speaker(request))
    question = form.text("question", required=False, max_length=500)
    raw = form.text("closes_at", required=False, max_length=20)
    closes_at = None
    if raw:
        try:  # a datetime-local field: Beijing time
            closes_at = datetime.fromisoformat(raw).replace(tzinfo=BEIJING)
        except ValueError:
            form.errors["closes_at"] = form.t("请填写截止时间，如 2025-06-30 18:00。",
                                              "Enter when it closes, e.g. 2025-06-30 18:00.")
    if not form.ok:
        return await item_page(request, session, caller, clock, item_id,
                               forms={"ballot": form}, status=422)
    try:
        ballot = await ballots.open_ballot(
            session, item_id, question=question, closes_at=closes_at, quorum=None,
            threshold=None, now=clock.now(), settings=settings.bargaining)
    except DomainError as exc:
        if exc.status == 404:
            raise
        form.refused(exc, BALLOT_FIELDS)
        return await item_page(request, session, caller, clock, item_id,
                               forms={"ballot": form}, status=exc.status)
    return see_other(f"/console/board/ballots/{ballot.id}?done=opened", htmx=_htmx(request))


router = Router("/board", route_handlers=[board, bulk_answer, save_template, item_detail,
                                          item_step, record_round, open_ballot])
