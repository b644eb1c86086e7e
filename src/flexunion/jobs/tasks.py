"""The entrypoints: each one calls a domain's own job function in the run's session.

To add one (e.g. the demand ledger's SLA reminders): write the function in the domain
(`cases/jobs.py`: `async def remind(session, now) -> int`), register it here, and if it is
periodic add a line to schedule.py. The domain never imports flexunion.jobs; to queue a job
from inside a request it calls `flexunion.core.queue.enqueue`."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flexunion.bargaining.ballots import service as ballots
from flexunion.bargaining.participation import service as participation
from flexunion.cases.clocks import sweep as sla
from flexunion.cases.disputes import sweep as dispute_sweep
from flexunion.cases.moves import service as moves
from flexunion.cases.rectification import steps as rectification
from flexunion.cases.weekly import service as weekly
from flexunion.contracts.checkpoints import breaches as contract_breaches
from flexunion.db import retention
from flexunion.jobs.registry import JobRun, register
from flexunion.services.assistance import retention as assistance_retention
from flexunion.services.groups import service as service_groups
from flexunion.services.triggers import service as service_triggers
from flexunion.transfers import jobs as transfers


@register("assistance-purge")
async def assistance_purge(run: JobRun) -> int:
    """帮扶台账: special-category details of cases closed past the retention period, purged
    and audited."""
    assert run.federation_id is not None
    return await assistance_retention.purge_details(
        run.session, run.now, federation_id=run.federation_id,
        defaults=run.settings.assistance)


@register("auto-release")
async def auto_release(run: JobRun) -> int:
    """异地接转: the origin's silence past N working days becomes a release."""
    return len(await transfers.auto_release(run.session, run.now,
                                            federation_id=run.federation_id))


@register("case-follow-transfer")
async def case_follow_transfer(run: JobRun) -> int:
    """跟随转会: a completed transfer's open cases follow the member (once per event)."""
    return await moves.follow_transfers(run.session, run.now)


@register("contracts-breach")
async def contracts_breach(run: JobRun) -> int:
    """违约立案: a checkpoint's breach, or its evidence missing past the date, opens one case."""
    return await contract_breaches.open_cases(
        run.session, run.now, reply_days=run.settings.cases.platform_reply_days)


@register("close-ballots")
async def close_ballots(run: JobRun) -> int:
    """表决: ballots past closes_at are closed, sealed and counted (a pass ratifies)."""
    return len(await ballots.close_due(run.session, now=run.now))


@register("participation")
async def participation_grants(run: JobRun) -> int:
    """流动议事: grant or renew other regions' boards from check-ins and open cases."""
    assert run.federation_id is not None
    b = run.settings.bargaining
    return await participation.grant_due(
        run.session, run.now, federation_id=run.federation_id,
        min_checkins=b.participation_min_checkins, window_days=b.participation_window_days,
        expire_days=b.participation_expire_days)


@register("purge", per_federation=False)
async def purge(run: JobRun) -> int:
    """Retention: expired short-lived personal and request data (db/retention.py)."""
    removed = await retention.purge(
        run.session, checkin_retention_days=run.settings.geo.checkin_retention_days)
    return sum(removed.values())


@register("rectification-carry-over")
async def rectification_carry_over(run: JobRun) -> int:
    """季度整改清单: the last quarter's open items are carried into this one (idempotent)."""
    return await rectification.carry_over_due(run.session, run.now)


@register("service-groups")
async def service_groups_job(run: JobRun) -> int:
    """分层分类: re-evaluate the named members' service groups (queued by an event, an approval,
    a transfer), or everyone in chunks (the daily drift run, a rules change)."""
    assert run.federation_id is not None
    named = run.payload.get("members")
    if named:
        done = await service_groups.evaluate_members(
            run.session, run.federation_id, [uuid.UUID(m) for m in named], now=run.now)
    else:
        done = await service_groups.evaluate_all(run.session, run.federation_id, now=run.now)
    return done.joined + done.left


@register("service-triggers")
async def service_triggers_job(run: JobRun) -> int:
    """系统衔接: the trigger rules on new partner events or weather warnings (queued in their
    transaction); each action once, however often the job runs."""
    assert run.federation_id is not None
    made = await service_triggers.run_events(
        run.session, run.federation_id,
        [uuid.UUID(e) for e in run.payload.get("events", ())], now=run.now)
    return made + await service_triggers.run_warnings(
        run.session, run.federation_id,
        [uuid.UUID(w) for w in run.payload.get("warnings", ())], now=run.now)


@register("sla-sweep")
async def sla_sweep(run: JobRun) -> int:
    """临期提醒 / 超期升级: remind clocks near their deadline, escalate breached ones, and
    escalate a platform's overdue answer in a dispute (its reasons, requested evidence)."""
    clocks = await sla.sweep(run.session, run.now,
                             within=timedelta(minutes=run.settings.cases.reminder_minutes))
    return clocks + await dispute_sweep.escalate(run.session, run.now)


@register("weekly-review")
async def weekly_review(run: JobRun) -> int:
    """周研判: every region's signals of the week just ended (or payload `week`), idempotent."""
    assert run.federation_id is not None
    week = run.payload.get("week")
    return await weekly.run_due(run.session, run.federation_id, run.now, run.settings.cases,
                                week=str(week) if week else None)
