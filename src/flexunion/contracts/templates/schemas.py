"""Clause template schemas: typed parameters, the template itself, and the pure checks a
template and a clause's parameter values go through (templates and clauses share them)."""

from __future__ import annotations

import re
import string
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from flexunion.contracts.conditions import engine

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
Name = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=8000)]
ParamType = Literal["int", "double", "string", "bool", "enum", "list<string>"]
Kind = Literal["union", "outcome"]
Topic = Literal["dispatch_rules", "commission_rates", "overtime", "appeals", "rest",
                "rewards_penalties", "other"]
# A parameter's CEL type when a condition reads it as `params.<name>`.
CEL_TYPE = {"int": "int", "double": "double", "string": "string", "bool": "bool",
            "enum": "string", "list<string>": "list<string>"}
KINDS = {"union": ("工会条款", "Union clause"), "outcome": ("协商成果", "Bargaining outcome")}
_PLACEHOLDER = re.compile(r"\$\{([a-z][a-z0-9_]*)\}")


class Parameter(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One typed parameter: `min`/`max` for numbers, `choices` for an enum, `max_items` for
    a list; `from_detail` (outcome templates) fills it from the agenda item's details,
    multiplied by `scale` (e.g. proposed_rate_pct × 0.01)."""

    name: Name
    type: ParamType
    label_zh: Label
    label_en: Label
    min: float | None = None
    max: float | None = None
    choices: Annotated[list[Label], msgspec.Meta(max_length=32)] | None = None
    max_items: Annotated[int, msgspec.Meta(ge=1, le=200)] | None = None
    default: Any = None
    from_detail: Name | None = None
    scale: float | None = None


class TemplateCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A template saved by HQ (created, or a new revision of the one with this code)."""

    code: Code
    kind: Kind
    topic: Topic | None = None
    title_zh: Label
    title_en: Label
    text: Body
    parameters: Annotated[list[Parameter], msgspec.Meta(max_length=32)] = []
    evidence_schema: dict[str, Any] | None = None
    condition: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None = None


class TemplateRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    kind: str
    kind_zh: str
    kind_en: str
    topic: str | None
    title_zh: str
    title_en: str
    text: str
    parameters: list[dict[str, Any]]
    evidence_schema: dict[str, Any] | None
    condition: str | None
    revision: int
    updated_at: datetime


class TemplateError(ValueError):
    """A template or parameter values refused: `code`, the message, and where (a path)."""

    def __init__(self, code: str, message: str, *, path: str | None = None,
                 line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.path, self.line, self.column = (
            code, message, path, line, column)


def condition_schema(evidence_schema: dict[str, Any] | None,
                     parameters: list[Parameter]) -> engine.Schema:
    """The evidence schema flattened, plus `params.<name>` for every parameter."""
    flat = engine.parse_schema(evidence_schema) if evidence_schema else {}
    if "params" in (evidence_schema or {}):
        raise engine.ConditionError("evidence_schema_invalid",
                                    "params: reserved for the clause's parameters",
                                    path="params")
    return flat | {f"params.{p.name}": CEL_TYPE[p.type] for p in parameters}


def check_template(data: TemplateCreate) -> engine.Compiled | None:
    """The template's own consistency: topic only for outcomes, unique parameter names that
    fit their type, every `${name}` in the text declared, and the condition type-checked
    against the evidence schema and the parameters."""
    if (data.kind == "outcome") != (data.topic is not None):
        raise TemplateError("template_invalid", "an outcome template names its topic; a union"
                            " clause template names none", path="topic")
    names = [p.name for p in data.parameters]
    if len(set(names)) != len(names):
        raise TemplateError("template_invalid", "parameter names must be unique",
                            path="parameters")
    for i, p in enumerate(data.parameters):
        _check_parameter(p, f"parameters[{i}]")
    for found in _PLACEHOLDER.findall(data.text):
        if found not in names:
            raise TemplateError("template_invalid", f"text: ${{{found}}} is not a parameter",
                                path="text")
    if data.condition is not None and data.evidence_schema is None:
        raise TemplateError("template_invalid", "a condition needs an evidence schema",
                            path="evidence_schema")
    return compile_condition(data.condition, data.evidence_schema, data.parameters)


def compile_condition(condition: str | None, evidence_schema: dict[str, Any] | None,
                      parameters: list[Parameter]) -> engine.Compiled | None:
    if condition is None:
        if evidence_schema is not None:
            condition_schema(evidence_schema, parameters)
        return None
    try:
        return engine.compile(condition, condition_schema(evidence_schema, parameters))
    except engine.ConditionError as exc:
        raise TemplateError(exc.code, exc.message, path=exc.path or "condition",
                            line=exc.line, column=exc.column) from None


def _check_parameter(p: Parameter, path: str) -> None:
    if p.type == "enum" and not p.choices:
        raise TemplateError("template_invalid", f"{path}: an enum lists its choices", path=path)
    if p.type != "enum" and p.choices is not None:
        raise TemplateError("template_invalid", f"{path}: only an enum has choices", path=path)
    if (p.min is not None or p.max is not None) and p.type not in ("int", "double"):
        raise TemplateError("template_invalid", f"{path}: min/max are for numbers", path=path)
    if p.min is not None and p.max is not None and p.min > p.max:
        raise TemplateError("template_invalid", f"{path}: min is above max", path=path)
    if p.default is not None:
        try:
            typed_value(p, p.default, f"{path}.default")
        except TemplateError as exc:
            raise TemplateError("template_invalid", exc.message, path=exc.path) from None


def typed_value(p: Parameter, value: Any, path: str) -> Any:
    """`value` checked against the parameter's type and bounds (TemplateError
    `parameter_invalid`), an int accepted for a double."""
    bad = TemplateError("parameter_invalid", f"{path}: must be {_expected(p)}", path=path)
    if p.type == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad
    elif p.type == "double":
        if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
            raise bad
        value = float(value)
    elif p.type == "bool":
        if not isinstance(value, bool):
            raise bad
    elif p.type == "list<string>":
        if (not isinstance(value, list) or not all(isinstance(v, str) and v for v in value)
                or len(value) > (p.max_items or 200) or len(set(value)) != len(value)):
            raise bad
    elif p.type == "enum":
        if value not in (p.choices or []):
            raise bad
    elif not isinstance(value, str) or not value.strip() or len(value) > 2000:
        raise bad
    if p.type in ("int", "double") and (
            (p.min is not None and value < p.min) or (p.max is not None and value > p.max)):
        raise bad
    return value


def _expected(p: Parameter) -> str:
    if p.type == "enum":
        return "one of " + ", ".join(p.choices or [])
    bounds = ""
    if p.min is not None or p.max is not None:
        bounds = f" in [{'' if p.min is None else p.min}, {'' if p.max is None else p.max}]"
    return {"int": "an integer", "double": "a number", "bool": "true or false",
            "list<string>": "a list of distinct non-empty strings",
            "string": "a non-empty string"}[p.type] + bounds


def check_values(parameters: list[Parameter], values: dict[str, Any], *,
                 allow_missing: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Values for a clause: every parameter typed, defaults filled, nothing unknown; missing
    ones listed (refused unless `allow_missing`, for a clause drafted from an agenda item)."""
    by_name = {p.name: p for p in parameters}
    for key in values:
        if key not in by_name:
            raise TemplateError("parameter_invalid", f"parameters.{key}: not a parameter of "
                                "the template", path=f"parameters.{key}")
    out: dict[str, Any] = {}
    missing: list[str] = []
    for p in parameters:
        if p.name in values and values[p.name] is not None:
            out[p.name] = typed_value(p, values[p.name], f"parameters.{p.name}")
        elif p.default is not None:
            out[p.name] = typed_value(p, p.default, f"parameters.{p.name}")
        else:
            missing.append(p.name)
    if missing and not allow_missing:
        raise TemplateError("parameter_missing", "parameters missing: " + ", ".join(missing),
                            path=f"parameters.{missing[0]}")
    return out, missing


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def render(text: str, values: dict[str, Any]) -> str:
    """The template text with `${name}` replaced (a missing value stays `${name}`)."""
    return string.Template(text).safe_substitute({k: _shown(v) for k, v in values.items()})


def parameters_of(raw: list[dict[str, Any]]) -> list[Parameter]:
    return msgspec.convert(raw, type=list[Parameter])


def template_read(row: Any) -> TemplateRead:
    kind = KINDS[row.kind]
    return TemplateRead(id=row.id, code=row.code, kind=row.kind, kind_zh=kind[0],
                        kind_en=kind[1], topic=row.topic, title_zh=row.title_zh,
                        title_en=row.title_en, text=row.text, parameters=row.parameters,
                        evidence_schema=row.evidence_schema, condition=row.condition,
                        revision=row.revision, updated_at=row.updated_at)
