"""A checkpoint's evidence evaluated: the clause's condition prepared once per (condition,
evidence schema, parameters) — compiled over the schema and the parameters as stored, and the
schema's evidence validator built (engine.validator) — then each submission validated,
flattened and evaluated in one call; `rerun` evaluates a quarter's stored evidence again from
what was stored. Pure but for `rerun`'s one read (docs/contracts.md)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import rfc8785
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.contracts.agreements import service as agreements
from flexunion.contracts.agreements.models import AgreementClause
from flexunion.contracts.checkpoints import compliance as tallies
from flexunion.contracts.checkpoints import repository
from flexunion.contracts.conditions import engine
from flexunion.core.context import Caller

_PARAM_TYPES = ((bool, "bool"), (int, "int"), (float, "double"), (str, "string"),
                (list, "list<string>"))


def sha256_of(evidence: Any) -> str:
    return hashlib.sha256(rfc8785.dumps(evidence)).hexdigest()


def _param_type(value: Any) -> str:
    for kind, name in _PARAM_TYPES:
        if isinstance(value, kind):
            return name
    raise engine.ConditionError("condition_eval_error", f"parameter of type {type(value)}")


def condition_of(clause: AgreementClause, parameters: dict[str, Any], source: str,
                 schema: engine.Schema | None = None) -> engine.Compiled:
    """The clause's condition compiled over its evidence schema and its parameters (typed as
    they were stored when the clause was saved: the values were checked then)."""
    if schema is None:
        schema = engine.parse_schema(clause.evidence_schema)
    return engine.compile(source, schema | {
        f"params.{k}": _param_type(v) for k, v in parameters.items()})


@dataclass(frozen=True, slots=True)
class Prepared:
    """A clause's condition ready to evaluate: compiled over its schema and parameters, and
    the evidence's validator with the parameters added (engine.validator)."""

    compiled: engine.Compiled
    flatten: Callable[[Any], dict[str, Any]]


_PREPARED: OrderedDict[tuple[str, str, str], Prepared] = OrderedDict()
PREPARED_SIZE = 1024


def prepared(clause: AgreementClause, parameters: dict[str, Any], source: str) -> Prepared:
    """Once per (condition, evidence schema, parameters): the key is their repr(), exact
    for JSON values (an int is not a float, order kept), so nothing is re-parsed, re-keyed
    or re-compiled per submission."""
    assert clause.evidence_schema is not None
    key = (source, repr(clause.evidence_schema), repr(parameters))
    hit = _PREPARED.get(key)
    if hit is not None:
        _PREPARED.move_to_end(key)
        return hit
    schema = engine.parse_schema(clause.evidence_schema)
    compiled = condition_of(clause, parameters, source, schema)
    made = Prepared(compiled, engine.validator(
        schema, {f"params.{k}": v for k, v in parameters.items()}))
    _PREPARED[key] = made
    if len(_PREPARED) > PREPARED_SIZE:
        _PREPARED.popitem(last=False)
    return made


def evaluate(clause: AgreementClause, parameters: dict[str, Any], source: str,
             evidence: Any) -> tuple[bool | None, dict[str, Any], str | None]:
    """(result, variables read with their values, error): validate, flatten, evaluate."""
    return evaluate_prepared(prepared(clause, parameters, source), evidence)


def evaluate_prepared(ready: Prepared, evidence: Any,
                      ) -> tuple[bool | None, dict[str, Any], str | None]:
    flat = ready.flatten(evidence)
    try:
        result, read = ready.compiled.evaluate(flat)
    except engine.ConditionError as exc:
        return None, {n: flat[n] for n in ready.compiled.reads}, exc.message
    return result, read, None


@dataclass(frozen=True, slots=True)
class Rerun:
    rows: list[tallies.PartnerCompliance]  # met / breached / evaluation_failed per partner
    evaluated: int
    differing: list[uuid.UUID]  # evidence whose answer or values read differ from stored


async def rerun(session: AsyncSession, caller: Caller, quarter: str) -> Rerun:
    """季度合规核查, evaluated again: the latest evidence of every checkpoint due in `quarter`
    that the caller sees, re-run from what was stored (condition, parameters, evidence)
    against its clause's schema — each condition prepared once, not once per checkpoint —
    and the evidence whose result or values read are not the stored ones."""
    first, last = tallies.bounds(quarter)
    rows = await repository.latest_evidence(session, first, last)
    clauses = await agreements.clauses(session, {r[2] for r in rows})
    _tenants, partners = await agreements.codes(session, caller)
    ready: dict[tuple[uuid.UUID, str, str], Prepared] = {}
    statuses: list[tuple[str, str]] = []
    differing: list[uuid.UUID] = []
    for _cp, partner_id, clause_id, evidence_id, evidence, condition, params, read, stored in rows:
        key = (clause_id, condition, params)
        prep = ready.get(key)
        if prep is None:
            prep = ready[key] = prepared(clauses[clause_id], json.loads(params), condition)
        try:
            result, now_read, _error = evaluate_prepared(prep, evidence)
        except engine.ConditionError:  # evidence the schema no longer takes
            result, now_read = None, {}
        if result is not stored or now_read != read:
            differing.append(evidence_id)
        statuses.append((partners.get(partner_id, str(partner_id)),
                         "evaluation_failed" if result is None else
                         "met" if result else "breached"))
    return Rerun(tallies.tally(quarter, statuses), len(rows), differing)
