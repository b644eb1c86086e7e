"""需求清单 intake paths no other test walks: evidence on a case (worker and staff), where a
case lands when the worker names a delivery zone or a point (the demo federation's real
areas, WGS-84 and GCJ-02), and the anonymous suggestion link's hourly limit per station.
Only through the HTTP API; the database and the evidence store are read to check what was
(not) written, and every answer is held to the OpenAPI document."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import httpx
import prcoords
import pytest
from sqlalchemy import select, text

from flexunion.federation.models import Tenant
from flexunion.provisioning.service import apply_directory
from tests.support.factories import Federation, bearer, worker_login
from tests.test_contract import named_codes, operation_for

ME, STAFF = "/v1/me/cases", "/v1/cases"
DEMO = Path(__file__).resolve().parents[2] / "tenants" / "demo"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
EXE = b"MZ\x90\x00" + b"\x00" * 64
# A WGS-84 point ~190 m inside the east edge of the demo's 徐汇 jurisdiction (drawn in
# GCJ-02): its GCJ-02 numbers, read as WGS-84, lie ~250 m outside every area.
XUHUI_EAST = (121.4674, 31.19)
XIHU = (120.11, 30.28)  # well inside 西湖区
BEIJING = (116.39, 39.90)  # no demo area


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


def demand(**over: Any) -> dict[str, Any]:
    return {"category": "commission", "description": "抽成从 18% 涨到 25%，没有通知。"} | over


def gcj02(lon: float, lat: float) -> tuple[float, float]:
    c = prcoords.wgs_gcj(prcoords.Coords(lat, lon))
    return c.lon, c.lat


async def rows(owner, sql: str, **params: Any) -> list[Any]:
    async with owner() as s:
        return list((await s.execute(text(sql), params)).all())


def undocumented(document: dict[str, Any], answers: list[tuple[str, str, httpx.Response]],
                 ) -> list[str]:
    """Every answer's status declared for its operation, a problem's code named there."""
    wrong = []
    for method, path, r in answers:
        template, op = operation_for(document, method, path)
        where = f"{method.upper()} {template} answered {r.status_code}"
        documented = op["responses"].get(str(r.status_code))
        if documented is None:
            wrong.append(f"{where}, not documented ({sorted(op['responses'])})")
        elif r.headers.get("content-type", "").startswith("application/problem+json"):
            code = r.json()["code"]
            if code not in named_codes(documented["description"]):
                wrong.append(f"{where} {code}, not named: {documented['description']!r}")
    return wrong


@pytest.fixture
async def demo(owner, tmp_path: Path) -> Federation:
    """tenants/demo as shipped — its areas, zones, stations and partners — under fresh
    codes (the demo's own codes are shared with a running service)."""
    prefix = "d" + secrets.token_hex(4)
    folder = tmp_path / prefix
    shutil.copytree(DEMO, folder)
    codes = re.compile(r"(?<![\w-])(demo-hq|sh-xuhui|hz-xihu)")
    for path in folder.rglob("*"):
        if path.suffix in {".yaml", ".geojson"}:
            path.write_text(codes.sub(prefix + r"-\1", path.read_text()))
    async with owner() as s, s.begin():
        await apply_directory(s, folder)
        tenants = (await s.scalars(select(Tenant).where(Tenant.code.like(f"{prefix}-%")))).all()
    regions = [f"{prefix}-sh-xuhui", f"{prefix}-hz-xihu"]
    fed = Federation(hq=f"{prefix}-demo-hq", regions=regions, stations={
        r: sorted(t.code for t in tenants if t.kind == "station" and t.code.startswith(r))
        for r in regions})
    fed.ids = {t.code: t.id for t in tenants}
    return fed


# ---- evidence ---------------------------------------------------------------------------


def on_disk(settings, key_: str) -> bytes:
    return (settings.data_dir / "attachments" / key_[:2] / key_).read_bytes()


def stored_files(settings) -> set[Path]:
    root = settings.data_dir / "attachments"
    return set(root.rglob("*")) if root.exists() else set()


async def test_worker_and_handling_staff_add_evidence_nobody_else_reaches_it(
        client, sms, owner, settings, demo: Federation, staff_token):
    document = (await client.get("/schema/openapi.json")).json()
    xuhui = demo.regions[0]
    station, sibling = demo.stations[xuhui]
    token, _ = await worker_login(client, sms, demo.hq)
    made = await client.post(ME, json=demand(station=station), headers=bearer(token) | key())
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    answers: list[tuple[str, str, httpx.Response]] = []
    url = f"{ME}/{cid}/attachments"

    async def call(method: str, path: str, **kw: Any) -> httpx.Response:
        r = await client.request(method, path, **kw)
        answers.append((method, path, r))
        return r

    # a worker's write needs its Idempotency-Key; the type is the bytes', not the name's
    nokey = await call("post", url, headers=bearer(token),
                       files={"file": ("receipt.pdf", PNG, "application/pdf")})
    assert nokey.status_code == 400 and nokey.json()["code"] == "idempotency_key_required"
    # one multipart body, sent twice under one key
    form = httpx.Request("post", url, files={"file": ("receipt.pdf", PNG, "application/pdf")})
    body, once = form.read(), key() | {"content-type": form.headers["content-type"]}
    up = await call("post", url, headers=bearer(token) | once, content=body)
    assert up.status_code == 201, up.text
    mine = up.json()
    assert mine["content_type"] == "image/png" and mine["filename"] == "receipt.pdf"
    assert mine["size_bytes"] == len(PNG)
    assert mine["sha256"] == hashlib.sha256(PNG).hexdigest()
    replay = await call("post", url, headers=bearer(token) | once, content=body)
    assert replay.json() == mine and replay.headers.get("Idempotent-Replayed") == "true"

    # the station handling it adds a note of its own
    officer = await staff_token(demo, "station_officer", station)
    note = "平台客服回复：规则已调整。\n".encode()
    staff_up = await call("post", f"{STAFF}/{cid}/attachments", headers=bearer(officer),
                          files={"file": ("客服回复.txt", note, "application/octet-stream")})
    assert staff_up.status_code == 201, staff_up.text
    assert staff_up.json()["content_type"] == "text/plain; charset=utf-8"
    listed = await call("get", f"{STAFF}/{cid}/attachments", headers=bearer(officer))
    assert listed.status_code == 200
    assert [(a["id"], a["sha256"], a["content_type"]) for a in listed.json()] == [
        (mine["id"], mine["sha256"], "image/png"),
        (staff_up.json()["id"], hashlib.sha256(note).hexdigest(), "text/plain; charset=utf-8")]
    # the region above sees the list too
    region = await staff_token(demo, "regional_admin", xuhui)
    assert len((await call("get", f"{STAFF}/{cid}/attachments",
                           headers=bearer(region))).json()) == 2
    # the bytes at rest are the bytes sent; one row, one evidence event each (the replay none)
    stored = await rows(owner, "SELECT id::text, storage_key FROM case_attachments"
                        " WHERE case_id = :c ORDER BY created_at", c=cid)
    assert [i for i, _ in stored] == [mine["id"], staff_up.json()["id"]]
    assert [on_disk(settings, k) for _, k in stored] == [PNG, note]
    events = await rows(owner, "SELECT details->>'attachment_id' FROM case_events"
                        " WHERE case_id = :c AND kind = 'evidence' ORDER BY at", c=cid)
    assert [a for (a,) in events] == [i for i, _ in stored]

    # another worker, a sibling station, another region: as if the case did not exist
    other, _ = await worker_login(client, sms, demo.hq)
    theirs = await call("post", url, headers=bearer(other) | key(),
                        files={"file": ("x.png", PNG, "image/png")})
    assert theirs.status_code == 404 and theirs.json()["code"] == "case_not_found"
    for code, role in ((sibling, "station_officer"), (demo.regions[1], "regional_admin")):
        outsider = await staff_token(demo, role, code)
        seen = await call("get", f"{STAFF}/{cid}/attachments", headers=bearer(outsider))
        assert seen.status_code == 404 and seen.json()["code"] == "case_not_found", code
        put = await call("post", f"{STAFF}/{cid}/attachments", headers=bearer(outsider),
                         files={"file": ("x.png", PNG, "image/png")})
        assert put.status_code == 404 and put.json()["code"] == "case_not_found", code
    assert len(await rows(owner, "SELECT 1 FROM case_attachments WHERE case_id = :c",
                          c=cid)) == 2
    assert undocumented(document, answers) == []


async def test_refused_uploads_answer_their_codes_and_leave_nothing_behind(
        client, sms, owner, settings, demo: Federation, staff_token):
    document = (await client.get("/schema/openapi.json")).json()
    station = demo.stations[demo.regions[0]][0]
    token, _ = await worker_login(client, sms, demo.hq)
    cid = (await client.post(ME, json=demand(station=station),
                             headers=bearer(token) | key())).json()["id"]
    officer = bearer(await staff_token(demo, "station_officer", station))
    before = stored_files(settings)
    big = settings.bargaining.attachment_max_bytes
    mine, staff = f"{ME}/{cid}/attachments", f"{STAFF}/{cid}/attachments"
    refusals = [
        # staff: one byte over the evidence limit
        (staff, officer, ("big.png", PNG + b"\x00" * (big + 1 - len(PNG))),
         413, "attachment_too_large"),
        # a Windows executable, named and declared as a PDF: the bytes decide
        (staff, officer, ("claim.pdf", EXE), 415, "attachment_type_not_allowed"),
        (mine, bearer(token) | key(), ("claim.pdf", EXE), 415, "attachment_type_not_allowed"),
        # text only as valid UTF-8 .txt/.csv
        (mine, bearer(token) | key(), ("notes.txt", "记录".encode("gbk")), 415,
         "attachment_type_not_allowed"),
        (mine, bearer(token) | key(), ("empty.png", b""), 422, "attachment_empty"),
    ]
    answers = []
    for path, headers, (name, data), status, code in refusals:
        r = await client.post(path, headers=headers,
                              files={"file": (name, data, "application/pdf")})
        assert (r.status_code, r.json().get("code")) == (status, code), (name, r.text[:300])
        answers.append(("post", path, r))
    assert await rows(owner, "SELECT 1 FROM case_attachments WHERE case_id = :c", c=cid) == []
    assert await rows(owner, "SELECT 1 FROM case_events WHERE case_id = :c"
                      " AND kind = 'evidence'", c=cid) == []
    assert await rows(owner, "SELECT 1 FROM audit_events WHERE object_id = :c"
                      " AND action = 'case.attachment_added'", c=cid) == []
    assert stored_files(settings) - before == set()  # no bytes, no .part file
    assert undocumented(document, answers) == []


async def test_a_worker_photo_gets_the_same_evidence_limit_as_staff(
        client, sms, owner, settings, demo: Federation):
    """A phone photo of a payslip is often 2–5 MB: a worker's upload goes through the
    Idempotency-Key layer, which reads the body up to the route's own ceiling, so a 3 MiB
    photo is taken (and replayed on a retry) and one byte over the evidence limit is 413
    attachment_too_large, as for staff."""
    document = (await client.get("/schema/openapi.json")).json()
    station = demo.stations[demo.regions[0]][0]
    token, _ = await worker_login(client, sms, demo.hq)
    cid = (await client.post(ME, json=demand(station=station),
                             headers=bearer(token) | key())).json()["id"]
    path = f"{ME}/{cid}/attachments"
    photo = PNG + b"\x00" * (3 * 1_048_576)
    once = bearer(token) | key()
    r = await client.post(path, headers=once, files={"file": ("photo.png", photo, "image/png")})
    assert r.status_code == 201, r.text[:300]
    again = await client.post(path, headers=once,
                              files={"file": ("photo.png", photo, "image/png")})
    assert again.status_code == 201 and again.json() == r.json()
    big = settings.bargaining.attachment_max_bytes
    over = PNG + b"\x00" * (big + 1 - len(PNG))
    refused = await client.post(path, headers=bearer(token) | key(),
                                files={"file": ("big.png", over, "image/png")})
    assert (refused.status_code, refused.json()["code"]) == (413, "attachment_too_large")
    assert len(await rows(owner, "SELECT 1 FROM case_attachments WHERE case_id = :c",
                          c=cid)) == 1
    assert undocumented(document, [("post", path, r), ("post", path, refused)]) == []



async def test_worker_and_staff_download_the_bytes_with_the_sniffed_type(
        client, sms, demo: Federation, staff_token):
    document = (await client.get("/schema/openapi.json")).json()
    answers: list[tuple[str, str, httpx.Response]] = []

    async def get(path: str, who: str) -> httpx.Response:
        r = await client.get(path, headers=bearer(who))
        answers.append(("get", path, r))
        return r

    station, sibling = demo.stations[demo.regions[0]]
    token, _ = await worker_login(client, sms, demo.hq)
    cid = (await client.post(ME, json=demand(station=station),
                             headers=bearer(token) | key())).json()["id"]
    up = await client.post(f"{ME}/{cid}/attachments", headers=bearer(token) | key(),
                           files={"file": ("收据 receipt.pdf", PNG, "application/pdf")})
    aid = up.json()["id"]
    listed = await get(f"{ME}/{cid}/attachments", token)
    assert listed.status_code == 200 and [a["id"] for a in listed.json()] == [aid]
    officer = await staff_token(demo, "station_officer", station)
    for path, who in ((f"{ME}/{cid}/attachments/{aid}", token),
                      (f"{STAFF}/{cid}/attachments/{aid}", officer)):
        got = await get(path, who)
        assert got.status_code == 200 and got.content == PNG
        assert got.headers["content-type"] == "image/png"
        assert got.headers["content-disposition"] == (
            "attachment; filename=\"__ receipt.pdf\"; "
            "filename*=UTF-8''%E6%94%B6%E6%8D%AE%20receipt.pdf")
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["digest"] == f"sha-256={hashlib.sha256(PNG).hexdigest()}"
        assert got.headers["content-length"] == str(len(PNG))
    # a text note keeps its charset
    note = "客服回复\n".encode()
    nid = (await client.post(f"{STAFF}/{cid}/attachments", headers=bearer(officer),
                             files={"file": ("回复.txt", note, "text/html")})).json()["id"]
    text_ = await get(f"{ME}/{cid}/attachments/{nid}", token)
    assert text_.content == note
    assert text_.headers["content-type"] == "text/plain; charset=utf-8"
    # a photo of several store chunks (64 KiB) comes back whole
    big = PNG + secrets.token_bytes(200 * 1024 + 7)
    bid = (await client.post(f"{STAFF}/{cid}/attachments", headers=bearer(officer),
                             files={"file": ("big.png", big, "image/png")})).json()["id"]
    whole = await get(f"{ME}/{cid}/attachments/{bid}", token)
    assert whole.content == big and whole.headers["content-length"] == str(len(big))

    # another worker, a sibling station: as if the case did not exist
    other, _ = await worker_login(client, sms, demo.hq)
    outsider = await staff_token(demo, "station_officer", sibling)
    for path, who in ((f"{ME}/{cid}/attachments/{aid}", other),
                      (f"{ME}/{cid}/attachments", other),
                      (f"{STAFF}/{cid}/attachments/{aid}", outsider)):
        r = await get(path, who)
        assert r.status_code == 404 and r.json()["code"] == "case_not_found", path
    # an attachment of another case of the same worker, asked for through this case
    cid2 = (await client.post(ME, json=demand(station=station),
                              headers=bearer(token) | key())).json()["id"]
    for path, who in ((f"{ME}/{cid2}/attachments/{aid}", token),
                      (f"{STAFF}/{cid2}/attachments/{aid}", officer),
                      (f"{STAFF}/{cid}/attachments/{cid2}", officer)):
        r = await get(path, who)
        assert r.status_code == 404 and r.json()["code"] == "attachment_not_found", path
    assert undocumented(document, answers) == []


async def test_an_upload_retried_under_a_new_boundary_replays_other_bytes_are_422(
        client, sms, owner, demo: Federation):
    """A client retrying an upload encodes the form again (a new random boundary): the key
    reads the parts, not the framing. Other bytes, name or type under the key: refused."""
    document = (await client.get("/schema/openapi.json")).json()
    station = demo.stations[demo.regions[0]][0]
    token, _ = await worker_login(client, sms, demo.hq)
    cid = (await client.post(ME, json=demand(station=station),
                             headers=bearer(token) | key())).json()["id"]
    url, once = f"{ME}/{cid}/attachments", bearer(token) | key()
    answers = []

    async def send(file: tuple[str, bytes, str]) -> httpx.Response:
        # httpx draws a fresh random boundary for every request it encodes
        r = await client.post(url, headers=once, files={"file": file})
        answers.append(("post", url, r))
        return r

    photo = ("receipt.png", PNG, "image/png")
    first = await send(photo)
    assert first.status_code == 201, first.text
    again = await send(photo)
    assert again.request.headers["content-type"] != first.request.headers["content-type"]
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    for changed in (("receipt.png", PNG + b"\x00", "image/png"),  # other bytes
                    ("other.png", PNG, "image/png"),  # another name
                    ("receipt.png", PNG, "application/pdf")):  # another declared type
        r = await send(changed)
        assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused", changed
    assert len(await rows(owner, "SELECT 1 FROM case_attachments WHERE case_id = :c",
                          c=cid)) == 1
    assert undocumented(document, answers) == []


# ---- intake by place ----------------------------------------------------------------------


async def test_a_zone_or_a_point_lands_the_case_where_the_demo_areas_say(
        client, sms, owner, demo: Federation, other_federation: Federation, staff_token):
    document = (await client.get("/schema/openapi.json")).json()
    xuhui, xihu = demo.regions
    token, worker = await worker_login(client, sms, demo.hq)
    answers = []

    async def file(**where: Any) -> httpx.Response:
        r = await client.post(ME, json=demand(**where), headers=bearer(token) | key())
        answers.append(("post", ME, r))
        return r

    # a delivery zone: its owning tenant, its platform partner implied
    zoned = await file(zone="mt-xuhui-north")
    assert zoned.status_code == 201, zoned.text
    assert (zoned.json()["work_tenant"], zoned.json()["partner"]) == (xuhui, "meituan")
    assert zoned.json()["place"] == {"zone": "mt-xuhui-north"}
    sf = await file(zone="sf-xihu-huanglong")
    assert (sf.json()["work_tenant"], sf.json()["partner"]) == (xihu, "sf-express")
    # ...unless the worker names their platform themselves
    named = await file(zone="mt-xuhui-north", partner="eleme")
    assert named.json()["partner"] == "eleme"

    # a point, WGS-84 or GCJ-02 (Amap's numbers for the same spot): the jurisdiction
    lon, lat = XUHUI_EAST
    glon, glat = gcj02(lon, lat)
    assert abs(glon - lon) > 0.004  # the two systems differ by ~450 m here
    for point, tenant in (({"lon": lon, "lat": lat, "crs": "wgs84"}, xuhui),
                          ({"lon": lon, "lat": lat}, xuhui),  # wgs84 is the default
                          ({"lon": glon, "lat": glat, "crs": "gcj02"}, xuhui),
                          (dict(zip(("lon", "lat"), gcj02(*XIHU), strict=True))
                           | {"crs": "gcj02"}, xihu)):
        r = await file(point=point)
        assert r.status_code == 201, (point, r.text)
        body = r.json()
        assert body["work_tenant"] == tenant, point
        assert body["place"]["jurisdiction"] == tenant and body["place"]["on_border"] is False
        assert body["place"]["point"] == {"crs": "wgs84"} | point
        assert body["partner"] is None  # a point implies no platform

    # refused, each with its code, and nothing filed
    filed = len(await rows(owner, "SELECT 1 FROM cases WHERE worker_id = :w", w=worker))
    for where, code in (
        # Amap's numbers sent as WGS-84 fall ~250 m east of the district: outside
        ({"point": {"lon": glon, "lat": glat, "crs": "wgs84"}}, "point_outside_jurisdictions"),
        ({"point": {"lon": BEIJING[0], "lat": BEIJING[1], "crs": "gcj02"}},
         "point_outside_jurisdictions"),
        ({"zone": "no-such-zone"}, "unknown_zone"),
        ({"station": "no-such-station"}, "unknown_station"),
        ({"station": xuhui}, "unknown_station"),  # a region is no station
        ({"station": other_federation.stations[other_federation.regions[0]][0]},
         "unknown_station"),  # another federation's station
        ({"zone": "mt-xuhui-north", "station": demo.stations[xuhui][0]},
         "work_place_ambiguous"),
        ({}, "work_place_required"),
    ):
        r = await file(**where)
        assert r.status_code == 422 and r.json()["code"] == code, (where, r.text)
    assert len(await rows(owner, "SELECT 1 FROM cases WHERE worker_id = :w",
                          w=worker)) == filed
    stored = await rows(owner, "SELECT t.code, c.place->>'jurisdiction' FROM cases c"
                        " JOIN tenants t ON t.id = c.tenant_id WHERE c.worker_id = :w"
                        " AND c.place ? 'point' ORDER BY c.created_at", w=worker)
    assert stored == [(xuhui, xuhui)] * 3 + [(xihu, xihu)]
    # staff: a place in their subtree, or none (their own union); never a place elsewhere
    station_staff = await staff_token(demo, "station_officer", demo.stations[xihu][0])
    for where, status, tenant_or_code in (
            ({}, 201, demo.stations[xihu][0]),
            ({"zone": "mt-xihu-wensan"}, 422, "work_place_outside_subtree"),
            ({"point": dict(zip(("lon", "lat"), XIHU, strict=True))}, 422,
             "work_place_outside_subtree"),  # the region above the station
            ({"zone": "no-such-zone"}, 422, "unknown_zone")):
        r = await client.post(STAFF, headers=bearer(station_staff),
                              json=demand(channel="station", **where))
        answers.append(("post", STAFF, r))
        got = r.json()["work_tenant"] if status == 201 else r.json()["code"]
        assert (r.status_code, got) == (status, tenant_or_code), (where, r.text)
    region_staff = await staff_token(demo, "regional_admin", xihu)
    r = await client.post(STAFF, headers=bearer(region_staff),
                          json=demand(channel="visit", zone="mt-xihu-wensan"))
    assert r.status_code == 201 and r.json()["work_tenant"] == xihu
    assert r.json()["partner"] == "meituan"
    answers.append(("post", STAFF, r))
    assert undocumented(document, answers) == []


# ---- the anonymous suggestion link's limit -------------------------------------------------


LIMIT = 30  # docs/cases.md: 30 suggestions per station per hour


async def suggest(client: httpx.AsyncClient, station: str) -> httpx.Response:
    return await client.post(f"/v1/suggestions/{station}", json={
        "category": "housing_commute", "description": "驿站夜里不开门。"})


async def suggestions_at(owner, fed: Federation, station: str) -> int:
    return len(await rows(owner, "SELECT 1 FROM cases WHERE tenant_id = :t"
                          " AND channel = 'qr_suggestion'", t=fed.ids[station]))


async def test_suggestions_beyond_the_hourly_limit_are_429_per_station_until_the_hour_passes(
        client, owner, clock, federation: Federation):
    document = (await client.get("/schema/openapi.json")).json()
    station, neighbour = federation.stations[federation.regions[0]]
    step = 100  # 30 suggestions 100 s apart: all in one hour
    for i in range(LIMIT):
        if i:
            clock.advance(seconds=step)
        r = await suggest(client, station)
        assert r.status_code == 201, (i, r.text)
    refused = await suggest(client, station)
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "suggestions_rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "pickup_code" not in refused.json()
    assert await suggestions_at(owner, federation, station) == LIMIT  # the 31st stored nothing
    received = await rows(owner, "SELECT 1 FROM audit_events WHERE tenant_id = :t"
                          " AND action = 'case.received'", t=federation.ids[station])
    assert len(received) == LIMIT
    # per station: the neighbour still takes suggestions
    assert (await suggest(client, neighbour)).status_code == 201
    # the window is the last hour, read on the clock: the first falls out of it at 3600 s
    first_age = step * (LIMIT - 1)
    clock.advance(seconds=3600 - first_age - 30)
    assert (await suggest(client, station)).status_code == 429
    clock.advance(seconds=60)
    again = await suggest(client, station)
    assert again.status_code == 201, again.text
    assert again.json()["pickup_code"]
    assert (await suggest(client, station)).status_code == 429  # the second is still in it
    assert await suggestions_at(owner, federation, station) == LIMIT + 1
    assert undocumented(document, [("post", f"/v1/suggestions/{station}", refused),
                                   ("post", f"/v1/suggestions/{station}", again)]) == []


async def test_a_suggestion_retried_after_retry_after_is_accepted(
        client, clock, federation: Federation):
    station = federation.stations[federation.regions[1]][0]
    for _ in range(LIMIT):
        assert (await suggest(client, station)).status_code == 201
    refused = await suggest(client, station)
    assert refused.status_code == 429
    clock.advance(seconds=int(refused.headers["Retry-After"]) + 1)
    assert (await suggest(client, station)).status_code == 201


async def test_suggestions_sent_at_once_do_not_pass_the_limit(
        client, owner, federation: Federation):
    station = federation.stations[federation.regions[1]][1]
    for _ in range(LIMIT - 1):
        assert (await suggest(client, station)).status_code == 201
    burst = await asyncio.gather(*(suggest(client, station) for _ in range(LIMIT)))
    assert sorted(r.status_code for r in burst) == [201] + [429] * (LIMIT - 1)
    assert await suggestions_at(owner, federation, station) == LIMIT
