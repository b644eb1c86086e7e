"""定时作业 The periodic schedules, declared in one place.

Each schedule, when its cron expression fires (UTC, pgqueuer's scheduler: one worker of
the fleet takes each tick), queues its entrypoint: once per federation for a per-federation
entrypoint — each federation then runs in its own job, transaction and scope, and is retried
on its own — or once for a service-wide one. A federation's job still waiting or running
from the last tick is not queued again (dedupe key `<schedule>:<federation>`).

A domain adds a schedule by adding a line here and an entrypoint in tasks.py; docs/jobs.md
lists them (tests/jobs/test_schema.py checks the two agree)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    cron: str  # minute hour day month weekday, UTC
    entrypoint: str
    what: str


SCHEDULES: tuple[Schedule, ...] = (
    # 19:40 UTC = 03:40 Beijing.
    Schedule("assistance-purge", "40 19 * * *", "assistance-purge",
             "帮扶特殊类别信息清理 purge the health and family details kept past retention"),
    Schedule("auto-release", "*/5 * * * *", "auto-release",
             "异地接转超期自动转出 release transfers whose origin let N working days pass"),
    Schedule("case-follow-transfer", "* * * * *", "case-follow-transfer",
             "诉求跟随转会 a completed transfer's open cases follow the member to the new region"),
    Schedule("close-ballots", "* * * * *", "close-ballots",
             "表决到期结束并计票 close, seal and count ballots past closes_at"),
    Schedule("contracts-breach", "*/10 * * * *", "contracts-breach",
             "协议核验违约立案 a checkpoint's breach or missing evidence opens one case"),
    # 18:20 UTC = 02:20 Beijing, after the day's check-ins.
    Schedule("participation", "20 18 * * *", "participation",
             "流动议事授权 grant/renew other regions' boards from check-ins and open cases"),
    Schedule("purge", "17 * * * *", "purge",
             "过期数据清理 retention purge (idempotency keys, OTP, sessions, check-ins, job log)"),
    # 19:10 UTC = 03:10 Beijing: every member's service groups, for drift (time passing).
    Schedule("service-groups", "10 19 * * *", "service-groups",
             "服务分组全量重算 re-evaluate every member's service groups (new-registration ends)"),
    Schedule("sla-sweep", "*/5 * * * *", "sla-sweep",
             "临期提醒与超期升级 remind SLA clocks near their deadline, escalate breached ones"),
    # 16:30 UTC on Sunday = 00:30 Beijing on Monday: the ISO week (Beijing) just ended.
    Schedule("weekly-review", "30 16 * * 0", "weekly-review",
             "周研判 each region's signals of the week just ended against its 4-week baseline"),
    # 00:05 UTC on the first day of a quarter = 08:05 Beijing, the quarter's first day too.
    Schedule("rectification-carry-over", "5 0 1 1,4,7,10 *", "rectification-carry-over",
             "季度整改清单结转 carry the last quarter's open rectification items into this one"),
)


def by_name(name: str) -> Schedule:
    for schedule in SCHEDULES:
        if schedule.name == name:
            return schedule
    raise LookupError(f"no schedule named {name!r}")
