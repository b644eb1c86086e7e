"""核验节点 in the console (协议条款 menu): on a clause in force, plan its checkpoints (once, or
each quarter of the term, with the working days the partner has for its evidence) and list
them with their status and due dates; a checkpoint's page shows every evidence submission
(its sha256, the condition and its version, the values read, the result), the three
signatures (业务 / 人力 / 工会) with the union cadre's 签署 button, and the partner's objection
with the decision form (维持 / 撤销). The same services as /v1/admin/contracts; row-level
security decides what is mine (another's checkpoint is the 404 page)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.bargaining.evidence.store import EvidenceStore
from flexunion.config import Settings
from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.contracts.agreements import service as agreements
from flexunion.contracts.checkpoints import files as evidence_files
from flexunion.contracts.checkpoints import service
from flexunion.contracts.checkpoints.http import download
from flexunion.contracts.checkpoints.models import ClauseCheckpoint
from flexunion.contracts.checkpoints.schemas import (
    OBJECTIONS,
    ROLES,
    STATUSES,
    CheckpointPlan,
)
from flexunion.core.clock import Clock
from flexunion.core.context import Caller

ClauseId = Annotated[uuid.UUID, PathParameter()]
CheckpointId = Annotated[uuid.UUID, PathParameter()]
SCHEDULES = {"quarterly": ("每季度", "Every quarter"),
             "once": ("一次（指定日期）", "Once, on a date")}
OUTCOMES = {"rejected": ("维持违约（驳回复议）", "Keep the breach (objection rejected)"),
            "upheld": ("撤销违约（复议成立）", "Set the breach aside (objection upheld)")}
PLAN_FIELDS = {"checkpoint_outside_term": "due_on", "checkpoint_due_on": "due_on"}


async def _rows(session: AsyncSession, rows: list[ClauseCheckpoint], now: datetime,
                ) -> list[dict[str, Any]]:
    """Each checkpoint with its evaluations, signatures, objection and status."""
    ids = [r.id for r in rows]
    evals, sigs = await service.evaluations(session, ids), await service.signatures(session, ids)
    objected, gone = await service.objections(session, ids), await service.superseded(session, ids)
    attached = await evidence_files.listed(session, ids)
    return [{"cp": r, "evaluations": evals[r.id], "files": attached[r.id],
             "signatures": {s.role: s for s in sigs[r.id]},
             "objection": objected.get(r.id), "verified": bool(evals[r.id])
             and service.verified(sigs[r.id]),
             "status": service.status_of(r, evals[r.id], sigs[r.id], now, objected.get(r.id),
                                         superseded=r.id in gone)}
            for r in rows]


async def _clause_page(request: Request[Any, Any, Any], session: AsyncSession, clock: Clock,
                       clause_id: uuid.UUID, form: Form | None = None,
                       status: int = 200) -> Response[str]:
    clause = await agreements.clause(session, clause_id)
    agreement = await agreements.access(session, clause.agreement_id)
    rows = list(await service.listed(session, clause_id=clause.id))
    return html(request, "contracts/checkpoints.html", status=status, menu="contracts",
                form=form, clause=clause, agreement=agreement,
                checkpoints=await _rows(session, rows, clock.now()), statuses=STATUSES,
                schedules=SCHEDULES, done=request.query_params.get("done"),
                can_plan=clause.status == "in_force" and clause.condition is not None)


@get("/clauses/{clause_id:uuid}/checkpoints", include_in_schema=False)
async def clause_checkpoints(request: Request[Any, Any, Any],
                             session: NamedDependency[AsyncSession],
                             clock: NamedDependency[Clock], clause_id: ClauseId) -> Response[str]:
    return await _clause_page(request, session, clock, clause_id)


@post("/clauses/{clause_id:uuid}/checkpoints", include_in_schema=False)
async def plan_checkpoints(request: Request[Any, Any, Any],
                           session: NamedDependency[AsyncSession],
                           clock: NamedDependency[Clock], clause_id: ClauseId) -> Response[str]:
    form = await read_form(request, speaker(request))
    schedule = form.choice("schedule", SCHEDULES)
    days_raw = form.text("evidence_days", max_length=2) or ""
    days = int(days_raw) if days_raw.isdigit() else None
    if days is None or days > 60:
        form.errors["evidence_days"] = form.t("须为 0 至 60 的整数。",
                                              "A whole number from 0 to 60.")
    due_on = form.text("due_on", required=schedule == "once", max_length=10)
    if schedule == "quarterly":
        due_on = None
    if form.ok and schedule is not None and days is not None:
        try:
            data = CheckpointPlan(schedule=schedule,  # type: ignore[arg-type]
                                  evidence_days=days,
                                  due_on=None if due_on is None else date.fromisoformat(due_on))
        except ValueError:
            form.errors["due_on"] = form.t("日期格式须为 YYYY-MM-DD。", "A date: YYYY-MM-DD.")
        else:
            await attempt(form, service.plan(session, clause_id, data, now=clock.now()),
                          PLAN_FIELDS)
    if not form.ok:
        return await _clause_page(request, session, clock, clause_id, form, form.status)
    return see_other(f"/console/contracts/clauses/{clause_id}/checkpoints?done=planned")


async def _checkpoint_page(request: Request[Any, Any, Any], session: AsyncSession,
                           caller: Caller, clock: Clock, checkpoint_id: uuid.UUID,
                           form: Form | None = None, status: int = 200) -> Response[str]:
    cp = await service.checkpoint(session, checkpoint_id)
    clause = await agreements.clause(session, cp.clause_id)
    agreement = await agreements.access(session, cp.agreement_id)
    row = (await _rows(session, [cp], clock.now()))[0]
    union = row["signatures"].get("union")
    return html(request, "contracts/checkpoint.html", status=status, menu="contracts",
                form=form, row=row, cp=cp, clause=clause, agreement=agreement,
                statuses=STATUSES, roles=ROLES, objections=OBJECTIONS, outcomes=OUTCOMES,
                done=request.query_params.get("done"),
                can_sign=bool(row["evaluations"]) and union is None and all(
                    s.signer != caller.principal for s in row["signatures"].values()))


@get("/checkpoints/{checkpoint_id:uuid}", include_in_schema=False)
async def checkpoint_page(request: Request[Any, Any, Any],
                          session: NamedDependency[AsyncSession],
                          caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                          checkpoint_id: CheckpointId) -> Response[str]:
    return await _checkpoint_page(request, session, caller, clock, checkpoint_id)


@get("/checkpoints/{checkpoint_id:uuid}/files/{file_id:uuid}", include_in_schema=False)
async def checkpoint_file(session: NamedDependency[AsyncSession],
                          attachments: NamedDependency[EvidenceStore],
                          checkpoint_id: CheckpointId,
                          file_id: Annotated[uuid.UUID, PathParameter()]) -> Stream:
    """A file of the checkpoint's evidence, as the API sends it; out of scope: the 404 page."""
    cp = await service.checkpoint(session, checkpoint_id)
    return await download(attachments, await evidence_files.one(session, cp, file_id))


