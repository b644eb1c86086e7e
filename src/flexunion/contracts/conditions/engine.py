"""条款条件 The condition engine: CEL over a clause's typed evidence schema. Pure: no database,
no HTTP; the templates, the clauses and (later) the checkpoints use it.

- `parse_schema(raw)` checks an evidence schema: an object whose fields are a type name
  (`bool`, `int`, `double`, `string`,
  `list<string>`) or a nested object of the same kind (at most 3 deep),
  e.g. `{"commission_rate": "double", "appeals": {"p95_reply_hours": "double"}}`.
- `compile(source, schema)` parses and type-checks the condition with the official CEL
  checker (cel-expr-python, Google's C++ implementation): every variable must be declared by
  the schema, every operator must fit its operands' types (`72` is an int: compare a double
  with `72.0`), and the result must be a bool. A nested field is declared as its qualified
  name (`appeals.p95_reply_hours`), so a misspelt field is an undeclared reference, found at
  save time. Failures raise `ConditionError` with a stable code and the line and column.
- `Compiled.evaluate(evidence)` → `(result, read)`: the boolean and the value of every
  schema variable the condition refers to (what a checkpoint stores beside the result, so it
  can be re-run later and give the same answer) — the checked condition's Python
  translation (fast.py) where there is one, handing every error to cel-expr-python; else
  cel-expr-python.
- `validate_evidence(schema, evidence)` checks evidence JSON against the schema (every
  field present, nothing unknown, int is not bool, an int is accepted for a double) and
  returns it flattened to the qualified names the condition reads; `validator(schema)` is
  the same built once per schema as straight-line code (what a submission runs).

docs/contracts.md has the measurements behind the library choice."""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cel_expr_python import cel

from flexunion.contracts.conditions import fast

TYPES: dict[str, Any] = {"bool": cel.Type.BOOL, "int": cel.Type.INT, "double": cel.Type.DOUBLE,
                         "string": cel.Type.STRING,
                         "list<string>": cel.Type.List(cel.Type.STRING)}
MAX_DEPTH = 3
MAX_FIELDS = 64
MAX_SOURCE = 2000
INT_RANGE = (-(2**63), 2**63 - 1)
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_WHERE = re.compile(r"<input>:(\d+):(\d+): (.*?)(?:\n|$)")
# CEL's reserved words may not name a field (the parser would refuse every condition).
_RESERVED = frozenset({"true", "false", "null", "in", "as", "break", "const", "continue",
                       "else", "for", "function", "if", "import", "let", "loop", "package",
                       "namespace", "return", "var", "void", "while"})


