"""Clause conditions side by side: µs per evaluation of one condition over the same evidence,
the CEL libraries available here against the same rule as a plain Python function, one run,
this machine (docs/contracts.md keeps the figures and the choice).

    flock /tmp/bench.lock .venv/bin/python bench/conditions.py [--repeat 20000]

    python function              the rule written in Python over the evidence dict
    cel-expr-python eval         Google's C++ CEL (the project's): Expression.eval(data=…)
    engine.evaluate_in_cel       contracts/conditions/engine.py through cel-expr-python, with
                                 the variables read
    engine.evaluate              the same through the checked condition's Python translation
                                 (conditions/fast.py), what the engine does
    translation alone            that translation called on the evidence (the answer and the
                                 values read, raising where CEL could differ)
    engine validate + evaluate   the evidence checked against the schema (validate_evidence),
                                 then evaluated
    engine validator + evaluate  the same through the schema's built validator (what a
                                 checkpoint's evaluation runs)
    common-expression-language   Rust cel-interpreter bindings, Program.execute (no checker)
    cel-python (celpy)           pure Python, InterpretedRunner and CompiledRunner

The ratio printed is the Python function's cost over the condition's (the issue's target for
the condition alone: ≥ 0.3). Libraries that are not installed are skipped (`pip install
common-expression-language cel-python` to see them)."""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable
from typing import Any

from flexunion.contracts.conditions import engine

SOURCE = ("commission_rate <= 0.20 && appeals.p95_reply_hours <= 72.0"
          " && max_continuous_order_minutes <= 240 && rest_prompt_enabled")
SCHEMA = {"commission_rate": "double", "appeals": {"p95_reply_hours": "double"},
          "rest_prompt_enabled": "bool", "max_continuous_order_minutes": "int"}
EVIDENCE = {"commission_rate": 0.18, "appeals": {"p95_reply_hours": 50.0},
            "rest_prompt_enabled": True, "max_continuous_order_minutes": 200}


def rule(e: dict[str, Any]) -> bool:
    return (e["commission_rate"] <= 0.20 and e["appeals"]["p95_reply_hours"] <= 72.0
            and e["max_continuous_order_minutes"] <= 240 and e["rest_prompt_enabled"])


def per_call(f: Callable[[], Any], n: int) -> float:
    """Best of 5 runs of n calls, µs a call."""
    f()
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            f()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20000)
    n = ap.parse_args().repeat
    rows: list[tuple[str, float]] = [("python function", per_call(lambda: rule(EVIDENCE), n))]
    schema = engine.parse_schema(SCHEMA)
    compiled = engine.compile(SOURCE, schema)
    flat = engine.validate_evidence(schema, EVIDENCE)
    assert compiled.evaluate(flat)[0] is rule(EVIDENCE) is True
    expr = compiled._expr
    rows.append(("cel-expr-python eval", per_call(lambda: expr.eval(data=flat).value(), n)))
    assert compiled._fast is not None
    rows.append(("engine.evaluate_in_cel", per_call(lambda: compiled.evaluate_in_cel(flat), n)))
    rows.append(("engine.evaluate", per_call(lambda: compiled.evaluate(flat), n)))
    translated = compiled._fast
    rows.append(("translation alone", per_call(lambda: translated(flat), n)))
    rows.append(("engine validate + evaluate", per_call(
        lambda: compiled.evaluate(engine.validate_evidence(schema, EVIDENCE)), n)))
    check = engine.validator(schema)
    rows.append(("engine validator + evaluate", per_call(
        lambda: compiled.evaluate(check(EVIDENCE)), n)))
    if importlib.util.find_spec("cel") is not None:
        import cel  # type: ignore[import-not-found]
        program = cel.compile(SOURCE)
        rows.append(("common-expression-language", per_call(
            lambda: program.execute(EVIDENCE), n)))
    if importlib.util.find_spec("celpy") is not None:
        import celpy  # type: ignore[import-not-found]
        for runner in (celpy.InterpretedRunner, celpy.CompiledRunner):
            env = celpy.Environment(runner_class=runner)
            try:
                program = env.program(env.compile(SOURCE))
            except Exception as exc:  # celpy 0.5's transpiler fails on a second env
                print(f"cel-python {runner.__name__}: {exc!r}")
                continue
            activation = celpy.json_to_cel(EVIDENCE)
            rows.append((f"cel-python {runner.__name__}",
                         per_call(lambda p=program, a=activation: p.evaluate(a), max(n // 40, 50))))
    base = rows[0][1]
    print(f"{'':32} {'µs/eval':>9} {'python ÷ this':>14}")
    for name, us in rows:
        print(f"{name:32} {us:9.3f} {base / us:14.3f}")
    print(f"compile + type-check: {per_call(lambda: engine._env(schema).compile(SOURCE), 200):.0f}"
          " µs (once per save; cached)")


if __name__ == "__main__":
    main()
