"""A quarterly compliance run over generated checkpoints, through the service and through
PostgreSQL, against the same conditions written as plain Python functions over the same data.

    flock /tmp/bench.lock .venv/bin/python bench/contracts.py [--checkpoints 100000]
        [--submissions 300] [--no-db]

Three figures, each beside its plain-Python counterpart, and the ratio (Python's time over
the service's; 1.0 would be "as fast as hand-written Python"):

1. **Per evaluation, the condition alone**: `Compiled.evaluate` (the checked CEL condition's
   Python translation, conditions/fast.py, giving the answer and every variable read, as a
   checkpoint stores them) against the rule as a Python function over the same flattened
   evidence. The issue's target: ≥ 0.3.
2. **In memory** (no database): per checkpoint, as `evaluation.rerun` does it — each clause's
   condition prepared once for the run (`evaluation.prepared`: compiled and type-checked, the
   evidence schema's validator built), then `evaluation.evaluate_prepared`: the evidence
   validated and flattened, evaluated, the values read captured — and `compliance.tally`,
   against the Python functions and a `Counter`. Also `evaluation.evaluate`, a submission's
   way, which finds the prepared condition in a cache keyed by the repr() of the condition,
   schema and parameters (~1–2 µs more, nothing against a submission's milliseconds).
3. **Through the database** (unless `--no-db`): one embedded PostgreSQL, a federation, the
   demo templates, one agreement with three clauses in force (funding, venue, commission)
   made through the real HTTP API; then, as the owner, COPY-seeded copies of those clauses
   and `--checkpoints` checkpoints due in 2027Q2, each with one evaluated evidence row
   (generated evidence; result, read and breach from the Python functions, the sha256 over
   RFC 8785 JSON as the service computes it). The compliance run is `evaluation.rerun`, as a
   regional admin on the app role (RLS on), in one transaction: the latest evidence of every
   checkpoint due in the quarter in one query (columns, not ORM entities), the clauses in one
   more, each (clause, condition, parameters) prepared once, every evidence re-evaluated and
   compared with what was stored (all must agree), tallied per partner. Against it: the same
   rows fetched by a plain asyncpg query as the owner (no RLS, no ORM) and the Python
   functions with a `Counter`. Then `--submissions` sequential evidence submissions through
   the partner API (`POST /v1/partner/contracts/checkpoints/{id}/evidence`: token, idempotency,
   RLS, the service's submit, the audit event, commit), per submission.

Where the time goes (see docs/contracts.md for recorded figures): in the database run the
query and decoding its JSONB (evidence and read of each row, by SQLAlchemy's JSON codec
over asyncpg, and RLS's policy checks) are most of the service's time, the evaluation a
minority; the plain side pays the fetch too. A submission is dominated by its round trips
(HTTP, token and idempotency checks, four reads, a savepoint, the insert, the audit row,
commit): milliseconds, against microseconds for the evaluation inside it. One process, one
core of a shared machine: other work on it moves every figure; run it under the lock."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT / "src"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from flexunion.contracts.agreements.models import AgreementClause  # noqa: E402
from flexunion.contracts.checkpoints import compliance, evaluation  # noqa: E402

Rule = Callable[[dict[str, Any]], bool]
# The demo templates' conditions (tenants/demo/clause-templates.yaml): template, condition,
# evidence schema, the parameters given, the Python function, the variables it reads.
CLAUSES: list[tuple[str, str, dict[str, Any], dict[str, Any], Rule, tuple[str, ...]]] = [
    ("union.funding", "paid_rate_pct >= params.rate_pct && paid_on_time",
     {"paid_rate_pct": "double", "paid_on_time": "bool"}, {"rate_pct": 2.0},
     lambda e: e["paid_rate_pct"] >= 2.0 and e["paid_on_time"],
     ("paid_rate_pct", "paid_on_time", "params.rate_pct")),
    ("union.venue", "area_m2 >= params.area_m2 && open_hours_per_week >= params.hours_per_week",
     {"area_m2": "double", "open_hours_per_week": "int"}, {"area_m2": 20.0, "hours_per_week": 20},
     lambda e: e["area_m2"] >= 20.0 and e["open_hours_per_week"] >= 20,
     ("area_m2", "open_hours_per_week", "params.area_m2", "params.hours_per_week")),
    ("outcome.commission", "commission_rate * 100.0 <= params.max_rate_pct",
     {"commission_rate": "double"}, {"max_rate_pct": 20.0},
     lambda e: e["commission_rate"] * 100.0 <= 20.0,
     ("commission_rate", "params.max_rate_pct")),
]
QUARTER, FIRST_DAY, DAYS = "2027Q2", date(2027, 4, 1), 91


def evidence_for(i: int, rng: random.Random) -> dict[str, Any]:
    k = i % len(CLAUSES)
    if k == 0:
        return {"paid_rate_pct": round(rng.uniform(1.0, 3.0), 4),
                "paid_on_time": rng.random() < 0.9}
    if k == 1:
        return {"area_m2": round(rng.uniform(10.0, 40.0), 2),
                "open_hours_per_week": rng.randint(10, 40)}
    return {"commission_rate": round(rng.uniform(0.1, 0.3), 4)}


def in_memory(n: int) -> dict[str, float]:
    rng = random.Random(16)
    partners = [f"p{j:02d}" for j in range(20)]
    rows = [(partners[i % len(partners)], i % len(CLAUSES), evidence_for(i, rng))
            for i in range(n)]
    clauses = [AgreementClause(evidence_schema=schema, condition=src, parameters=params)
               for _t, src, schema, params, _f, _r in CLAUSES]
    evaluation.evaluate(clauses[0], clauses[0].parameters, CLAUSES[0][1], rows[0][2])  # compile

    # as evaluation.rerun does: each clause's condition prepared once for the run
    t = time.perf_counter()
    ready: dict[int, evaluation.Prepared] = {}
    statuses = []
    for partner, k, ev in rows:
        prep = ready.get(k)
        if prep is None:
            c = clauses[k]
            prep = ready[k] = evaluation.prepared(c, c.parameters, CLAUSES[k][1])
        result, _read, _error = evaluation.evaluate_prepared(prep, ev)
        statuses.append((partner, "met" if result else "breached"))
    run = compliance.tally(QUARTER, statuses)
    service_s = time.perf_counter() - t

    # one submission's way: evaluation.evaluate finds the prepared condition by its key
    t = time.perf_counter()
    for _partner, k, ev in rows[:20_000]:
        c = clauses[k]
        evaluation.evaluate(c, c.parameters, CLAUSES[k][1], ev)
    keyed_us = (time.perf_counter() - t) / min(n, 20_000) * 1e6

    t = time.perf_counter()
    counts: Counter[tuple[str, bool]] = Counter()
    for partner, k, ev in rows:
        counts[(partner, CLAUSES[k][4](ev))] += 1
    python_s = time.perf_counter() - t
    assert sum(r.met for r in run) == sum(v for (_, ok), v in counts.items() if ok)
    assert sum(r.breached for r in run) == sum(v for (_, ok), v in counts.items() if not ok)

    # the condition alone, per evaluation: best of 15 passes over the same 20,000 evidences,
    # the two sides taking turns (a shared machine's load drifts)
    compiled = [evaluation.prepared(c, c.parameters, CLAUSES[k][1]).compiled
                for k, c in enumerate(clauses)]
    flat = [(compiled[k].evaluate, CLAUSES[k][4],
             ev | {f"params.{p}": v for p, v in CLAUSES[k][3].items()})
            for _, k, ev in rows[:20_000]]
    cond = py = float("inf")
    for _ in range(15):
        t = time.perf_counter()
        for evaluate, _rule, f in flat:
            evaluate(f)
        cond = min(cond, time.perf_counter() - t)
        t = time.perf_counter()
        for _evaluate, rule, f in flat:
            rule(f)
        py = min(py, time.perf_counter() - t)
    return {"n": n, "service_s": service_s, "python_s": python_s,
            "cond_us": cond / len(flat) * 1e6, "py_us": py / len(flat) * 1e6,
            "met": sum(r.met for r in run), "keyed_us": keyed_us}


# ---- through PostgreSQL -------------------------------------------------------------------

LATEST = """SELECT DISTINCT ON (e.checkpoint_id) e.partner_id, e.condition, e.evidence::text
    FROM checkpoint_evidence e JOIN clause_checkpoints c ON c.id = e.checkpoint_id
    WHERE c.due_on BETWEEN $1 AND $2
    ORDER BY e.checkpoint_id, e.evaluated_at DESC, e.id DESC"""


async def _arrange(client: Any, owner: Any, tokens: Any, tmp: Path) -> dict[str, Any]:
    from tests.contracts.conftest import add_clause, in_force, load_templates, make_agreement
    from tests.support.bargaining import partner_client
    from tests.support.factories import make_federation

    fed = await make_federation(owner, tmp)
    await load_templates(owner, fed)
    region = fed.regions[0]
    regional, _ = await tokens.issue(role=_role("regional_admin"), subject="bench-admin",
                                     tenant_id=fed.ids[region], tenant_code=region)
    agreement = await make_agreement(client, regional, scope=region)
    clause_ids = []
    for template, _src, _schema, params, _f, _r in CLAUSES:
        r = await add_clause(client, regional, agreement["id"], 1, template=template,
                             parameters=params)
        assert r.status_code == 201, r.text
        clause_ids.append(uuid.UUID(r.json()["id"]))
    assert (await in_force(client, regional, agreement["id"], 1)).status_code == 200
    partner = await partner_client(client, owner, fed)
    return {"fed": fed, "region": region, "clauses": clause_ids, "partner": partner.token}


def _role(name: str) -> Any:
    from flexunion.core.context import Role
    return Role(name)


async def _seed(owner_url: str, clause_ids: list[uuid.UUID], n: int) -> dict[str, Any]:
    """Clause copies, n checkpoints due in the quarter and one evaluated evidence row each,
    COPY'd as the owner; the plain side's data in memory too."""
    import asyncpg

    from flexunion.db.urls import to_asyncpg

    conn = await asyncpg.connect(to_asyncpg(owner_url))
    try:
        originals = {r["id"]: r for r in await conn.fetch(
            "SELECT id, federation_id, tenant_id, partner_id, agreement_id, version_number,"
            " parameters::text AS parameters, document_sha256 FROM agreement_clauses"
            " WHERE id = ANY($1)", clause_ids)}
        per_template = math.ceil(math.ceil(n / len(CLAUSES)) / DAYS)
        cols = [r["column_name"] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name ="
            " 'agreement_clauses' AND table_schema = current_schema() ORDER BY ordinal_position")]
        picked = ", ".join("x.id" if c == "id" else "c.clause_key || '#' || x.j" if c ==
                           "clause_key" else f"c.{c}" for c in cols)
        copies: list[list[uuid.UUID]] = [[uuid.uuid4() for _ in range(per_template)]
                                         for _ in CLAUSES]
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(
                f"INSERT INTO agreement_clauses ({', '.join(cols)}) SELECT {picked}"
                " FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS x(id, src, j)"
                " JOIN agreement_clauses c ON c.id = x.src",
                [c for group in copies for c in group],
                [clause_ids[k] for k, group in enumerate(copies) for _ in group],
                [j for group in copies for j in range(len(group))])
            rng = random.Random(16)
            now = datetime(2027, 7, 3, tzinfo=UTC)
            checkpoints, evidence, plain = [], [], []
            for i in range(n):
                k, slot = i % len(CLAUSES), i // len(CLAUSES)
                src, cl = CLAUSES[k], originals[clause_ids[k]]
                clause_id, due = copies[k][slot // DAYS], FIRST_DAY + timedelta(slot % DAYS)
                cp = uuid.uuid4()
                checkpoints.append((
                    cp, cl["federation_id"], cl["tenant_id"], cl["partner_id"],
                    cl["agreement_id"], clause_id, cl["version_number"], QUARTER, due,
                    datetime.combine(due + timedelta(14), datetime.min.time(), tzinfo=UTC),
                    "bench:seed", now))
                ev = evidence_for(i, rng)
                params = json.loads(cl["parameters"])
                flat = ev | {f"params.{p}": v for p, v in params.items()}
                result = src[4](flat)
                evidence.append((
                    uuid.uuid4(), cl["federation_id"], cl["tenant_id"], cl["partner_id"], cp,
                    clause_id, json.dumps(ev), evaluation.sha256_of(ev), src[1],
                    cl["document_sha256"], cl["parameters"],
                    json.dumps({r: flat[r] for r in src[5]}), result, None, not result, now,
                    "bench:seed"))
                plain.append((cl["partner_id"], src[1], ev))
            for table, rows, columns in (
                    ("clause_checkpoints", checkpoints, [
                        "id", "federation_id", "tenant_id", "partner_id", "agreement_id",
                        "clause_id", "version_number", "period", "due_on", "evidence_due_at",
                        "created_by", "created_at"]),
                    ("checkpoint_evidence", evidence, [
                        "id", "federation_id", "tenant_id", "partner_id", "checkpoint_id",
                        "clause_id", "evidence", "evidence_sha256", "condition",
                        "condition_version", "parameters", "read", "result", "error", "breach",
                        "evaluated_at", "submitted_by"])):
                # COPY does not take a table under row-level security: into a temporary
                # table, then one INSERT … SELECT (the owner's policy admits it)
                listed = ", ".join(columns)
                await conn.execute(f"CREATE TEMPORARY TABLE seed_{table} ON COMMIT DROP AS"
                                   f" SELECT {listed} FROM {table} WITH NO DATA")
                await conn.copy_records_to_table(f"seed_{table}", records=rows, columns=columns)
                await conn.execute(f"INSERT INTO {table} ({listed}) SELECT {listed}"
                                   f" FROM seed_{table}")
        for table in ("agreement_clauses", "clause_checkpoints", "checkpoint_evidence"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        return {"seconds": time.perf_counter() - started, "plain": plain,
                "met": sum(1 for e in evidence if e[12]),
                "checkpoint_ids": [c[0] for c in checkpoints]}
    finally:
        await conn.close()


async def _plain(owner_url: str) -> tuple[float, Counter[tuple[Any, bool]]]:
    """The same rows by a plain asyncpg query as the owner, the Python functions over them."""
    import asyncpg

    from flexunion.db.urls import to_asyncpg

    rules = {c[1]: c[4] for c in CLAUSES}
    params = {c[1]: {f"params.{p}": v for p, v in c[3].items()} for c in CLAUSES}
    conn = await asyncpg.connect(to_asyncpg(owner_url))
    try:
        first, last = compliance.bounds(QUARTER)
        t = time.perf_counter()
        counts: Counter[tuple[Any, bool]] = Counter()
        for partner, condition, ev in await conn.fetch(LATEST, first, last):
            counts[(partner, rules[condition](json.loads(ev) | params[condition]))] += 1
        return time.perf_counter() - t, counts
    finally:
        await conn.close()


async def _service_run(app: Any, fed: Any, region: str) -> dict[str, Any]:
    from flexunion.contracts.checkpoints import repository
    from flexunion.core.context import Caller
    from flexunion.core.uow import UnitOfWork

    caller = Caller(role=_role("regional_admin"), subject="bench-admin",
                    tenant_id=fed.ids[region], tenant_code=region, audience="flexunion-api")
    out: dict[str, Any] = {}
    for label in ("warm", "run"):
        uow = UnitOfWork(app, caller.db_scope("bench"))
        try:
            t = time.perf_counter()
            run = await evaluation.rerun(uow.session, caller, QUARTER)
            out[f"{label}_s"] = time.perf_counter() - t
            t = time.perf_counter()
            await repository.latest_evidence(uow.session, *compliance.bounds(QUARTER))
            out[f"{label}_fetch_s"] = time.perf_counter() - t
        finally:
            await uow.close()
    out["run"] = run
    return out


async def _submissions(client: Any, token: str, ids: list[uuid.UUID], count: int) -> list[float]:
    rng = random.Random(17)
    ms = []
    for i, cp in enumerate(ids[:count]):
        body = {"evidence": evidence_for(i, rng)}
        t = time.perf_counter()
        r = await client.post(f"/v1/partner/contracts/checkpoints/{cp}/evidence", json=body,
                              headers={"Authorization": f"Bearer {token}",
                                       "Idempotency-Key": secrets.token_hex(8)})
        ms.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 201, r.text
    return ms


async def through_db(db: Any, tmp: Path, n: int, submissions: int) -> dict[str, Any]:
    import httpx

    from flexunion.app import create_app
    from flexunion.auth.keys import KeyStore, ensure_active_key
    from flexunion.auth.tokens import TokenService
    from flexunion.config import Settings
    from flexunion.core.clock import Clock
    from flexunion.core.secrets import Keyring
    from flexunion.db.engine import bind_scope, make_engine, make_sessionmaker
    from flexunion.db.scope import DbScope
    from tests.support.server import LiveServer

    secret = "flexunion-bench-secret-not-for-production"
    settings = Settings(database_url=db.owner_url, app_database_url=db.app_url,
                        data_dir=tmp / "data", secret_key=secret,
                        issuer="http://bench.flexunion.test", load_demo=False)
    keyring = Keyring(secret.encode())
    owner_engine = make_engine(db.owner_url, pool_size=2, max_overflow=0)
    app_engine = make_engine(db.app_url, pool_size=2, max_overflow=0)
    owner_maker, app = make_sessionmaker(owner_engine), make_sessionmaker(app_engine)

    class Owner:  # the tests' owner fixture: sessions in the owner's scope
        def __call__(self) -> Any:
            s = owner_maker()
            bind_scope(s, lambda: DbScope(None, "bench:owner"))
            return s

    owner = Owner()
    server = None
    try:
        async with owner() as s, s.begin():
            await ensure_active_key(s, keyring)
        server = LiveServer(create_app(settings, clock=Clock())).start()
        tokens = TokenService(settings, KeyStore(app, keyring), Clock())
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            arranged = await _arrange(client, owner, tokens, tmp)
            seeded = await _seed(db.owner_url, arranged["clauses"], n)
            print(f"seeded {n:,} checkpoints with evidence in {seeded['seconds']:.1f} s",
                  file=sys.stderr)
            svc = await _service_run(app, arranged["fed"], arranged["region"])
            plain_s, counts = await _plain(db.owner_url)
            plain_s = min(plain_s, (await _plain(db.owner_url))[0])
            # the plain Python functions over the same evidence, in memory (no fetch)
            rules = {c[1]: c[4] for c in CLAUSES}
            params = {c[1]: {f"params.{p}": v for p, v in c[3].items()} for c in CLAUSES}
            t = time.perf_counter()
            mem: Counter[tuple[Any, bool]] = Counter()
            for partner, condition, ev in seeded["plain"]:
                mem[(partner, rules[condition](ev | params[condition]))] += 1
            memory_s = time.perf_counter() - t
            ms = await _submissions(client, arranged["partner"], seeded["checkpoint_ids"],
                                    submissions)
    finally:
        if server is not None:
            server.stop()
        await owner_engine.dispose()
        await app_engine.dispose()
    run = svc["run"]
    assert run.evaluated == n and not run.differing, (run.evaluated, len(run.differing))
    assert sum(r.met for r in run.rows) == seeded["met"] == sum(
        v for (_, ok), v in counts.items() if ok) == sum(v for (_, ok), v in mem.items() if ok)
    return {"service_s": min(svc["warm_s"], svc["run_s"]),
            "fetch_s": min(svc["warm_fetch_s"], svc["run_fetch_s"]), "plain_s": plain_s,
            "memory_s": memory_s, "submit_ms": ms, "met": seeded["met"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoints", type=int, default=100_000)
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--no-db", action="store_true")
    args = parser.parse_args()
    n = args.checkpoints
    m = in_memory(n)
    print(f"flexunion contracts bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
          f"{n:,} checkpoints, 3 conditions")
    print(f"per evaluation (condition alone): Compiled.evaluate {m['cond_us']:.3f} µs, "
          f"Python function {m['py_us']:.3f} µs, ratio {m['py_us'] / m['cond_us']:.3f} "
          "(target ≥ 0.3)")
    print(f"in memory: evaluation.evaluate_prepared + tally {m['service_s']:.3f} s "
          f"({n / m['service_s']:,.0f} evaluations/s); Python + Counter {m['python_s']:.3f} s "
          f"({n / m['python_s']:,.0f}/s); ratio {m['python_s'] / m['service_s']:.3f}; "
          f"evaluation.evaluate with its cache lookup (a submission's) {m['keyed_us']:.2f} µs")
    if args.no_db:
        return
    from tests.support import database

    tmp = Path(tempfile.mkdtemp(prefix="flexunion-contracts-"))
    db = None
    try:
        db = database.create(tmp)
        d = asyncio.run(through_db(db, tmp, n, args.submissions))
    finally:
        if db is not None:
            db.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    s, p = d["service_s"], d["plain_s"]
    print(f"database: evaluation.rerun (app role, RLS, one query + clauses, re-evaluate, compare, "
          f"tally) {s:.3f} s ({n / s:,.0f} evaluations/s), of which the evidence query "
          f"{d['fetch_s']:.3f} s; plain asyncpg + Python {p:.3f} s ({n / p:,.0f}/s); "
          f"ratio {p / s:.3f}")
    print(f"database: evaluation.rerun against the Python functions in memory "
          f"{d['memory_s']:.3f} s: ratio {d['memory_s'] / s:.3f}")
    ms = d["submit_ms"]
    if ms:
        print(f"submissions through the partner API: {len(ms)} sequential, p50 "
              f"{statistics.median(ms):.1f} ms, p95 {sorted(ms)[int(0.95 * (len(ms) - 1))]:.1f} "
              f"ms ({1000 / statistics.mean(ms):,.0f}/s)")


if __name__ == "__main__":
    main()
