"""A quarterly compliance run over generated checkpoints: the service's evaluation path
(contracts/checkpoints/service.evaluate — the evidence validated against the clause's schema
by the engine, the clause's CEL condition evaluated, every variable read captured — then
compliance.tally per partner) against the same conditions as plain Python functions and a
plain count. One process, one core, no database (the HTTP and SQL round trips of a
submission are not in either side).

    flock /tmp/bench.lock .venv/bin/python bench/contracts.py [--checkpoints 100000]

Prints both totals and the ratio (Python's time over the service path's), and the
per-evaluation ratio of the condition alone (bench/conditions.py measures it in detail)."""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from flexunion.contracts.agreements.models import AgreementClause
from flexunion.contracts.checkpoints import compliance, service

# Three of the demo templates' conditions (tenants/demo/clause-templates.yaml), with their
# evidence schemas and parameters.
CLAUSES: list[tuple[str, dict[str, Any], dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
    ("paid_rate_pct >= params.rate_pct && paid_on_time",
     {"paid_rate_pct": "double", "paid_on_time": "bool"}, {"rate_pct": 2.0},
     lambda e: e["paid_rate_pct"] >= 2.0 and e["paid_on_time"]),
    ("area_m2 >= params.area_m2 && open_hours_per_week >= params.hours_per_week",
     {"area_m2": "double", "open_hours_per_week": "int"}, {"area_m2": 20.0, "hours_per_week": 20},
     lambda e: e["area_m2"] >= 20.0 and e["open_hours_per_week"] >= 20),
    ("commission_rate * 100.0 <= params.max_rate_pct",
     {"commission_rate": "double"}, {"max_rate_pct": 20.0},
     lambda e: e["commission_rate"] * 100.0 <= 20.0),
]


def evidence_for(i: int, rng: random.Random) -> dict[str, Any]:
    k = i % len(CLAUSES)
    if k == 0:
        return {"paid_rate_pct": rng.uniform(1.0, 3.0), "paid_on_time": rng.random() < 0.9}
    if k == 1:
        return {"area_m2": rng.uniform(10.0, 40.0), "open_hours_per_week": rng.randint(10, 40)}
    return {"commission_rate": rng.uniform(0.1, 0.3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoints", type=int, default=100_000)
    n = parser.parse_args().checkpoints
    rng = random.Random(16)
    partners = [f"p{j:02d}" for j in range(20)]
    rows = [(partners[i % len(partners)], i % len(CLAUSES), evidence_for(i, rng))
            for i in range(n)]
    clauses = [AgreementClause(evidence_schema=schema, condition=src, parameters=params)
               for src, schema, params, _ in CLAUSES]

    t = time.perf_counter()
    statuses = []
    for partner, k, ev in rows:
        c = clauses[k]
        result, _read, _error = service.evaluate(c, c.parameters, CLAUSES[k][0], ev)
        statuses.append((partner, "met" if result else "breached"))
    run = compliance.tally("2027Q2", statuses)
    service_s = time.perf_counter() - t

    t = time.perf_counter()
    counts: Counter[tuple[str, bool]] = Counter()
    for partner, k, ev in rows:
        counts[(partner, CLAUSES[k][3](ev))] += 1
    python_s = time.perf_counter() - t

    assert sum(r.met for r in run) == sum(v for (_, ok), v in counts.items() if ok)
    assert sum(r.breached for r in run) == sum(v for (_, ok), v in counts.items() if not ok)

    # the condition alone, per evaluation: the compiled condition vs the Python function
    compiled = [service.condition_of(c, c.parameters, CLAUSES[k][0])
                for k, c in enumerate(clauses)]
    flat = [(k, ev | {f"params.{p}": v for p, v in CLAUSES[k][2].items()})
            for _, k, ev in rows[:20_000]]
    t = time.perf_counter()
    for k, f in flat:
        compiled[k].evaluate(f)
    cond_us = (time.perf_counter() - t) / len(flat) * 1e6
    t = time.perf_counter()
    for k, f in flat:
        CLAUSES[k][3](f)
    py_us = (time.perf_counter() - t) / len(flat) * 1e6

    print(f"checkpoints: {n}, partners: {len(partners)}, met: {sum(r.met for r in run)}")
    print(f"service path (validate + evaluate + read + tally): {service_s:.3f} s "
          f"({service_s / n * 1e6:.2f} µs a checkpoint)")
    print(f"plain Python functions + count:                  {python_s:.3f} s "
          f"({python_s / n * 1e6:.2f} µs a checkpoint)")
    print(f"ratio (python / service): {python_s / service_s:.3f}")
    print(f"per evaluation: engine.evaluate {cond_us:.3f} µs, Python {py_us:.3f} µs, "
          f"ratio {py_us / cond_us:.3f}")


if __name__ == "__main__":
    main()
