"""协议条款, the officers' writes (HQ and regional admins): make an agreement with a platform;
add a clause to a draft version from one of HQ's templates (a form made from the template's
typed parameters and their bounds), change a draft clause's parameters or condition, take
it out; renew (a new draft version); put a version in force after a confirm step; a
clause's signed document, shown and downloaded. The same services as /v1/admin/contracts
(row-level security decides what is mine); a refused condition is shown next to its field
with the engine's line and column, what was typed kept."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.contracts.agreements import service
from flexunion.contracts.agreements.schemas import (
    KINDS,
    AgreementCreate,
    ClauseCreate,
    ClausePatch,
    RenewalCreate,
    agreement_read,
    clause_read,
    version_read,
)
from flexunion.contracts.documents import service as documents
from flexunion.contracts.templates import service as templates
from flexunion.contracts.templates.models import ClauseTemplate
from flexunion.contracts.templates.schemas import Parameter, parameters_of
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import DomainError
from flexunion.federation import directory

AgreementId = Annotated[uuid.UUID, PathParameter()]
ClauseId = Annotated[uuid.UUID, PathParameter()]
Number = Annotated[int, PathParameter(ge=1, le=100_000)]
TemplateQ = Annotated[str | None, QueryParameter(max_length=64)]
RENEWALS = {"none": ("不续签", "No renewal"), "manual": ("协商续签", "Renewed by agreement"),
            "automatic": ("自动续签", "Renews automatically")}
ROLES = {"union": ("工会", "Union"), "platform_business": ("平台业务部门", "Platform business"),
         "platform_hr": ("平台人力部门", "Platform HR"), "franchisee": ("加盟商", "Franchisee"),
         "carrier": ("运力服务商", "Carrier"), "other": ("其他", "Other")}
PARTY_ROWS = 4
AGREEMENT_FIELDS = {"agreement_code_taken": "code", "invalid_scope": "scope",
                    "unknown_partner": "partner", "invalid_term": "ends_on",
                    "scope_not_yours": "scope"}
_AT = re.compile(r"at `\$\.([a-z_]+)")


def _htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


T = TypeVar("T")


def _typed(form: Form, body: dict[str, Any], what: type[T]) -> T | None:
    """The body as `what`; refused, an error next to the field msgspec names."""
    try:
        return msgspec.convert({k: v for k, v in body.items() if v is not None}, what)
    except msgspec.ValidationError as exc:
        found = _AT.search(str(exc))
        message = form.t("输入有误：", "Invalid input: ") + str(exc)
        if found:
            form.errors[found.group(1)] = message
        else:
            form.problem = message
        return None


# ---- a new agreement -------------------------------------------------------------------------


async def _new_page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                    form: Form | None = None, status: int = 200) -> Response[str]:
    tenants = await directory.my_directory(session, caller)
    mine = set(tenants.subtree(tenants[caller.tenant_code]))
    scopes = sorted((e for e in tenants.values() if e.id in mine and e.kind in ("hq", "regional")),
                    key=lambda e: e.code)
    partners = await directory.partners(session, tenants.hq.id)
    return html(request, "contracts/new.html", status=status, menu="contracts", form=form,
                scopes=scopes, partners=sorted(partners.values(), key=lambda p: p.code),
                kinds=KINDS, renewals=RENEWALS, roles=ROLES, rows=range(PARTY_ROWS),
                own=caller.tenant_code)


@get("/new", include_in_schema=False)
async def new_agreement(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller]) -> Response[str]:
    return await _new_page(request, session, caller)


@post("/", include_in_schema=False)
async def create_agreement(request: Request[Any, Any, Any],
                           session: NamedDependency[AsyncSession],
                           caller: NamedDependency[Caller],
                           clock: NamedDependency[Clock]) -> Response[str]:
    form = await read_form(request, speaker(request))
    body: dict[str, Any] = {
        "code": form.text("code", max_length=64), "title": form.text("title", max_length=200),
        "kind": form.choice("kind", KINDS), "partner": form.text("partner", max_length=64),
        "scope": form.text("scope", required=False, max_length=64),
        "starts_on": form.text("starts_on", max_length=10),
        "ends_on": form.text("ends_on", max_length=10),
        "renewal": form.choice("renewal", RENEWALS) or "manual",
        "parties": _parties(form)}
    notice = form.text("renewal_notice_days", required=False, max_length=3)
    if notice is not None:
        if notice.isdigit():
            body["renewal_notice_days"] = int(notice)
        else:
            form.errors["renewal_notice_days"] = form.t("须为整数。", "Must be a whole number.")
    agreement = None
    if form.ok:
        data = _typed(form, body, AgreementCreate)
        if data is not None:
            agreement = await attempt(form, service.create(session, caller, data,
                                                           now=clock.now()), AGREEMENT_FIELDS)
    if agreement is None or not form.ok:
        return await _new_page(request, session, caller, form, form.status)
    return see_other(f"/console/contracts/{agreement.id}?done=created", htmx=_htmx(request))


def _parties(form: Form) -> list[dict[str, str]]:
    out = []
    for i in range(PARTY_ROWS):
        name = form.values.get(f"party_name_{i}", "").strip()
        if name:
            role = form.choice(f"party_role_{i}", ROLES) or "other"
            out.append({"role": role, "name": name})
    return out


# ---- clauses ---------------------------------------------------------------------------------


def _fields(params: list[Parameter]) -> list[dict[str, Any]]:
    """The inputs a template's parameters need: type, bounds, choices, default."""
    out = []
    for p in params:
        default = p.default
        if isinstance(default, list):
            default = "\n".join(str(v) for v in default)
        elif isinstance(default, bool):
            default = "true" if default else "false"
        out.append({"name": p.name, "field": f"p.{p.name}", "type": p.type,
                    "label_zh": p.label_zh, "label_en": p.label_en, "min": p.min, "max": p.max,
                    "choices": p.choices or [], "default": "" if default is None else default,
                    "step": "1" if p.type == "int" else "any"})
    return out


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _values(form: Form, params: list[Parameter]) -> dict[str, Any]:
    """The posted parameter values, typed (an empty one left out: the default, or missing)."""
    out: dict[str, Any] = {}
    for p in params:
        field = f"p.{p.name}"
        raw = form.values.get(field, "").strip()
        if not raw:
            continue
        try:
            if p.type == "int":
                out[p.name] = int(raw)
            elif p.type == "double":
                out[p.name] = float(raw)
            elif p.type == "bool":
                out[p.name] = {"true": True, "false": False}[raw]
            elif p.type == "list<string>":
                out[p.name] = [v.strip() for v in raw.splitlines() if v.strip()]
            else:
                out[p.name] = raw
        except (ValueError, KeyError):
            form.errors[field] = form.t("类型不符：须为" + _KIND_ZH[p.type] + "。",
                                        f"Wrong type: must be {_KIND_EN[p.type]}.")
    return out


