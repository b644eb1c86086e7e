"""What each bargaining topic must say (议题结构化字段).

An agenda item carries the fields its topic needs to be negotiable: a commission item the
current and proposed rate, a dispatch-rule item the rule and what it does to riders, an
appeal item the review process and its deadlines. A worker's report may fill in as much
as it knows (no field required), but never a field the topic does not have."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import msgspec

from flexunion.core.errors import InvalidInput

Topic = Literal["dispatch_rules", "commission_rates", "overtime", "appeals", "rest",
                "rewards_penalties", "other"]
TOPICS: dict[str, tuple[str, str]] = {
    "dispatch_rules": ("派单规则", "Dispatch rules"),
    "commission_rates": ("抽成比例", "Commission rates"),
    "overtime": ("超时判定", "Late and overtime determination"),
    "appeals": ("申诉复核", "Appeal review"),
    "rest": ("休息安排", "Rest arrangements"),
    "rewards_penalties": ("奖惩口径", "Rewards and penalties"),
    "other": ("其他", "Other"),
}
assert set(get_args(Topic)) == set(TOPICS)

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Hours = Annotated[int, msgspec.Meta(ge=1, le=24 * 90)]
Minutes = Annotated[int, msgspec.Meta(ge=0, le=24 * 60)]


class _Details(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class CommissionDetails(_Details):
    current_rate_pct: Percent | None = None
    proposed_rate_pct: Percent | None = None
    order_type: Short | None = None  # e.g. 外卖/跑腿/网约车快车
    basis: Text | None = None  # how the rate is computed today (per order, tiered …)


class DispatchDetails(_Details):
    rule: Text | None = None  # the rule as riders experience it
    observed_effect: Text | None = None  # what it does: 顺路单叠加, 拒单降级 …
    proposed_change: Text | None = None
    affected_share_pct: Percent | None = None


class OvertimeDetails(_Details):
    current_rule: Text | None = None  # 超时判定口径 today
    observed_effect: Text | None = None
    proposed_rule: Text | None = None
    grace_minutes_proposed: Minutes | None = None


class AppealDetails(_Details):
    current_process: Text | None = None
    current_deadline_hours: Hours | None = None  # how long the platform takes to answer
    proposed_process: Text | None = None
    proposed_deadline_hours: Hours | None = None
    filing_window_hours: Hours | None = None  # how long a worker has to appeal


class RestDetails(_Details):
    current_arrangement: Text | None = None
    proposed_arrangement: Text | None = None
    max_continuous_hours_proposed: Annotated[int, msgspec.Meta(ge=1, le=24)] | None = None


class RewardsPenaltiesDetails(_Details):
    current_rule: Text | None = None
    proposed_rule: Text | None = None
    examples: Text | None = None


class OtherDetails(_Details):
    description: Text | None = None


DETAILS: dict[str, type[_Details]] = {
    "commission_rates": CommissionDetails,
    "dispatch_rules": DispatchDetails,
    "overtime": OvertimeDetails,
    "appeals": AppealDetails,
    "rest": RestDetails,
    "rewards_penalties": RewardsPenaltiesDetails,
    "other": OtherDetails,
}

# What an agenda item of each topic must state to be negotiable.
REQUIRED: dict[str, tuple[str, ...]] = {
    "commission_rates": ("current_rate_pct", "proposed_rate_pct"),
    "dispatch_rules": ("rule", "observed_effect"),
    "overtime": ("current_rule", "proposed_rule"),
    "appeals": ("current_process", "current_deadline_hours"),
    "rest": ("current_arrangement", "proposed_arrangement"),
    "rewards_penalties": ("current_rule", "proposed_rule"),
    "other": ("description",),
}


def check_details(topic: str, raw: Any, *, complete: bool) -> dict[str, Any]:
    """The topic's fields, checked; `complete` for items (their required fields present).
    Raises 422 `invalid_details` naming the field."""
    struct = DETAILS.get(topic)
    if struct is None:
        raise InvalidInput(f"没有议题 {topic}。", f"Unknown topic '{topic}'.", code="invalid_topic")
    try:
        value = msgspec.convert(raw if raw is not None else {}, struct)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"议题字段 details 有误：{exc}", f"details: {exc}",
                           code="invalid_details", extra={"topic": topic}) from exc
    out: dict[str, Any] = msgspec.to_builtins(value)
    if complete:
        missing = [f for f in REQUIRED[topic] if f not in out]
        if missing:
            raise InvalidInput(
                f"{TOPICS[topic][0]}事项的 details 须写明：{'、'.join(missing)}。",
                f"A {topic} item needs {', '.join(missing)} in details.",
                code="invalid_details", extra={"topic": topic, "missing": missing})
    return out