@post("/checkpoints/{checkpoint_id:uuid}/sign", include_in_schema=False)
async def sign_checkpoint(request: Request[Any, Any, Any],
                          session: NamedDependency[AsyncSession],
                          caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                          checkpoint_id: CheckpointId) -> Response[str]:
    form = await read_form(request, speaker(request))
    await attempt(form, service.sign(session, caller, checkpoint_id, now=clock.now()))
    if not form.ok:
        return await _checkpoint_page(request, session, caller, clock, checkpoint_id, form,
                                      form.status)
    return see_other(f"/console/contracts/checkpoints/{checkpoint_id}?done=signed")


@post("/checkpoints/{checkpoint_id:uuid}/decision", include_in_schema=False)
async def decide_objection(request: Request[Any, Any, Any],
                           session: NamedDependency[AsyncSession],
                           caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                           settings: NamedDependency[Settings],
                           checkpoint_id: CheckpointId) -> Response[str]:
    form = await read_form(request, speaker(request))
    outcome = form.choice("outcome", OUTCOMES)
    note = form.text("note", max_length=4000)
    objection = (await service.objections(session, [checkpoint_id])).get(checkpoint_id)
    if objection is None:
        form.problem = form.t("该核验节点没有待决定的复议。",
                              "The checkpoint has no objection to decide.")
    if form.ok and objection is not None and outcome is not None and note is not None:
        await attempt(form, service.decide(session, objection.id, outcome, note,
                                           reopen_days=settings.cases.reopen_days,
                                           now=clock.now()))
    if not form.ok:
        return await _checkpoint_page(request, session, caller, clock, checkpoint_id, form,
                                      form.status)
    return see_other(f"/console/contracts/checkpoints/{checkpoint_id}?done=decided")


router = Router("/contracts", route_handlers=[
    clause_checkpoints, plan_checkpoints, checkpoint_page, checkpoint_file, sign_checkpoint,
    decide_objection])
