"""服务目录: the catalogue as it applies to the officer's unit (HQ's entries federation-wide,
the region's own); HQ and regional admins add and edit their own entries — who may apply,
the materials list (one line each: `code | 中文 | English | 选填`), the reviewing unit and
the time limit in working days. The same service as /v1/admin/services."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.console.forms import Form, attempt, read_form
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller, Role
from flexunion.services.catalogue import service
from flexunion.services.catalogue.schemas import KINDS, UNITS, WHO, EntrySave

ServiceCode = Annotated[str, PathParameter(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
                                                  max_length=64)]
FIELDS = {"service_invalid": "materials", "service_entry_not_yours": "code"}


def _admin(caller: Caller) -> bool:
    return caller.role in (Role.HQ_ADMIN, Role.REGIONAL_ADMIN)


def _lines(materials: list[dict[str, Any]]) -> str:
    return "\n".join(f"{m['code']} | {m['label_zh']} | {m['label_en']}"
                     + ("" if m.get("required", True) else " | 选填") for m in materials)


def _values(o: service.Offered | None) -> dict[str, str]:
    if o is None:
        return {"kind": "application", "reviewing_unit": "station", "time_limit_days": "5",
                "who": "any_member"}
    r = o.row
    return {"code": r.code, "kind": r.kind, "title_zh": r.title_zh, "title_en": r.title_en,
            "summary_zh": r.summary_zh, "who": r.eligibility.get("who", "any_member"),
            "groups": " ".join(r.eligibility.get("groups", [])),
            "materials": _lines(r.materials), "reviewing_unit": r.reviewing_unit,
            "time_limit_days": str(r.time_limit_days), "active": "on" if r.active else ""}


async def _page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                form: Form | None = None, status: int = 200,
                editing: service.Offered | None = None) -> Response[str]:
    entries = await service.listed(session, caller)
    mine = editing is None or editing.row.tenant_id == caller.tenant_id
    return html(request, "service_catalogue/list.html", status=status, menu="service_catalogue",
                entries=entries, kinds=KINDS, units=UNITS, who=WHO, admin=_admin(caller),
                editing=editing, mine=mine,
                form=form or Form(speaker(request), _values(editing)),
                done=request.query_params.get("done"))


@get("/", include_in_schema=False)
async def catalogue_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                         caller: NamedDependency[Caller]) -> Response[str]:
    return await _page(request, session, caller)


@get("/{code:str}", include_in_schema=False)
async def entry_page(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller], code: ServiceCode) -> Response[str]:
    return await _page(request, session, caller, editing=await service.entry(session, caller,
                                                                             code))


def _materials(form: Form) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(form.values.get("materials", "").splitlines(), start=1):
        parts = [p.strip() for p in line.split("|")]
        if not any(parts):
            continue
        if len(parts) < 3:
            form.errors["materials"] = form.t(f"第 {n} 行应为：代码 | 中文 | English [| 选填]",
                                              f"Line {n}: code | 中文 | English [| optional]")
            return []
        out.append({"code": parts[0], "label_zh": parts[1], "label_en": parts[2],
                    "required": not (len(parts) > 3 and parts[3] in ("选填", "optional"))})
    return out


@post("/", include_in_schema=False)
async def save_entry(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                     caller: NamedDependency[Caller],
                     clock: NamedDependency[Clock]) -> Response[str]:
    form = await read_form(request, speaker(request))
    who = form.choice("who", WHO) or "any_member"
    body: dict[str, Any] = {"code": form.text("code", max_length=64),
            "kind": form.choice("kind", KINDS),
            "title_zh": form.text("title_zh", max_length=200),
            "title_en": form.text("title_en", max_length=200),
            "summary_zh": form.text("summary_zh", required=False, max_length=2000) or "",
            "eligibility": {"who": who, "groups": form.values.get("groups", "").split()
                            if who == "groups" else []},
            "materials": _materials(form),
            "reviewing_unit": form.choice("reviewing_unit", UNITS),
            "time_limit_days": form.values.get("time_limit_days", "").strip(),
            "active": form.values.get("active") == "on"}
    data = None
    if form.ok:
        try:
            body["time_limit_days"] = int(str(body["time_limit_days"]))
            data = msgspec.convert(body, EntrySave)
        except (ValueError, msgspec.ValidationError) as exc:
            form.problem = form.t("输入有误：", "Invalid input: ") + str(exc)
    if form.ok and data is not None:
        await attempt(form, service.save(session, caller, data, now=clock.now()), FIELDS)
    if not form.ok:
        return await _page(request, session, caller, form, form.status)
    return see_other(f"/console/service-catalogue/{body['code']}?done=saved",
                     htmx=request.headers.get("hx-request") == "true")


router = Router("/service-catalogue", route_handlers=[catalogue_page, entry_page, save_entry])
