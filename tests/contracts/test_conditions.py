"""The condition engine (contracts/conditions/engine.py), pure: a condition is type-checked
against its evidence schema when compiled, refused with a stable code and where it fails,
and evaluated to its result and the values it read; evidence is checked against the schema."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flexunion.contracts.conditions import engine
from flexunion.contracts.conditions.engine import ConditionError

SCHEMA = engine.parse_schema({
    "commission_rate": "double", "appeals": {"p95_reply_hours": "double", "count": "int"},
    "rest_prompt_enabled": "bool", "max_continuous_order_minutes": "int",
    "fields": "list<string>"})
EVIDENCE = {"commission_rate": 0.18, "appeals": {"p95_reply_hours": 50, "count": 12},
            "rest_prompt_enabled": True, "max_continuous_order_minutes": 200,
            "fields": ["人数", "订单量"]}


def test_a_condition_compiles_and_reads_only_what_it_names() -> None:
    c = engine.compile("max_continuous_order_minutes <= 240 && rest_prompt_enabled", SCHEMA)
    assert c.reads == ("rest_prompt_enabled", "max_continuous_order_minutes")
    result, read = c.evaluate(engine.validate_evidence(SCHEMA, EVIDENCE))
    assert result is True
    assert read == {"rest_prompt_enabled": True, "max_continuous_order_minutes": 200}
    late = engine.validate_evidence(SCHEMA, EVIDENCE | {"max_continuous_order_minutes": 241})
    assert c.evaluate(late)[0] is False


def test_nested_fields_and_lists() -> None:
    c = engine.compile("appeals.p95_reply_hours <= 72.0 && appeals.count > 0"
                       " && '人数' in fields", SCHEMA)
    assert c.reads == ("appeals.p95_reply_hours", "appeals.count", "fields")
    flat = engine.validate_evidence(SCHEMA, EVIDENCE)
    assert flat["appeals.p95_reply_hours"] == 50.0  # an int is accepted for a double
    assert c.evaluate(flat) == (True, {"appeals.p95_reply_hours": 50.0, "appeals.count": 12,
                                       "fields": ["人数", "订单量"]})


@pytest.mark.parametrize(("source", "code", "line", "column"), [
    ("commission_rate <= ", "condition_syntax", 1, 20),
    ("commission_rate <= 0.2 &&\n  appeals.typo > 1.0", "condition_ill_typed", 2, 10),
    ("appeals.p95_reply_hours <= 72", "condition_ill_typed", 1, 25),  # double vs int
    ("rest_prompt_enabled == 1", "condition_ill_typed", 1, 21),
    ("undeclared > 1", "condition_ill_typed", 1, 1),
    ("commission_rate * 100.0", "condition_not_boolean", 1, 1),
    ("", "condition_syntax", 1, 1),
])
def test_an_invalid_or_ill_typed_condition_is_refused_with_where(
        source: str, code: str, line: int, column: int) -> None:
    with pytest.raises(ConditionError) as found:
        engine.compile(source, SCHEMA)
    assert (found.value.code, found.value.line, found.value.column) == (code, line, column)


@pytest.mark.parametrize(("raw", "path"), [
    ({}, "$"),
    ({"Bad": "int"}, "Bad"),
    ({"true": "bool"}, "true"),
    ({"x": "float"}, "x"),
    ({"a": {"b": {"c": {"d": "int"}}}}, "a.b.c"),
])
def test_a_bad_schema_is_refused(raw: dict, path: str) -> None:
    with pytest.raises(ConditionError) as found:
        engine.parse_schema(raw)
    assert found.value.code == "evidence_schema_invalid" and found.value.path == path


@pytest.mark.parametrize(("change", "path"), [
    ({"commission_rate": "0.2"}, "commission_rate"),
    ({"max_continuous_order_minutes": 1.5}, "max_continuous_order_minutes"),
    ({"max_continuous_order_minutes": True}, "max_continuous_order_minutes"),
    ({"rest_prompt_enabled": 1}, "rest_prompt_enabled"),
    ({"appeals": {"p95_reply_hours": 1.0}}, "appeals.count"),
    ({"appeals": {"p95_reply_hours": 1.0, "count": 1, "extra": 2}}, "appeals.extra"),
    ({"unknown": 1}, "unknown"),
    ({"fields": ["a", 1]}, "fields"),
    ({"commission_rate": float("nan")}, "commission_rate"),
])
def test_evidence_must_fit_the_schema(change: dict, path: str) -> None:
    with pytest.raises(ConditionError) as found:
        engine.validate_evidence(SCHEMA, EVIDENCE | change)
    assert found.value.code == "evidence_invalid" and found.value.path == path


def test_a_runtime_error_is_an_error_not_an_answer() -> None:
    schema = engine.parse_schema({"a": "int", "b": "int"})
    c = engine.compile("a / b > 1", schema)
    with pytest.raises(ConditionError) as found:
        c.evaluate({"a": 1, "b": 0})
    assert found.value.code == "condition_eval_error"


SOURCE = ("commission_rate <= 0.20 && appeals.p95_reply_hours <= 72.0"
          " && (max_continuous_order_minutes <= 240 || !rest_prompt_enabled)")


def _python(e: dict) -> bool:
    return (e["commission_rate"] <= 0.20 and e["appeals"]["p95_reply_hours"] <= 72.0
            and (e["max_continuous_order_minutes"] <= 240 or not e["rest_prompt_enabled"]))


@given(rate=st.floats(0, 1), hours=st.floats(0, 200), minutes=st.integers(0, 1000),
       prompt=st.booleans())
def test_cel_agrees_with_the_same_rule_in_python(rate: float, hours: float, minutes: int,
                                                 prompt: bool) -> None:
    evidence = {"commission_rate": rate, "appeals": {"p95_reply_hours": hours, "count": 1},
                "rest_prompt_enabled": prompt, "max_continuous_order_minutes": minutes,
                "fields": []}
    c = engine.compile(SOURCE, SCHEMA)
    assert c.evaluate(engine.validate_evidence(SCHEMA, evidence))[0] is _python(evidence)
