"""The checked condition's Python translation (contracts/conditions/fast.py) answers as the
CEL library does: over generated, well-typed expressions and evidence, the engine's answer
(the translation, falling back to cel-expr-python on any error) equals cel-expr-python's
own — the same boolean, or an error in both. And the demo templates' conditions all get
a translation."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from flexunion.contracts.conditions import engine, fast
from flexunion.contracts.conditions.engine import ConditionError
from flexunion.contracts.templates import files
from flexunion.contracts.templates.schemas import condition_schema

SCHEMA = engine.parse_schema({"i": "int", "j": "int", "x": "double", "y": "double",
                              "b": "bool", "s": "string", "l": "list<string>",
                              "nested": {"k": "int", "z": "double"}})
INTS = st.sampled_from(["i", "j", "nested.k"]) | st.integers(-(2**63), 2**63 - 1).map(str)
DOUBLES = st.sampled_from(["x", "y", "nested.z"]) | st.floats(
    -1e6, 1e6, allow_nan=False).map(lambda f: repr(f) if "e" not in repr(f) else "1.5")
STRINGS = st.sampled_from(["s", "'a'", "'骑手'", "''"])


def _binary(ops: list[str], operands):
    return st.tuples(operands, st.sampled_from(ops), operands).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})")


ints = st.recursive(INTS, lambda inner: _binary(["+", "-", "*", "/", "%"], inner)
                    | inner.map(lambda e: f"-{e}"), max_leaves=4)
doubles = st.recursive(DOUBLES, lambda inner: _binary(["+", "-", "*", "/"], inner)
                       | inner.map(lambda e: f"-({e})"), max_leaves=4)
comparison = (_binary(["<", "<=", ">", ">=", "==", "!="], ints)
              | _binary(["<", "<=", ">", ">=", "==", "!="], doubles)
              | _binary(["==", "!=", "<"], STRINGS)
              | STRINGS.map(lambda e: f"{e} in l")
              | STRINGS.map(lambda e: f"{e} in ['a', '骑手']")
              | st.just("b"))
booleans = st.recursive(comparison, lambda inner: _binary(["&&", "||"], inner)
                        | inner.map(lambda e: f"!{e}"), max_leaves=5)
EVIDENCE = st.fixed_dictionaries({
    "i": st.integers(-(2**63), 2**63 - 1) | st.integers(-5, 5),
    "j": st.integers(-3, 3), "x": st.floats(-1e3, 1e3, allow_nan=False),
    "y": st.floats(allow_nan=False, allow_infinity=False), "b": st.booleans(),
    "s": st.sampled_from(["a", "骑手", "", "b"]), "l": st.lists(st.sampled_from(["a", "骑手"])),
    "nested": st.fixed_dictionaries({"k": st.integers(-4, 4), "z": st.floats(-10, 10)})})


def _answer(run):
    try:
        return run()
    except ConditionError as exc:
        return ("error", exc.code)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=booleans, evidence=EVIDENCE)
def test_the_translation_answers_as_cel_does(source: str, evidence: dict) -> None:
    try:
        compiled = engine.compile(source, SCHEMA)
    except ConditionError:
        assume(False)  # e.g. an int literal CEL reads as out of range
        return
    if "!!" not in source.replace("(", "").replace(" ", ""):  # a pair of `!` CEL drops
        assert compiled._fast is not None, source  # every other generated form is translated
    flat = engine.validate_evidence(SCHEMA, evidence)
    mine = _answer(lambda: compiled.evaluate(flat))
    theirs = _answer(lambda: compiled.evaluate_in_cel({k: flat[k] for k in compiled.reads}))
    assert mine == theirs, source


def test_outside_the_subset_there_is_no_translation() -> None:
    for source in ("size(l) > 0", "l.exists(e, e == 'a')", "b ? i > 1 : j > 1",
                   "s.startsWith('a')", "i > 0x10", "s == 'a\\'b'", "i > 1u",
                   "!!s in l"):
        assert fast.translate(source, SCHEMA) is None, source


def test_every_demo_condition_is_translated() -> None:
    spec = files.load(Path(__file__).parents[2] / "tenants" / "demo" / files.FILE_NAME)
    for t in spec.templates:
        if t.condition:
            schema = condition_schema(t.evidence_schema, t.parameters)
            assert engine.compile(t.condition, schema)._fast is not None, t.code


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["i", "j", "x", "b", "s", "l", "nested", "k", "z", "q"]), inner,
        max_size=4), max_leaves=8)
NEAR_EVIDENCE = EVIDENCE | EVIDENCE.flatmap(lambda e: st.fixed_dictionaries({
    key: (JSONISH if key in ("x", "i", "nested", "l", "b") else st.just(value))
    for key, value in e.items()})) | JSONISH


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(evidence=NEAR_EVIDENCE)
def test_the_schema_validator_answers_as_validate_evidence(evidence) -> None:
    """engine.validator (straight-line code per schema) gives validate_evidence's answer —
    the same flattened values of the same types, or the same error at the same path."""
    def outcome(run):
        try:
            flat = run()
        except ConditionError as exc:
            return ("error", exc.code, exc.path, exc.message)
        return [(k, v, type(v)) for k, v in flat.items()]

    extra = {"params.rate": 2.0}
    mine = outcome(lambda: engine.validator(SCHEMA, extra)(evidence))
    theirs = outcome(lambda: engine.validate_evidence(SCHEMA, evidence) | extra)
    assert mine == theirs