_KIND_ZH = {"int": "整数", "double": "数字", "bool": "是或否", "list<string>": "每行一项",
            "enum": "列表中的一项", "string": "文字"}
_KIND_EN = {"int": "a whole number", "double": "a number", "bool": "yes or no",
            "list<string>": "one item a line", "enum": "one of the list", "string": "text"}


def refused(form: Form, exc: DomainError) -> None:
    """A clause refused: next to its field (`p.<name>`, `condition`) with where it fails."""
    form.status = exc.status
    path = str(exc.extra.get("path") or "")
    message = form.t.problem(exc)
    if exc.code.startswith("condition_") or path == "condition":
        line, column = exc.extra.get("line"), exc.extra.get("column")
        en = f"line {line}, column {column}: " if line is not None else ""
        form.errors["condition"] = form.t(str(exc.detail), en + str(exc.detail_en))
        form.values["_line"], form.values["_column"] = str(line or ""), str(column or "")
    elif path == "text":
        form.errors["text"] = message
    elif path.startswith("parameters."):
        form.errors["p." + path.removeprefix("parameters.")] = message
    elif exc.code in ("clause_key_taken",):
        form.errors["key"] = message
    else:
        form.problem = message


async def _clause_form(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                       agreement_id: uuid.UUID, number: int, *, template: ClauseTemplate | None,
                       clause: Any = None, form: Form | None = None,
                       status: int = 200) -> Response[str]:
    agreement = await service.access(session, agreement_id)
    tenants, partners = await service.codes(session, caller)
    shown = await service.version(session, agreement, number)
    listed = [] if template or clause else list(await templates.listed(session, caller))
    params = parameters_of(template.parameters) if template else []
    if form is None and clause is not None:
        form = Form(speaker(request), {f"p.{k}": _shown(v) for k, v in clause.parameters.items()}
                    | {"condition": clause.condition or "", "text": clause.text})
    return html(request, "contracts/clause_form.html", status=status, menu="contracts",
                agreement=agreement_read(agreement, tenants, partners),
                version=version_read(shown), tpl=template, templates=listed,
                fields=_fields(params), clause=clause_read(clause) if clause else None,
                form=form)


