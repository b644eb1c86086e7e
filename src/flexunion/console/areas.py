"""服务区域: where the union works — the jurisdictions of its regional unions, the
platforms' delivery zones (配送片区) and the stations' reach — on one map, with the list.

Areas come as a GeoJSON file, with the coordinate system it is written in (WGS84 from GPS,
GCJ-02 from Amap or Tencent, BD-09 from Baidu). The file is first checked exactly as the
API's upload checks it, and nothing is stored: each rejected feature is listed with its
problem, or, when every feature passes, what the upload would create, update and delete.
Only the officer's confirmation stores it (checked once more, the same way)."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from markupsafe import escape
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.console.forms import Form, read_form
from flexunion.console.i18n import Speaker
from flexunion.console.render import html, see_other, speaker
from flexunion.core.clock import Clock
from flexunion.core.context import Caller
from flexunion.core.errors import DomainError
from flexunion.geo.areas import service
from flexunion.geo.areas.models import AREA_KINDS
from flexunion.geo.areas.schemas import area_feature, area_read
from flexunion.geo.crs import LABELS, Crs

KIND_EN = {"jurisdiction": "Union jurisdiction", "delivery_zone": "Delivery zone",
           "station_coverage": "Station coverage"}
COLOURS = {"jurisdiction": "#1f5fa8", "delivery_zone": "#d97706",
           "station_coverage": "#7c3aed"}
BODY_MAX = service.MAX_UPLOAD + 64 * 1024  # the file and the form's other fields


def _legend(t: Speaker) -> str:
    return json.dumps([[COLOURS[k], t(zh, KIND_EN[k])] for k, zh in AREA_KINDS.items()],
                      ensure_ascii=False)


async def _page(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller, *,
                form: Form | None = None, problems: list[dict[str, Any]] | None = None,
                planned: Any = None, document: str | None = None,
                status: int = 200) -> Response[str]:
    t = speaker(request)
    rows, codes = await service.subtree_areas(session, caller)
    q = request.query_params
    return html(request, "areas/page.html", status=status, menu="areas",
                areas=[area_read(a, codes) for a in rows], kinds=AREA_KINDS, kind_en=KIND_EN,
                crs_labels=LABELS, legend=_legend(t), form=form, problems=problems,
                planned=planned, document=document, done=q.get("done"),
                counts={k: q.get(k, "0") for k in ("created", "updated", "deleted")})


@get("/", include_in_schema=False)
async def areas(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                caller: NamedDependency[Caller]) -> Response[str]:
    """The map and the list of my subtree's areas, and the upload form."""
    return await _page(request, session, caller)


@get("/map.geojson", include_in_schema=False)
async def areas_map(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                    caller: NamedDependency[Caller]) -> Response[dict[str, Any]]:
    """My subtree's areas as GeoJSON (WGS84), each with its kind and popup."""
    t = speaker(request)
    rows, codes = await service.subtree_areas(session, caller)
    features = []
    for a in rows:
        feature = area_feature(a, codes, Crs.WGS84)
        kind = t(AREA_KINDS[a.kind], KIND_EN[a.kind])
        feature["properties"]["popup"] = (
            f"<strong>{escape(t.of(a))}</strong> <code>{escape(a.code)}</code><br>"
            f"{escape(kind)} · {escape(codes.get(a.tenant_id, ''))}")
        features.append(feature)
    return Response({"type": "FeatureCollection", "features": features},
                    media_type="application/geo+json", headers={"Cache-Control": "no-store"})


def _options(form: Form) -> tuple[str | None, Crs | None, bool, bool]:
    kind = form.choice("kind", AREA_KINDS)
    crs = form.choice("crs", [c.value for c in Crs])
    return (kind, Crs(crs) if crs else None, form.values.get("repair") == "1",
            form.values.get("replace") == "1")