class ConditionError(ValueError):
    """A schema, condition or evidence refused; `code` is stable, `line`/`column` 1-based."""

    def __init__(self, code: str, message: str, *, line: int | None = None,
                 column: int | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.line, self.column, self.path = (
            code, message, line, column, path)


Schema = dict[str, str]  # qualified name → type name, in declaration order


def parse_schema(raw: Any) -> Schema:
    """The schema flattened to qualified names; ConditionError `evidence_schema_invalid`."""
    out: Schema = {}

    def walk(node: Any, prefix: str, depth: int) -> None:
        if not isinstance(node, dict) or not node:
            raise ConditionError("evidence_schema_invalid",
                                 f"{prefix or '$'}: must be a non-empty object of fields",
                                 path=prefix or "$")
        for name, value in node.items():
            path = f"{prefix}.{name}" if prefix else name
            if not isinstance(name, str) or not _NAME.fullmatch(name) or name in _RESERVED:
                raise ConditionError("evidence_schema_invalid",
                                     f"{path}: a field name is lower_snake_case (not a CEL "
                                     "reserved word)", path=path)
            if isinstance(value, dict):
                if depth >= MAX_DEPTH:
                    raise ConditionError("evidence_schema_invalid",
                                         f"{path}: nested deeper than {MAX_DEPTH}", path=path)
                walk(value, path, depth + 1)
            elif value in TYPES:
                out[path] = value
            else:
                raise ConditionError("evidence_schema_invalid",
                                     f"{path}: type must be one of {', '.join(TYPES)} or an "
                                     "object", path=path)
            if len(out) > MAX_FIELDS:
                raise ConditionError("evidence_schema_invalid",
                                     f"at most {MAX_FIELDS} fields", path=path)

    walk(raw, "", 1)
    return out


def schema_key(schema: Schema) -> str:
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()


def _env(schema: Schema, leave_out: str | None = None) -> Any:
    return cel.NewEnv(variables={n: TYPES[t] for n, t in schema.items() if n != leave_out})


def _refused(exc: Exception) -> ConditionError:
    text = str(exc)
    found = _WHERE.search(text)
    line, column, message = ((int(found[1]), int(found[2]), found[3].strip()) if found
                             else (None, None, text))
    code = "condition_syntax" if message.startswith("Syntax error") else "condition_ill_typed"
    return ConditionError(code, message, line=line, column=column)


@dataclass(frozen=True, slots=True)
class Compiled:
    """`evaluate(evidence)` → `(result, {variable: value read})`, `evidence` flattened
    (validate_evidence's answer); ConditionError `condition_eval_error` for a runtime error
    (e.g. a division by zero). It is the checked condition's Python translation where there
    is one (fast.py: the answer and the variables read in one call, no wrapper), which hands
    every error and anything but a bool to cel-expr-python; otherwise cel-expr-python."""

    source: str
    schema: Schema
    reads: tuple[str, ...]
    _expr: Any = field(repr=False)
    evaluate: Callable[[dict[str, Any]], tuple[bool, dict[str, Any]]] = field(repr=False)
    # the translation alone (raises where Python and CEL could differ), or None
    _fast: Callable[[dict[str, Any]], tuple[Any, dict[str, Any]]] | None = field(
        default=None, repr=False)

    def evaluate_in_cel(self, data: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """The reference evaluator (cel-expr-python) alone, over the variables read."""
        return _in_cel(self._expr, data)


def _in_cel(expr: Any, data: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    value = expr.eval(data=data)
    result = value.value()
    if not isinstance(result, bool):
        raise ConditionError("condition_eval_error", str(result))
    return result, data


def _evaluator(expr: Any, reads: tuple[str, ...],
               ) -> Callable[[dict[str, Any]], tuple[bool, dict[str, Any]]]:
    def in_cel(evidence: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        return _in_cel(expr, {name: evidence[name] for name in reads})
    return in_cel


_CACHE: OrderedDict[tuple[str, str], Compiled] = OrderedDict()
CACHE_SIZE = 1024


def compile(source: str, schema: Schema) -> Compiled:
    """Parse and type-check `source` against `schema` (parse_schema's answer)."""
    if not source.strip() or len(source) > MAX_SOURCE:
        raise ConditionError("condition_syntax",
                             f"a condition is 1–{MAX_SOURCE} characters", line=1, column=1)
    key = (source, schema_key(schema))
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    try:
        expr = _env(schema).compile(source)
    except RuntimeError as exc:
        raise _refused(exc) from None
    returns = expr.return_type()
    if returns != cel.Type.BOOL:
        raise ConditionError("condition_not_boolean",
                             f"the condition gives {returns.name().lower()}, not a bool",
                             line=1, column=1)
    reads = _reads(source, schema)
    in_cel = _evaluator(expr, reads)
    compiled = Compiled(source, dict(schema), reads, expr,
                        fast.translate(source, schema, reads, fallback=in_cel) or in_cel,
                        fast.translate(source, schema, reads))
    _CACHE[key] = compiled
    if len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return compiled


def _reads(source: str, schema: Schema) -> tuple[str, ...]:
    """The variables the condition refers to, exactly: those without which the checker
    refuses it (only names whose last part appears in the text are tried)."""
    found = []
    for name in schema:
        if name.rsplit(".", 1)[-1] not in source:
            continue
        try:
            _env(schema, leave_out=name).compile(source)
        except RuntimeError:
            found.append(name)
    return tuple(found)


def validate_evidence(schema: Schema, evidence: Any) -> dict[str, Any]:
    """Evidence JSON checked against the schema, flattened; ConditionError
    `evidence_invalid` naming the first field at fault (`path`)."""
    flat: dict[str, Any] = {}
    tree: dict[str, Any] = {}
    for name in schema:
        node = tree
        *parents, leaf = name.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = name

    def walk(expected: dict[str, Any], given: Any, prefix: str) -> None:
        if not isinstance(given, dict):
            raise ConditionError("evidence_invalid", f"{prefix or '$'}: must be an object",
                                 path=prefix or "$")
        for key in given:
            if key not in expected:
                path = f"{prefix}.{key}" if prefix else str(key)
                raise ConditionError("evidence_invalid", f"{path}: not in the clause's schema",
                                     path=path)
        for key, sub in expected.items():
            path = f"{prefix}.{key}" if prefix else key
            if key not in given:
                raise ConditionError("evidence_invalid", f"{path}: missing", path=path)
            if isinstance(sub, dict):
                walk(sub, given[key], path)
            else:
                flat[sub] = _typed(schema[sub], given[key], path)

    walk(tree, evidence, "")
    return flat


def validator(schema: Schema, extra: dict[str, Any] | None = None,
              ) -> Callable[[Any], dict[str, Any]]:
    """`validate_evidence(schema, ·) | extra` as one function built once per schema: valid
    evidence of the exact JSON types (dict, bool, int, float, str, list of str) is checked
    and flattened by straight-line code; anything else — an error, an int for a double, a
    subclass — is answered by `validate_evidence` itself, so the answers and the errors are
    the same (a property test holds them together)."""
    tree: dict[str, Any] = {}
    for name in schema:
        node = tree
        *parents, leaf = name.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = name
    lines: list[str] = []
    leaves: dict[str, str] = {}
    scope: dict[str, Any] = {"_slow": validate_evidence, "_schema": dict(schema),
                             "_extra": dict(extra or {}), "_MIN": INT_RANGE[0],
                             "_MAX": INT_RANGE[1], "dict": dict, "bool": bool, "int": int,
                             "float": float, "str": str, "list": list, "__builtins__": {}}

    def walk(expected: dict[str, Any], var: str) -> None:
        keys = f"_k{len(scope)}"
        scope[keys] = frozenset(expected)
        lines.append(f"    if {var}.__class__ is not dict or {var}.keys() != {keys}:"
                     " return _slow(_schema, e) | _extra")
        for key, sub in expected.items():
            local = f"_{len(leaves)}_{len(lines)}"
            lines.append(f"    {local} = {var}[{key!r}]")
            if isinstance(sub, dict):
                walk(sub, local)
                continue
            leaves[sub] = local
            test = {"bool": f"{local}.__class__ is bool",
                    "int": f"{local}.__class__ is int and _MIN <= {local} <= _MAX",
                    "double": f"{local}.__class__ is float and {local} - {local} == 0.0",
                    "string": f"{local}.__class__ is str",
                    "list<string>": f"{local}.__class__ is list and all(x.__class__ is str"
                                    f" for x in {local})"}[schema[sub]]
            lines.append(f"    if not ({test}): return _slow(_schema, e) | _extra")

    walk(tree, "e")
    scope["all"] = all
    fixed = ", ".join(f"{k!r}: _extra[{k!r}]" for k in (extra or {}))
    flat = ", ".join(f"{n!r}: {leaves[n]}" for n in schema)
    # Built from repr()-quoted field names (checked by parse_schema) and numbered locals only.
    text = ("def _valid(e):\n" + "\n".join(lines) +
            f"\n    return {{{flat}{', ' if flat and fixed else ''}{fixed}}}\n")
    exec(text, scope)  # built from repr()s and numbered locals only (above)
    function: Callable[[Any], dict[str, Any]] = scope["_valid"]
    return function


def _typed(kind: str, value: Any, path: str) -> Any:
    ok: bool
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "int":
        ok = (isinstance(value, int) and not isinstance(value, bool)
              and INT_RANGE[0] <= value <= INT_RANGE[1])
    elif kind == "double":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            value = float(value)
            ok = value == value and value not in (float("inf"), float("-inf"))
    elif kind == "list<string>":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ConditionError("evidence_invalid", f"{path}: must be a {kind}", path=path)
    return value