@get("/{agreement_id:uuid}/versions/{number:int}/clauses/new", include_in_schema=False)
async def new_clause(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller], agreement_id: AgreementId, number: Number,
                     template: TemplateQ = None) -> Response[str]:
    chosen = await templates.access(session, caller, template) if template else None
    return await _clause_form(request, session, caller, agreement_id, number, template=chosen)


@post("/{agreement_id:uuid}/versions/{number:int}/clauses", include_in_schema=False)
async def add_clause(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                     agreement_id: AgreementId, number: Number) -> Response[str]:
    form = await read_form(request, speaker(request))
    template = await templates.access(session, caller, form.values.get("template", ""))
    values = _values(form, parameters_of(template.parameters))
    key = form.text("key", required=False, max_length=64)
    condition = form.text("condition", required=False, max_length=2000)
    if form.ok:
        try:
            data = ClauseCreate(template=template.code, parameters=values, key=key,
                                condition=condition)
            await service.add_clause(session, caller, agreement_id, number, data,
                                     now=clock.now())
        except DomainError as exc:
            if exc.status == 404 and exc.code != "clause_template_not_found":
                raise
            refused(form, exc)
    if not form.ok:
        return await _clause_form(request, session, caller, agreement_id, number,
                                  template=template, form=form, status=form.status)
    return see_other(f"/console/contracts/{agreement_id}?version={number}&done=clause",
                     htmx=_htmx(request))


@get("/clauses/{clause_id:uuid}/edit", include_in_schema=False)
async def edit_clause(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller], clause_id: ClauseId) -> Response[str]:
    row = await service.clause(session, clause_id)
    template = await templates.by_id(session, row.template_id) if row.template_id else None
    return await _clause_form(request, session, caller, row.agreement_id, row.version_number,
                              template=template, clause=row)


@post("/clauses/{clause_id:uuid}", include_in_schema=False)
async def save_clause(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                      caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                      clause_id: ClauseId) -> Response[str]:
    form = await read_form(request, speaker(request))
    row = await service.clause(session, clause_id)
    template = await templates.by_id(session, row.template_id) if row.template_id else None
    values = _values(form, parameters_of(template.parameters) if template else [])
    condition = form.text("condition", required=False, max_length=2000)
    wording = form.text("text", required=False, max_length=20000)
    if form.ok:
        try:
            await service.patch_clause(session, clause_id, ClausePatch(
                parameters=values or None,
                condition=condition if condition != (row.condition or None) else None,
                text=wording if wording and wording != row.text else None),
                now=clock.now())
        except DomainError as exc:
            if exc.status == 404:
                raise
            refused(form, exc)
    if not form.ok:
        return await _clause_form(request, session, caller, row.agreement_id,
                                  row.version_number, template=template, clause=row, form=form,
                                  status=form.status)
    return see_other(f"/console/contracts/{row.agreement_id}?version={row.version_number}"
                     "&done=edited", htmx=_htmx(request))


@post("/clauses/{clause_id:uuid}/delete", include_in_schema=False)
async def delete_clause(request: Request[Any, Any, Any],
                        session: NamedDependency[AsyncSession],
                        clause_id: ClauseId) -> Response[str]:
    row = await service.remove_clause(session, clause_id)
    return see_other(f"/console/contracts/{row.agreement_id}?version={row.version_number}"
                     "&done=removed", htmx=_htmx(request))


# ---- renewal, putting in force, documents ----------------------------------------------------


async def _renew_page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                      agreement_id: uuid.UUID, form: Form | None = None,
                      status: int = 200) -> Response[str]:
    agreement = await service.access(session, agreement_id)
    tenants, partners = await service.codes(session, caller)
    latest = await service.version(session, agreement, agreement.latest_version)
    return html(request, "contracts/renew.html", status=status, menu="contracts", form=form,
                agreement=agreement_read(agreement, tenants, partners),
                latest=version_read(latest), renewals=RENEWALS)


