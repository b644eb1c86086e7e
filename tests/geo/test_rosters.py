"""Partner rosters (花名册) through the real HTTP app: JSON and CSV, every bad input refused
whole, entries filed under the tenant owning the place, and each partner seeing its own."""

from __future__ import annotations

import random
import uuid

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.audit.models import AuditEvent
from flexunion.auth.partners.service import create_partner_client
from flexunion.geo.census.models import RosterEntry, RosterUpload
from flexunion.geo.crs import Crs, from_wgs84
from tests.support.factories import Federation, bearer, random_id_number
from tests.support.geo import HANGZHOU, SHANGHAI, seed_area, square

Owner = async_sessionmaker[AsyncSession]
# Two delivery zones of partner alpha in r1 (上海), sharing the line lon = 121.45.
ZA = square(121.40, 31.15, 121.45, 31.25)
ZB = square(121.45, 31.15, 121.50, 31.25)
IN_ZA = (121.42, 31.20)
IN_ZB = (121.48, 31.20)
IN_HANGZHOU = (120.15, 30.27)
BEIJING = (116.40, 39.90)  # inside no area of the test federation


async def seed_areas(owner: Owner, fed: Federation) -> None:
    """r1 and r2 jurisdictions, alpha's zones za/zb in r1, and one beta zone (zc) over za."""
    r1, r2 = fed.regions
    await seed_area(owner, fed, r1, "jurisdiction", "j-r1", square(*SHANGHAI))
    await seed_area(owner, fed, r2, "jurisdiction", "j-r2", square(*HANGZHOU))
    await seed_area(owner, fed, r1, "delivery_zone", "za", ZA, partner="alpha")
    await seed_area(owner, fed, r1, "delivery_zone", "zb", ZB, partner="alpha")
    await seed_area(owner, fed, r1, "delivery_zone", "zc", ZA, partner="beta")


async def partner_token(owner: Owner, staff_token, fed: Federation, partner: str = "alpha",
                        tenant: str | None = None) -> str:
    tenant = tenant or fed.hq
    async with owner() as s, s.begin():
        client_id, _ = await create_partner_client(s, tenant_code=tenant, partner_code=partner,
                                                   name="花名册同步 roster sync")
    return await staff_token(fed, "partner", tenant, subject=client_id)


async def post_roster(client: httpx.AsyncClient, token: str, workers: list[dict] | None = None,
                      *, csv: str | None = None, crs: str | None = None,
                      path: str = "/v1/partner/rosters", **params: str) -> httpx.Response:
    if crs is not None:
        params["crs"] = crs
    headers = bearer(token) | once()
    if csv is not None:
        return await client.post(path, content=csv.encode(), params=params,
                                 headers=headers | {"Content-Type": "text/csv"})
    return await client.post(path, json={"workers": workers}, params=params, headers=headers)


def once() -> dict[str, str]:
    """A fresh Idempotency-Key (the partner's roster upload needs one; staff's ignores it)."""
    return {"Idempotency-Key": str(uuid.uuid4())}


def w(ref: str, lon: float | None = None, lat: float | None = None, zone: str | None = None,
      days: int = 20, **more: object) -> dict:
    body: dict = {"worker_ref": ref, "active_days": days}
    if lon is not None:
        body |= {"lon": lon, "lat": lat}
    if zone is not None:
        body["zone_code"] = zone
    return body | more


async def entries(owner: Owner, upload_id: str) -> list[RosterEntry]:
    async with owner() as s:
        return list((await s.scalars(select(RosterEntry).where(
            RosterEntry.upload_id == uuid.UUID(upload_id)).order_by(RosterEntry.id))).all())


async def uploads_of(owner: Owner, fed: Federation) -> int:
    async with owner() as s:
        return await s.scalar(select(func.count()).select_from(RosterUpload).where(
            RosterUpload.federation_id == fed.ids[fed.hq]))


@pytest.fixture
async def alpha(owner: Owner, staff_token, federation: Federation) -> str:
    await seed_areas(owner, federation)
    return await partner_token(owner, staff_token, federation)


