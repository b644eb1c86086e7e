"""The register's categories and their typed parameters (pure: no database, no HTTP).

The categories follow the 2026 platform labour rules and algorithm negotiation guideline
(平台劳动规则与算法协商指引) and the EU Platform Work Directive (2024/2831) art. 9: how orders
are allocated, pay and commission, working time and rest, time estimates and routes,
assessment with its rewards and penalties, the grounds for deactivation or restriction, and
automated monitoring. Each category names the bargaining topics (bargaining/board/topics.py)
a change to it touches: such a change is notified ahead and goes to the agenda board for
consultation. Automated monitoring touches none of the board's topics (it is disclosed, not
bargained here), so a change to it needs no notice period."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import msgspec

from flexunion.core.errors import InvalidInput

Category = Literal["order_allocation", "pay_commission", "working_time_rest",
                   "time_estimates_routes", "assessment_rewards_penalties", "deactivation",
                   "monitoring"]


class CategoryInfo(msgspec.Struct, frozen=True):
    zh: str
    en: str
    topics: tuple[str, ...]  # the bargaining topics a change to it touches


CATEGORIES: dict[str, CategoryInfo] = {
    "order_allocation": CategoryInfo("派单规则", "Order allocation", ("dispatch_rules",)),
    "pay_commission": CategoryInfo("收入与抽成", "Pay and commission", ("commission_rates",)),
    "working_time_rest": CategoryInfo("工作时长与休息", "Working time and rest", ("rest",)),
    "time_estimates_routes": CategoryInfo("时间预估与路线规划", "Time estimates and routes",
                                          ("overtime",)),
    "assessment_rewards_penalties": CategoryInfo("考核与奖惩", "Assessment, rewards, penalties",
                                                 ("rewards_penalties",)),
    "deactivation": CategoryInfo("封禁/限制接单依据", "Deactivation and restriction grounds",
                                 ("appeals",)),
    "monitoring": CategoryInfo("自动化监控", "Automated monitoring", ()),
}
assert set(get_args(Category)) == set(CATEGORIES)

Rate = Annotated[float, msgspec.Meta(ge=0, le=1)]
Yuan = Annotated[float, msgspec.Meta(ge=0, le=100_000)]
Minutes = Annotated[int, msgspec.Meta(ge=0, le=24 * 60)]
Hours = Annotated[int, msgspec.Meta(ge=0, le=24 * 90)]
Count = Annotated[int, msgspec.Meta(ge=0, le=1000)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class _Parameters(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class OrderAllocation(_Parameters):
    dispatch_mode: Literal["system_assigned", "grab", "mixed"] | None = None  # 系统派单/抢单
    max_stacked_orders: Count | None = None  # 同时在手的最多订单（顺路单叠加）
    refusal_affects_dispatch: bool | None = None  # 拒单是否影响后续派单
    acceptance_rate_threshold: Rate | None = None


class PayCommission(_Parameters):
    commission_rate: Rate | None = None  # 抽成比例 (0.20 = 20 %)
    base_fee_yuan: Yuan | None = None  # 每单基础配送费
    per_km_yuan: Yuan | None = None
    settlement_days: Annotated[int, msgspec.Meta(ge=0, le=366)] | None = None  # 结算周期


class WorkingTimeRest(_Parameters):
    max_continuous_order_minutes: Minutes | None = None  # 连续接单时长上限
    rest_prompt_enabled: bool | None = None  # 疲劳休息提醒
    forced_rest_minutes: Minutes | None = None  # 达到上限后的强制休息
    max_daily_online_minutes: Minutes | None = None


class TimeEstimatesRoutes(_Parameters):
    estimate_buffer_minutes: Minutes | None = None  # 预计送达时间的冗余
    late_grace_minutes: Minutes | None = None  # 超时判定宽限
    weather_extension_enabled: bool | None = None  # 恶劣天气顺延
    route_source: Literal["platform", "worker_choice"] | None = None


class AssessmentRewardsPenalties(_Parameters):
    late_penalty_yuan: Yuan | None = None  # 超时罚款
    bad_review_penalty_yuan: Yuan | None = None  # 差评罚款
    appeal_window_hours: Hours | None = None  # 申诉期限
    appeal_reply_hours: Hours | None = None  # 平台答复时限


class Deactivation(_Parameters):
    grounds: Annotated[list[Short], msgspec.Meta(max_length=50)] | None = None
    notice_before_deactivation: bool | None = None  # 封禁前告知
    human_review: bool | None = None  # 人工复核
    appeal_window_hours: Hours | None = None
    appeal_reply_hours: Hours | None = None


class Monitoring(_Parameters):
    data_collected: Annotated[list[Short], msgspec.Meta(max_length=50)] | None = None
    retention_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] | None = None


PARAMETERS: dict[str, type[_Parameters]] = {
    "order_allocation": OrderAllocation,
    "pay_commission": PayCommission,
    "working_time_rest": WorkingTimeRest,
    "time_estimates_routes": TimeEstimatesRoutes,
    "assessment_rewards_penalties": AssessmentRewardsPenalties,
    "deactivation": Deactivation,
    "monitoring": Monitoring,
}
assert set(PARAMETERS) == set(CATEGORIES)

# How each parameter reads to a worker (公示), Chinese first.
LABELS: dict[str, tuple[str, str]] = {
    "dispatch_mode": ("派单方式", "Dispatch mode"),
    "max_stacked_orders": ("同时在手订单上限", "Most orders held at once"),
    "refusal_affects_dispatch": ("拒单影响派单", "Refusals affect dispatch"),
    "acceptance_rate_threshold": ("接单率门槛", "Acceptance-rate threshold"),
    "commission_rate": ("抽成比例", "Commission rate"),
    "base_fee_yuan": ("每单基础费（元）", "Base fee per order (yuan)"),
    "per_km_yuan": ("每公里（元）", "Per km (yuan)"),
    "settlement_days": ("结算周期（天）", "Settlement period (days)"),
    "max_continuous_order_minutes": ("连续接单时长上限（分钟）",
                                     "Max continuous order time (minutes)"),
    "rest_prompt_enabled": ("疲劳休息提醒", "Rest prompt"),
    "forced_rest_minutes": ("强制休息（分钟）", "Forced rest (minutes)"),
    "max_daily_online_minutes": ("每日在线上限（分钟）", "Max daily online time (minutes)"),
    "estimate_buffer_minutes": ("预计时间冗余（分钟）", "Estimate buffer (minutes)"),
    "late_grace_minutes": ("超时宽限（分钟）", "Late grace (minutes)"),
    "weather_extension_enabled": ("恶劣天气顺延", "Bad-weather extension"),
    "route_source": ("路线规划", "Routes planned by"),
    "late_penalty_yuan": ("超时罚款（元）", "Late penalty (yuan)"),
    "bad_review_penalty_yuan": ("差评罚款（元）", "Bad-review penalty (yuan)"),
    "appeal_window_hours": ("申诉期限（小时）", "Appeal window (hours)"),
    "appeal_reply_hours": ("平台答复时限（小时）", "Platform reply within (hours)"),
    "grounds": ("封禁/限制接单依据", "Grounds"),
    "notice_before_deactivation": ("封禁前告知", "Notice before deactivation"),
    "human_review": ("人工复核", "Human review"),
    "data_collected": ("采集的数据", "Data collected"),
    "retention_days": ("保存期限（天）", "Kept for (days)"),
}
assert {f for s in PARAMETERS.values() for f in s.__struct_fields__} <= set(LABELS)

VALUES_ZH: dict[str, str] = {
    "system_assigned": "系统派单", "grab": "抢单", "mixed": "派单与抢单结合",
    "platform": "平台规划", "worker_choice": "骑手/司机自选",
}


def check_parameters(category: str, raw: Any) -> dict[str, Any]:
    """The category's parameters, checked (422 `invalid_rule_parameters` naming the field)."""
    struct = PARAMETERS.get(category)
    if struct is None:
        raise InvalidInput(f"没有规则类别 {category}。", f"Unknown rule category '{category}'.",
                           code="unknown_rule_category")
    try:
        value = msgspec.convert(raw if raw is not None else {}, struct)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"规则参数 parameters 有误：{exc}", f"parameters: {exc}",
                           code="invalid_rule_parameters",
                           extra={"category": category}) from exc
    out: dict[str, Any] = msgspec.to_builtins(value)
    return out