@get("/{agreement_id:uuid}/renew", include_in_schema=False)
async def renew_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller],
                     agreement_id: AgreementId) -> Response[str]:
    return await _renew_page(request, session, caller, agreement_id)


@post("/{agreement_id:uuid}/renew", include_in_schema=False)
async def renew(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                agreement_id: AgreementId) -> Response[str]:
    form = await read_form(request, speaker(request))
    body = {"starts_on": form.text("starts_on", max_length=10),
            "ends_on": form.text("ends_on", max_length=10),
            "renewal": form.choice("renewal", RENEWALS, required=False),
            "note": form.text("note", required=False, max_length=2000)}
    made = None
    if form.ok:
        data = _typed(form, body, RenewalCreate)
        if data is not None:
            made = await attempt(form, service.renew(session, agreement_id, data,
                                                     now=clock.now()),
                                 {"invalid_term": "ends_on"})
    if made is None or not form.ok:
        return await _renew_page(request, session, caller, agreement_id, form, form.status)
    return see_other(f"/console/contracts/{agreement_id}?version={made.number}&done=renewed",
                     htmx=_htmx(request))


async def _confirm_page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                        agreement_id: uuid.UUID, number: int, form: Form | None = None,
                        status: int = 200) -> Response[str]:
    agreement = await service.access(session, agreement_id)
    tenants, partners = await service.codes(session, caller)
    shown = await service.version(session, agreement, number)
    clauses = [clause_read(c) for c in await service.version_clauses(session, shown)]
    return html(request, "contracts/in_force.html", status=status, menu="contracts", form=form,
                agreement=agreement_read(agreement, tenants, partners),
                version=version_read(shown), clauses=clauses)


@get("/{agreement_id:uuid}/versions/{number:int}/in-force", include_in_schema=False)
async def confirm_in_force(request: Request[Any, Any, Any],
                           session: NamedDependency[AsyncSession],
                           caller: NamedDependency[Caller], agreement_id: AgreementId,
                           number: Number) -> Response[str]:
    return await _confirm_page(request, session, caller, agreement_id, number)


@post("/{agreement_id:uuid}/versions/{number:int}/in-force", include_in_schema=False)
async def put_in_force(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       caller: NamedDependency[Caller], clock: NamedDependency[Clock],
                       agreement_id: AgreementId, number: Number) -> Response[str]:
    form = await read_form(request, speaker(request))
    if form.values.get("confirmed") != "yes":
        form.problem = form.t("请确认后再生效。", "Confirm first.")
    else:
        await attempt(form, service.put_in_force(
            session, agreement_id, number, signer=documents.desk_of(request.app.state),
            now=clock.now()))
    if not form.ok:
        return await _confirm_page(request, session, caller, agreement_id, number, form,
                                   form.status)
    return see_other(f"/console/contracts/{agreement_id}?version={number}&done=in_force",
                     htmx=_htmx(request))


@get("/clauses/{clause_id:uuid}/document", include_in_schema=False)
async def document_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        caller: NamedDependency[Caller], clause_id: ClauseId) -> Response[str]:
    row = await documents.desk_of(request.app.state).document(session, clause_id)
    agreement = await service.access(session, row.agreement_id)
    tenants, partners = await service.codes(session, caller)
    return html(request, "contracts/document.html", menu="contracts", clause=clause_read(row),
                agreement=agreement_read(agreement, tenants, partners), jws=row.document,
                kid=row.document_kid)


@get("/clauses/{clause_id:uuid}/document.jws", include_in_schema=False)
async def document_file(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                        clause_id: ClauseId) -> Response[str]:
    row = await documents.desk_of(request.app.state).document(session, clause_id)
    name = f"clause-{row.clause_key}-v{row.version_number}.jws"
    return Response(row.document or "", media_type="application/jose", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


router = Router("/contracts", route_handlers=[
    new_agreement, create_agreement, new_clause, add_clause, edit_clause, save_clause,
    delete_clause, renew_page, renew, confirm_in_force, put_in_force, document_page,
    document_file])
