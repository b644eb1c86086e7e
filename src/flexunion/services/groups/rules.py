"""The pure group rules: what each group's parameters are, and whether a member's facts put
them in it (with the values that decided). No database here.

大龄 (older): within K years of the statutory retirement age, after the 2025 gradual reform
(全国人大常委会《关于实施渐进式延迟法定退休年龄的决定》, 2024-09-13), approximated as: men 60 →
63, one month later for every 4 months of birth from January 1965 (the first month counting);
women 50 → 55 (female workers: riders and drivers are workers, not cadres), one month later for
every 2 months of birth from January 1975. The 55 → 58 line for female cadres is not used."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import msgspec

CODES = ("new-registration", "night-heat-outdoor", "women", "cross-city", "hardship", "older")
LABELS = {"new-registration": ("新注册", "Newly registered"),
          "night-heat-outdoor": ("夜间/高温外勤", "Night and heat outdoor work"),
          "women": ("女骑手/女司机", "Women riders and drivers"),
          "cross-city": ("跨城流动", "Moving between cities"),
          "hardship": ("困难会员", "Members in hardship"),
          "older": ("大龄", "Approaching retirement age")}


class NewRegistration(msgspec.Struct, forbid_unknown_fields=True):
    weeks: int = 8


class NightHeat(msgspec.Struct, forbid_unknown_fields=True):
    min_night_hours: float = 20.0
    min_heat_hours: float = 20.0
    window_days: int = 30


class Women(msgspec.Struct, forbid_unknown_fields=True):
    pass


class Older(msgspec.Struct, forbid_unknown_fields=True):
    years_before_retirement: int = 5


class CrossCity(msgspec.Struct, forbid_unknown_fields=True):
    transfer_months: int = 12
    min_regions: int = 2
    window_days: int = 30


class Hardship(msgspec.Struct, forbid_unknown_fields=True):
    pass


PARAMETERS: dict[str, type[msgspec.Struct]] = {
    "new-registration": NewRegistration, "night-heat-outdoor": NightHeat, "women": Women,
    "older": Older, "cross-city": CrossCity, "hardship": Hardship}
LIMITS = {"weeks": (1, 104), "min_night_hours": (0, 744), "min_heat_hours": (0, 744),
          "window_days": (1, 366), "years_before_retirement": (0, 20),
          "transfer_months": (1, 60), "min_regions": (2, 20)}


def check_parameters(code: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The group's parameters with defaults filled in; ValueError naming the bad one."""
    try:
        parsed = msgspec.convert(raw, PARAMETERS[code])
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from exc
    out = msgspec.to_builtins(parsed)
    for name, value in out.items():
        low, high = LIMITS[name]
        if not low <= value <= high:
            raise ValueError(f"{name} must be within {low}…{high}")
    return dict(out)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rules read of one member, gathered from the domains' services."""

    member_since: date | None
    registered_on: date | None  # the latest platform registration event
    sex: str | None
    birth_month: date | None
    night_hours: float = 0.0  # in the night-heat window
    heat_hours: float = 0.0
    transfers: tuple[date, ...] = ()  # days transfers completed
    regions: frozenset[str] = field(default_factory=frozenset)  # regions worked in (zones)


def add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def retirement_month(sex: str, birth_month: date) -> date:
    """The month the statutory retirement age is reached (see the module docstring)."""
    male = sex == "M"
    base, start, step, cap = ((60, date(1965, 1, 1), 4, 36) if male
                              else (50, date(1975, 1, 1), 2, 60))
    after = (birth_month.year - start.year) * 12 + birth_month.month - start.month
    delay = 0 if after < 0 else min(after // step + 1, cap)
    return add_months(birth_month, base * 12 + delay)


def decide(code: str, params: dict[str, Any], facts: Facts,
           today: date) -> dict[str, Any] | None:
    """The values that put the member in group `code` today, or None (hardship: never here;
    the assistance ledger marks it)."""
    if code == "new-registration":
        start = facts.registered_on or facts.member_since
        if start is None or not start <= today < start + timedelta(weeks=params["weeks"]):
            return None
        return {"from": start.isoformat(), "weeks": params["weeks"],
                "source": "platform" if facts.registered_on else "member_since"}
    if code == "night-heat-outdoor":
        night, heat = round(facts.night_hours, 2), round(facts.heat_hours, 2)
        if night < params["min_night_hours"] and heat < params["min_heat_hours"]:
            return None
        return {"night_hours": night, "heat_hours": heat, "window_days": params["window_days"]}
    if code == "women":
        return {"sex": "F"} if facts.sex == "F" else None
    if code == "older":
        if facts.sex is None or facts.birth_month is None:
            return None
        retire = retirement_month(facts.sex, facts.birth_month)
        years = params["years_before_retirement"]
        if today < add_months(retire, -12 * years):
            return None
        return {"retirement_month": retire.isoformat()[:7], "years_before": years}
    if code == "cross-city":
        since = add_months(today.replace(day=1), -params["transfer_months"])
        recent = sorted(d.isoformat() for d in facts.transfers if d >= since)
        regions = sorted(facts.regions)
        if not recent and len(regions) < params["min_regions"]:
            return None
        return {"transfers": recent, "regions": regions if len(regions) > 1 else []}
    return None