async def test_json_roster_is_filed_under_the_owner_of_each_place(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, alpha: str,
) -> None:
    r1, r2 = federation.regions
    r = await post_roster(client, alpha, [
        w("a-001", *IN_ZA), w("a-002", *IN_ZB, platform="alpha-crowd"), w("a-003", zone="zb"),
        w("a-004", *IN_HANGZHOU, days=0), w("a-005", *BEIJING)])
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["partner"], body["source"], body["crs"], body["rows"]) == ("alpha", "api",
                                                                             "wgs84", 5)
    assert (body["located_by_point"], body["located_by_zone"], body["outside_areas"]) == (4, 1, 1)
    assert body["current"] is True
    rows = await entries(owner, body["id"])
    ids = federation.ids
    assert [(e.worker_ref, e.tenant_id) for e in rows] == [
        ("a-001", ids[r1]), ("a-002", ids[r1]), ("a-003", ids[r1]), ("a-004", ids[r2]),
        ("a-005", ids[federation.hq])]  # Beijing: in no area, so the uploader's own tenant
    assert [e.platform for e in rows[:2]] == ["alpha", "alpha-crowd"]
    assert (rows[2].lon, rows[2].zone_code, rows[3].active_days) == (None, "zb", 0)


async def test_gcj02_coordinates_are_stored_as_wgs84(
    client: httpx.AsyncClient, owner: Owner, alpha: str,
) -> None:
    lon, lat = from_wgs84(*IN_ZA, Crs.GCJ02)
    r = await client.post("/v1/partner/rosters", headers=bearer(alpha) | once(),
                          json={"crs": "gcj02", "workers": [w("g-1", lon, lat)]})
    assert r.status_code == 201, r.text
    (entry,) = await entries(owner, r.json()["id"])
    assert abs(entry.lon - IN_ZA[0]) < 1e-6 and abs(entry.lat - IN_ZA[1]) < 1e-6
    assert abs(lon - IN_ZA[0]) > 1e-3  # the two systems really differ here


async def test_csv_roster_any_column_order_bom_and_blank_lines(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, alpha: str,
) -> None:
    lon, lat = from_wgs84(*IN_ZB, Crs.BD09)
    csv = ("\ufeffactive_days,worker_ref,lon,lat,zone_code\r\n"
           f"12,c-1,{lon},{lat},\r\n"
           "3,c-2,,,za\r\n"
           "\r\n")
    r = await post_roster(client, alpha, csv=csv, crs="bd09")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["source"], body["crs"], body["rows"], body["located_by_zone"]) == (
        "csv", "bd09", 2, 1)
    first, second = await entries(owner, body["id"])
    assert abs(first.lon - IN_ZB[0]) < 1e-6 and first.active_days == 12
    assert (second.zone_code, second.platform, second.tenant_id) == (
        "za", "alpha", federation.ids[federation.regions[0]])


BAD_JSON = [
    ([w("x-1", *IN_ZA), w("x-2", zone="nope")], 2, "zone_unknown"),
    ([w("x-1", *IN_ZA), w("x-2", zone="zc")], 2, "zone_unknown"),  # beta's zone, not alpha's
    ([w("x-1", *IN_ZA), w("x-2")], 2, "location_missing"),
    ([w("x-1", *IN_ZA), {"worker_ref": "x-2", "lon": 121.4, "active_days": 1}], 2,
     "location_incomplete"),
    ([w("x-1", *IN_ZA), w("x-1", *IN_ZB)], 2, "worker_ref_duplicate"),
    ([w("13812345678", *IN_ZA)], 1, "worker_ref_personal_data"),
    ([w("x-1", *IN_ZA), w("rider_13912345678", *IN_ZA)], 2, "worker_ref_personal_data"),
    ([w("+86 139-1234-5678", *IN_ZA)], 1, "worker_ref_personal_data"),
    ([w("021-6123-4567", *IN_ZA)], 1, "worker_ref_personal_data"),
    ([w(random_id_number(), *IN_ZA)], 1, "worker_ref_personal_data"),
    ([w("张三", *IN_ZA)], 1, "worker_ref_invalid"),
    ([w("x 1", *IN_ZA)], 1, "worker_ref_invalid"),
    ([w("x-1", 200.0, 31.2)], 1, "coordinate_out_of_range"),
    ([w("x-1", 31.2, 121.4)], 1, "coordinate_out_of_range"),  # swapped
    ([w("x-1", 0.0, 0.0)], 1, "coordinate_out_of_range"),
    ([w("x-1", *IN_ZA, platform="Alpha Platform")], 1, "platform_invalid"),
    ([w("x-1", *IN_ZA, days=400)], 1, "value_invalid"),
    ([w("x-1", *IN_ZA, days="5")], 1, "value_invalid"),
    ([w("x-1", *IN_ZA, name="张三")], 1, "value_invalid"),  # unknown field
]