def _problems(exc: DomainError, doc: Any, t: Speaker) -> list[dict[str, Any]]:
    """Each refused feature as the officer knows it: its number in the file, code, name."""
    raw = doc.get("features") if isinstance(doc, dict) else None
    listed = []
    for e in exc.extra.get("errors", []):
        props: Any = None
        if isinstance(raw, list) and 0 <= e["feature"] < len(raw) and isinstance(
                raw[e["feature"]], dict):
            props = raw[e["feature"]].get("properties")
        props = props if isinstance(props, dict) else {}
        zh, en = str(props.get("name_zh") or ""), str(props.get("name_en") or "")
        listed.append({**e, "number": e["feature"] + 1, "name": t(zh, en) or zh,
                       "message": t(e["title"], e.get("title_en") or e["title"])})
    return listed


async def _checked(request: Request[Any, Any, Any], session: AsyncSession, caller: Caller,
                   form: Form, text: str | None, *, store: bool,
                   clock: Clock | None = None) -> Response[str]:
    """The one path of both steps: the service checks the document (and stores it only when
    `store`); refusals come back on the page, feature by feature."""
    t = form.t
    kind, crs, repair, replace = _options(form)
    doc: Any = None
    if text is not None:
        try:
            doc = json.loads(text)
        except ValueError:
            form.errors["file"] = t("文件不是有效的 GeoJSON（JSON 格式错误）。",
                                    "The file is not valid GeoJSON (malformed JSON).")
    if not form.ok or doc is None or kind is None or crs is None:
        return await _page(request, session, caller, form=form, status=422)
    try:
        if store:
            assert clock is not None
            result = await service.upload(session, caller, kind, doc, crs=crs, repair=repair,
                                          replace=replace, now=clock.now(), via="console")
        else:
            planned = await service.plan(session, caller, kind, doc, crs=crs, repair=repair,
                                         replace=replace)
    except DomainError as exc:
        if exc.status == 404:
            raise
        if exc.code == "invalid_features":
            return await _page(request, session, caller, form=form, status=exc.status,
                               problems=_problems(exc, doc, t))
        form.refused(exc)
        return await _page(request, session, caller, form=form, status=exc.status)
    if store:
        return see_other(f"/console/areas?done=uploaded&created={len(result.created)}"
                         f"&updated={len(result.updated)}&deleted={len(result.deleted)}")
    return await _page(request, session, caller, form=form, planned=planned, document=text)


@post("/check", include_in_schema=False, request_max_body_size=BODY_MAX)
async def check_upload(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                       caller: NamedDependency[Caller]) -> Response[str]:
    """Step 1: the file checked as the upload checks it; nothing stored."""
    form = await read_form(request, speaker(request))
    upload = (await request.form()).get("file")
    text = None
    if not isinstance(upload, UploadFile) or not upload.filename:
        form.errors["file"] = form.t("请选择一个 GeoJSON 文件。", "Choose a GeoJSON file.")
    else:
        try:
            text = (await upload.read()).decode("utf-8-sig")
        except UnicodeDecodeError:
            form.errors["file"] = form.t("文件不是 UTF-8 编码的 GeoJSON。",
                                         "The file is not GeoJSON in UTF-8.")
        if text is not None and not text.strip():
            form.errors["file"] = form.t("文件是空的。", "The file is empty.")
            text = None
    return await _checked(request, session, caller, form, text, store=False)


@post("/upload", include_in_schema=False, request_max_body_size=BODY_MAX)
async def confirm_upload(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession],
                         caller: NamedDependency[Caller],
                         clock: NamedDependency[Clock]) -> Response[str]:
    """Step 2, the officer's confirmation: the same document checked again and stored."""
    form = await read_form(request, speaker(request))
    text = form.values.pop("document", "") or None
    if text is None:
        form.errors["file"] = form.t("请选择一个 GeoJSON 文件。", "Choose a GeoJSON file.")
    return await _checked(request, session, caller, form, text, store=True, clock=clock)


router = Router("/areas", route_handlers=[areas, areas_map, check_upload, confirm_upload])