def shown(value: Any, field: str) -> str:
    """A parameter's value as a worker reads it (Chinese)."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if field == "commission_rate" or field == "acceptance_rate_threshold":
        return f"{value * 100:g}%"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return VALUES_ZH.get(str(value), str(value))


def topic_details(topic: str, before: tuple[str, dict[str, Any]] | None,
                  after: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """What an agenda item of `topic` made from a rule change states: the rule before and
    after, in that topic's fields (bargaining/board/topics.py), as far as they are known."""
    old_text, old = before if before is not None else (None, {})
    new_text, new = after
    fields: dict[str, dict[str, Any]] = {
        "dispatch_rules": {"rule": cut(old_text) or cut(new_text),
                           "proposed_change": cut(new_text)},
        "commission_rates": {
            "current_rate_pct": (round(old["commission_rate"] * 100, 4)
                                 if "commission_rate" in old else None),
            "proposed_rate_pct": (round(new["commission_rate"] * 100, 4)
                                  if "commission_rate" in new else None),
            "basis": cut(new_text)},
        "rest": {"current_arrangement": cut(old_text), "proposed_arrangement": cut(new_text)},
        "overtime": {"current_rule": cut(old_text), "proposed_rule": cut(new_text)},
        "rewards_penalties": {"current_rule": cut(old_text), "proposed_rule": cut(new_text)},
        "appeals": {"current_process": cut(old_text), "proposed_process": cut(new_text)},
    }
    return {k: v for k, v in fields.get(topic, {}).items() if v is not None}


def cut(text: str | None) -> str | None:
    """A rule's text as an agenda item's field holds it (at most 4000 characters)."""
    return text[:4000] if text else None