@pytest.mark.parametrize(("workers", "row", "code"), BAD_JSON)
async def test_a_bad_row_refuses_the_whole_roster(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, alpha: str,
    workers: list[dict], row: int, code: str,
) -> None:
    r = await post_roster(client, alpha, workers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "roster_invalid"
    assert (body["errors"][0]["row"], body["errors"][0]["code"]) == (row, code), body
    if code == "worker_ref_personal_data":
        assert str(workers[row - 1]["worker_ref"]) not in r.text  # never echoed back
    assert await uploads_of(owner, federation) == 0


async def test_every_problem_is_listed_by_row_up_to_fifty(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, alpha: str,
) -> None:
    workers = [w(f"ok-{i}", *IN_ZA) for i in range(1000)]
    for i in range(100, 180):
        workers[i] = w(f"bad-{i}")  # no location: 80 problems
    workers[999] = w("ok-0", *IN_ZB)
    r = await post_roster(client, alpha, workers)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error_count"] == 81
    assert len(body["errors"]) == 50
    assert [e["row"] for e in body["errors"][:2]] == [101, 102]
    assert all(e["field"] == "zone_code" for e in body["errors"])
    assert await uploads_of(owner, federation) == 0


@pytest.mark.parametrize(("csv", "status", "code", "row_code"), [
    ("worker,lon,lat,days\nx,121.4,31.2,3\n", 422, "csv_header_invalid", None),
    ("worker_ref,lon,lat\nx,121.4,31.2\n", 422, "csv_header_invalid", None),
    ("worker_ref,active_days,active_days\nx,1,1\n", 422, "csv_header_invalid", None),
    ("", 422, "csv_header_invalid", None),
    ("worker_ref,active_days\n", 422, "roster_empty", None),
    ("worker_ref,lon,lat,active_days\nx-1,121.42,31.2,3\nx-2,121.42,3\n", 422, "roster_invalid",
     "csv_row_malformed"),
    ("worker_ref,lon,lat,active_days\nx-1,east,31.2,3\n", 422, "roster_invalid",
     "coordinate_invalid"),
    ("worker_ref,lon,lat,active_days\nx-1,nan,31.2,3\n", 422, "roster_invalid",
     "coordinate_out_of_range"),
    ("worker_ref,lon,lat,active_days\nx-1,121.42,31.2,-3\n", 422, "roster_invalid",
     "active_days_invalid"),
    ("worker_ref,zone_code,active_days\n13800138000,za,3\n", 422, "roster_invalid",
     "worker_ref_personal_data"),
    ('worker_ref,zone_code,active_days\nx-1,za,3\n"' + "a" * 200_000 + ",za,3\n", 422,
     "roster_invalid", "csv_row_malformed"),  # an unclosed quote swallows the rest
])
async def test_bad_csv(client: httpx.AsyncClient, owner: Owner, federation: Federation,
                       alpha: str, csv: str, status: int, code: str,
                       row_code: str | None) -> None:
    r = await post_roster(client, alpha, csv=csv)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    if row_code:
        assert body["errors"][-1]["code"] == row_code, body
        assert body["errors"][-1]["line"] == body["errors"][-1]["row"] + 1
    assert await uploads_of(owner, federation) == 0


async def test_bad_bodies_and_encodings(client: httpx.AsyncClient, owner: Owner,
                                        federation: Federation, alpha: str) -> None:
    def send(content: bytes, media: str, **params: str):
        return client.post("/v1/partner/rosters", content=content, params=params,
                           headers=bearer(alpha) | once() | {"Content-Type": media})

    cases = [
        (await send(b"{not json", "application/json"), 400, "malformed_request"),
        (await send(b'{"workers": []}', "application/json"), 422, "roster_empty"),
        (await send(b"worker_ref,active_days\nx,1\n", "text/plain"), 415,
         "unsupported_media_type"),
        (await send("worker_ref,active_days\nx,1\n".encode("utf-16"), "text/csv"), 422,
         "csv_encoding_invalid"),
        (await send(b'{"crs": "wgs84", "workers": [{"worker_ref": "a", "zone_code": "za", '
                    b'"active_days": 1}]}', "application/json", crs="gcj02"), 422,
         "crs_conflict"),
        (await send(b"worker_ref,active_days\nx,1\n", "text/csv", crs="mercator"), 422,
         "validation_failed"),
    ]
    for r, status, code in cases:
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert await uploads_of(owner, federation) == 0


async def test_oversized_roster_is_413_and_the_limit_is_this_route_only(
    client: httpx.AsyncClient, owner: Owner, federation: Federation, alpha: str,
) -> None:
    line = "w-{:08d},121.42,31.2,,3\n"
    head = "worker_ref,lon,lat,zone_code,active_days\n"
    big = head + "".join(line.format(i) for i in range(21 * 1024 * 1024 // len(line.format(0))))
    r = await post_roster(client, alpha, csv=big)
    assert (r.status_code, r.json()["code"]) == (413, "payload_too_large"), r.text[:300]
    # 2 MiB (over the service-wide 1 MiB limit) is fine here.
    ok = head + "".join(line.format(i) for i in range(2 * 1024 * 1024 // len(line.format(0))))
    assert len(ok) > 1_048_576
    r = await post_roster(client, alpha, csv=ok)
    assert r.status_code == 201, r.text[:300]
    assert await uploads_of(owner, federation) == 1


async def test_a_partner_sees_only_its_own_uploads_newest_current(
    client: httpx.AsyncClient, owner: Owner, staff_token, federation: Federation, alpha: str,
) -> None:
    first = await post_roster(client, alpha, [w("a-1", *IN_ZA)])
    second = await post_roster(client, alpha, [w("a-1", *IN_ZA), w("a-2", zone="za")])
    assert first.status_code == second.status_code == 201
    beta = await partner_token(owner, staff_token, federation, "beta")
    other = await post_roster(client, beta, [w("b-1", zone="zc")])
    assert other.status_code == 201, other.text

    mine = await client.get("/v1/partner/rosters", headers=bearer(alpha))
    assert mine.status_code == 200, mine.text
    items = mine.json()["items"]
    assert [(i["id"], i["rows"], i["current"]) for i in items] == [
        (second.json()["id"], 2, True), (first.json()["id"], 1, False)]
    assert "located_by_point" not in items[0]  # counts of rows are in the upload's answer
    page = await client.get("/v1/partner/rosters", params={"limit": 1}, headers=bearer(alpha))
    nxt = await client.get("/v1/partner/rosters", headers=bearer(alpha),
                           params={"limit": 1, "cursor": page.json()["next_cursor"]})
    assert [i["id"] for i in nxt.json()["items"]] == [first.json()["id"]]
    theirs = await client.get("/v1/partner/rosters", headers=bearer(beta))
    assert [i["id"] for i in theirs.json()["items"]] == [other.json()["id"]]


async def test_only_partners_upload_by_api(
    client: httpx.AsyncClient, staff_token, federation: Federation, alpha: str,
) -> None:
    admin = await staff_token(federation, "hq_admin", federation.hq)
    r = await post_roster(client, admin, [w("a-1", *IN_ZA)])
    assert (r.status_code, r.json()["code"]) == (401, "token_wrong_audience")
    r = await client.post("/v1/partner/rosters", json={"workers": []})
    assert (r.status_code, r.json()["code"]) == (401, "token_missing")


async def test_an_admin_uploads_a_csv_for_a_partner_and_it_is_audited(
    client: httpx.AsyncClient, owner: Owner, staff_token, federation: Federation, alpha: str,
) -> None:
    r1 = federation.regions[0]
    admin = await staff_token(federation, "regional_admin", r1, subject="admin-r1")
    path = "/v1/admin/geo/rosters"
    csv = ("worker_ref,lon,lat,active_days\n"
           f"m-1,{IN_ZA[0]},{IN_ZA[1]},9\nm-2,{BEIJING[0]},{BEIJING[1]},2\n")
    r = await post_roster(client, admin, csv=csv, path=path, partner="alpha")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["partner"], body["uploaded_by"], body["outside_areas"]) == (
        "alpha", "regional_admin", 1)
    assert {e.tenant_id for e in await entries(owner, body["id"])} == {federation.ids[r1]}
    async with owner() as s:
        event = await s.scalar(select(AuditEvent).where(
            AuditEvent.action == "roster.uploaded_for_partner",
            AuditEvent.object_id == body["id"]))
    assert event is not None and event.actor == "regional_admin:admin-r1"
    assert event.payload["partner"] == "alpha" and event.payload["rows"] == 2
    # The partner sees it among its own uploads, as the current one.
    mine = await client.get("/v1/partner/rosters", headers=bearer(alpha))
    assert [(i["id"], i["current"]) for i in mine.json()["items"]] == [(body["id"], True)]

    unknown = await post_roster(client, admin, csv=csv, path=path, partner="gamma")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_partner")
    officer = await staff_token(federation, "station_officer", federation.stations[r1][0])
    denied = await post_roster(client, officer, csv=csv, path=path, partner="alpha")
    assert denied.status_code == 403


async def test_a_regional_client_files_places_outside_its_subtree_under_itself(
    client: httpx.AsyncClient, owner: Owner, staff_token, federation: Federation, alpha: str,
) -> None:
    r1, _ = federation.regions
    regional = await partner_token(owner, staff_token, federation, "alpha", tenant=r1)
    r = await post_roster(client, regional, [w("r-1", *IN_ZA), w("r-2", *IN_HANGZHOU)])
    assert r.status_code == 201, r.text
    assert r.json()["outside_areas"] == 1  # Hangzhou is r2's: not r1's to file there
    assert [e.tenant_id for e in await entries(owner, r.json()["id"])] == [
        federation.ids[r1], federation.ids[r1]]


async def test_fifty_thousand_rows_arrive_whole_across_insert_batches(
    client: httpx.AsyncClient, owner: Owner, staff_token, federation: Federation, alpha: str,
) -> None:
    rng = random.Random(4)
    n = 50_000
    workers = [w(f"p{i:07d}", rng.uniform(121.40, 121.50), rng.uniform(31.15, 31.25),
                 days=rng.randrange(0, 31)) if i % 5 else w(f"p{i:07d}", zone="za")
               for i in range(n)]
    r = await post_roster(client, alpha, workers)  # more than two 20k-row insert batches
    assert r.status_code == 201, r.text[:500]
    assert (r.json()["rows"], r.json()["located_by_zone"], r.json()["outside_areas"]) == (
        n, n // 5, 0)
    async with owner() as s:
        stored = await s.scalar(select(func.count()).select_from(RosterEntry).where(
            RosterEntry.upload_id == uuid.UUID(r.json()["id"])))
    assert stored == n

    hq = await staff_token(federation, "hq_admin", federation.hq)
    census = await client.post("/v1/admin/geo/census", headers=bearer(hq))
    assert census.status_code == 201, census.text[:500]
    totals = census.json()["totals"]
    assert totals["workers"] + totals["workers_inactive"] == n
    assert totals["workers_outside_zones"] == 0
