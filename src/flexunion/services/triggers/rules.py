"""A trigger rule: on an event kind, when every condition over the event's fields holds, do
its actions. Conditions are data (`{field, op, value}`), checked when a rule set is saved and
evaluated without any code: a field, a comparison, a constant. A warning's `level` compares
in its order (blue < yellow < orange < red)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

ON = ("worker_registered", "worker_deregistered", "shift_worked", "injury_reported",
      "weather_warning")
ACTIONS = ("invite_join", "offer_service", "station_notice", "assistance_case")
# Which action may follow which source (a station notice needs an area, a case a member).
ALLOWED = {
    "worker_registered": {"invite_join", "offer_service"},
    "worker_deregistered": {"offer_service"},
    "shift_worked": {"offer_service"},
    "injury_reported": {"assistance_case", "offer_service"},
    "weather_warning": {"station_notice"},
}
FIELDS: dict[str, dict[str, type]] = {
    "worker_registered": {},
    "worker_deregistered": {"reason": str},
    "shift_worked": {"hours": float, "night_hours": float, "heat_hours": float,
                     "zone_code": str},
    "injury_reported": {"severity": str, "zone_code": str},
    "weather_warning": {"kind": str, "level": str},
}
LEVELS = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}
SEVERITIES = {"minor": 1, "serious": 2, "fatal": 3}
ORDERED = {"level": LEVELS, "severity": SEVERITIES}
Op = Literal[">=", ">", "<=", "<", "==", "!="]
# Every string a rule set carries is bounded (tests/test_input.py): codes and names short,
# titles a line.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Title = Annotated[str, msgspec.Meta(max_length=200)]


class Condition(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    field: Name
    op: Op
    value: Name | float | int


class ActionSpec(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    do: Name
    service: Name | None = None  # offer_service: the catalogue code


class Rule(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    code: Name
    event: Name
    actions: list[ActionSpec]
    when: list[Condition] = []
    title_zh: Title | None = None
    title_en: Title | None = None


def check(rule: Rule) -> str | None:
    """What is wrong with `rule`, or None."""
    if rule.event not in ON:
        return f"event: '{rule.event}' is not one of {', '.join(ON)}"
    fields = FIELDS[rule.event]
    for i, c in enumerate(rule.when):
        if c.field not in fields:
            return f"when[{i}].field: '{c.field}' is not a field of {rule.event}"
        kind = fields[c.field]
        ordered = ORDERED.get(c.field)
        if ordered is not None and str(c.value) not in ordered:
            return f"when[{i}].value: '{c.value}' is not one of {', '.join(ordered)}"
        if kind is float and isinstance(c.value, (str, bool)):
            return f"when[{i}].value: {c.field} is a number"
        if kind is str and ordered is None and c.op not in ("==", "!="):
            return f"when[{i}].op: {c.field} compares only with == or !="
    if not rule.actions:
        return "actions: at least one"
    for i, a in enumerate(rule.actions):
        if a.do not in ACTIONS:
            return f"actions[{i}].do: '{a.do}' is not one of {', '.join(ACTIONS)}"
        if a.do not in ALLOWED[rule.event]:
            return f"actions[{i}].do: '{a.do}' does not follow {rule.event}"
        if (a.do == "offer_service") != (a.service is not None):
            return f"actions[{i}].service: offer_service names a service, nothing else does"
    return None


def _value(field: str, raw: Any) -> Any:
    ordered = ORDERED.get(field)
    if ordered is not None:
        return ordered.get(str(raw))
    return raw


def holds(rule: Rule, facts: dict[str, Any]) -> bool:
    """Every condition true of `facts` (a missing field makes its condition false)."""
    for c in rule.when:
        have, want = _value(c.field, facts.get(c.field)), _value(c.field, c.value)
        if have is None or want is None:
            return False
        if isinstance(want, (int, float)) and not isinstance(have, (int, float)):
            return False
        if not _compare(c.op, have, want):
            return False
    return True


def _compare(op: str, have: Any, want: Any) -> bool:
    if op == "==":
        return bool(have == want)
    if op == "!=":
        return bool(have != want)
    if op == ">=":
        return bool(have >= want)
    if op == ">":
        return bool(have > want)
    if op == "<=":
        return bool(have <= want)
    return bool(have < want)


def decode(rules: list[dict[str, Any]]) -> list[Rule]:
    return msgspec.convert(rules, list[Rule])


def encode(rules: list[Rule]) -> list[dict[str, Any]]:
    return list(msgspec.to_builtins(rules))
