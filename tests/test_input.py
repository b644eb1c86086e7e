"""Bad input is refused before any database work, never a 500 (issue 11, core/guard.py,
core/strict.py): text PostgreSQL cannot store (NUL, lone surrogates) in every string an
operation takes, loose scalars, missing required bodies; every request string has a length
limit in the OpenAPI document; OPTIONS answers every method of a path.

Time budget: the whole module ≤ 35 s on 2 cores (measured 29 s run alone, the test database's
start included; the per-operation sweep makes one request per operation of the document,
133, after one federation, three logins)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from flexunion.bargaining.reports.models import ProblemReport
from flexunion.config import (
    AUDIENCE_ADMIN,
    AUDIENCE_MOBILE,
    AUDIENCE_PARTNER,
    AUDIENCE_PROVIDER,
    Settings,
)
from flexunion.consent.models import WorkerConsent
from flexunion.core import text
from flexunion.core.uow import UnitOfWork
from flexunion.membership.models import Member
from tests.conftest import run_in_thread
from tests.support.callers import staffed_federation
from tests.support.clock import ShiftableClock
from tests.support.factories import bearer, worker_login
from tests.support.server import LiveServer

# One worker runs the module (pytest-xdist, --dist loadgroup): its callers are built once.
pytestmark = pytest.mark.xdist_group("input")

NUL = "x\x00y"
JSON = {"content-type": "application/json"}


def escaped(document: Any) -> bytes:
    """JSON with every non-ASCII character escaped (a lone surrogate cannot be UTF-8)."""
    return json.dumps(document).encode()

METHODS = ("get", "put", "post", "patch", "delete")


# ---- the document and what each operation takes ------------------------------------------


def _build() -> tuple[dict[str, Any], dict[tuple[str, str], tuple[str, ...]]]:
    """The OpenAPI document of an app built with throwaway settings (never started), and the
    token audiences of each operation, from its route's `opt`."""
    from litestar.routes import HTTPRoute
    from litestar.serialization import encode_json

    from flexunion.app import create_app

    nowhere = "postgresql://nobody@127.0.0.1:1/nothing"
    settings = Settings(database_url=nowhere, app_database_url=nowhere,
                        data_dir=Path(tempfile.mkdtemp(prefix="flexunion-input-doc-")),
                        secret_key="flexunion-input-document-only", load_demo=False)
    app = create_app(settings)
    document: dict[str, Any] = json.loads(encode_json(app.openapi_schema.to_schema()))
    audiences = {(route.path_format, method.lower()): tuple(handler.opt.get("audiences") or ())
                 for route in app.routes if isinstance(route, HTTPRoute)
                 for method, (handler, _) in route.route_handler_map.items()}
    return document, audiences


DOCUMENT, AUDIENCES = _build()
COMPONENTS: dict[str, Any] = DOCUMENT.get("components", {}).get("schemas", {})
OPERATIONS = [(method, path, op) for path, item in DOCUMENT["paths"].items()
              for method, op in item.items() if method in METHODS]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]] | {
            k: v for k, v in schema.items() if k != "$ref"}
    return schema


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type")
    return set(t) if isinstance(t, list) else {t} if t else set()


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a oneOf/anyOf, each with the outer keywords."""
    outer = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
    found = []
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        branch = resolve(branch)
        if _types(branch) != {"null"}:
            found.append(outer | branch)
    return found


def poisoned(schema: dict[str, Any], where: str, depth: int = 0) -> tuple[Any, list[str]]:
    """A value for `schema` with NUL in every string it can hold, and the fields (named as
    the guard names them) that carry one; (None, []) when it holds no string."""
    schema = resolve(schema)
    if depth > 8:
        return None, []
    if branches := _branches(schema):
        return poisoned(branches[0], where, depth + 1)
    for part in schema.get("allOf", []):
        schema = {k: v for k, v in schema.items() if k != "allOf"} | resolve(part)
    types = _types(schema)
    if "string" in types:
        return NUL, [where or "body"]
    if "object" in types or "properties" in schema:
        value: dict[str, Any] = {}
        fields: list[str] = []
        for name, sub in schema.get("properties", {}).items():
            got, named = poisoned(sub, f"{where}.{name}" if where else name, depth + 1)
            if named:
                value[name], fields = got, fields + named
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            got, named = poisoned(extra, f"{where}.k" if where else "k", depth + 1)
            if named:
                value["k"], fields = got, fields + named
        if not schema.get("properties") and not fields:  # a free-form object
            value["k"], fields = NUL, [f"{where}.k" if where else "k"]
        return value, fields
    if "array" in types and isinstance(schema.get("items"), dict):
        got, named = poisoned(schema["items"], f"{where}[0]", depth + 1)
        return ([got], named) if named else (None, [])
    return None, []


def _is_string_parameter(schema: dict[str, Any]) -> bool:
    schema = resolve(schema)
    if branches := _branches(schema):
        schema = branches[0]
    if "array" in _types(schema):
        schema = resolve(schema.get("items", {}))
    # a uuid or date path segment is matched by the router's converter: NUL in it is no path
    return "string" in _types(schema) and schema.get("format") not in ("uuid", "date")


def _placeholder(schema: dict[str, Any]) -> str:
    schema = resolve(schema)
    if branches := _branches(schema):
        schema = branches[0]
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    if schema.get("format") == "date":
        return "2026-10-01"
    if "integer" in _types(schema):
        return "1"
    return "x"


def multipart(fields: dict[str, tuple[str | None, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body written by hand (a client library would escape the NUL)."""
    boundary = "guard" + secrets.token_hex(8)
    parts = []
    for name, (filename, content) in fields.items():
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        parts.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
                     f"Content-Type: text/plain\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


def poisoned_request(method: str, path: str, op: dict[str, Any]) -> tuple[dict[str, Any],
                                                                         set[tuple[str, str]]]:
    """httpx request arguments with NUL in every string the operation takes (its path
    segments, query parameters and body fields), and the (key, source) pairs to refuse."""
    expected: set[tuple[str, str]] = set()
    params: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    url = path
    for p in op.get("parameters", []):
        name, where, schema = p["name"], p["in"], p.get("schema", {})
        if where == "path":
            value = NUL if _is_string_parameter(schema) else _placeholder(schema)
            url = url.replace("{" + name + "}", quote(value, safe=""))
            if value == NUL:
                expected.add((name, "path"))
        elif where == "query" and _is_string_parameter(schema):
            params.append((name, NUL))
            expected.add((name, "query"))
        elif where == "header" and name.lower() == "idempotency-key":
            headers[name] = "input-" + secrets.token_hex(8)
    kwargs: dict[str, Any] = {"method": method.upper(), "url": url, "headers": headers}
    content = (op.get("requestBody") or {}).get("content", {})
    if "application/json" in content:
        body, fields = poisoned(content["application/json"]["schema"], "")
        kwargs["content"] = json.dumps(body if fields else {"k": NUL}).encode()
        headers["content-type"] = "application/json"
        expected |= {(f, "body") for f in fields or ["k"]}
    elif "multipart/form-data" in content:
        kwargs["content"], boundary = multipart({"file": ("a\x00b.txt", b"evidence")})
        headers["content-type"] = f"multipart/form-data; boundary={boundary}"
        expected.add(("file", "body"))
    elif "application/x-www-form-urlencoded" in content:
        schema = resolve(content["application/x-www-form-urlencoded"]["schema"])
        kwargs["data"] = {name: NUL for name in schema.get("properties", {})}
        expected |= {(name, "body") for name in kwargs["data"]}
    kwargs["params"] = params
    return kwargs, expected


# ---- callers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def callers(settings: Settings, live: LiveServer, sms: Any,
            clock: ShiftableClock) -> dict[str, str]:
    """One real token per audience: a worker (logged in by SMS code), an HQ admin, a
    platform partner's OAuth2 client and a referral provider's."""

    async def build() -> dict[str, str]:
        staffed = await staffed_federation(settings, clock, live.url, "input")
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            worker, _ = await worker_login(client, sms, staffed.fed.hq)
        return {AUDIENCE_MOBILE: worker, AUDIENCE_ADMIN: staffed.hq_token,
                AUDIENCE_PARTNER: staffed.partner_token, AUDIENCE_PROVIDER: staffed.provider_token}

    built: dict[str, str] = run_in_thread(build)
    return built


def token_for(callers: dict[str, str], audiences: tuple[str, ...]) -> dict[str, str]:
    for audience in (AUDIENCE_MOBILE, AUDIENCE_ADMIN, AUDIENCE_PARTNER, AUDIENCE_PROVIDER):
        if audience in audiences:
            return bearer(callers[audience])
    return {}


@pytest.fixture
def sessions_opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every unit-of-work session the app opens while the test runs (the app serves from a
    thread of this process): the guard must answer before any."""
    opened: list[str] = []
    original = UnitOfWork.session

    def counting(self: UnitOfWork) -> Any:
        opened.append(self.scope.principal)
        return original.fget(self)  # type: ignore[attr-defined]

    monkeypatch.setattr(UnitOfWork, "session", property(counting))
    yield opened


def assert_refused(r: httpx.Response, expected: set[tuple[str, str]]) -> list[dict[str, Any]]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == "validation_failed" and problem["status"] == 422, problem
    errors: list[dict[str, Any]] = problem["errors"]
    got = {(e["key"], e["source"]) for e in errors}
    assert got == expected, (sorted(got), sorted(expected))
    for e in errors:
        assert set(e) == {"key", "source", "message"}, e
    return errors


# ---- every operation -----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS,
                         ids=[f"{m.upper()} {p}" for m, p, _ in OPERATIONS])
async def test_nul_in_every_string_of_every_operation_is_refused_before_the_database(
    client: httpx.AsyncClient, callers: dict[str, str], sessions_opened: list[str],
    method: str, path: str, op: dict[str, Any],
) -> None:
    """Each operation of the document, with its audience's token, gets NUL in every path
    segment, query parameter and body field it takes: 422 naming each of them, and no
    database session opened. An operation that takes no text (ids only) ignores a NUL in a
    query parameter it does not take, and answers without a 5xx."""
    kwargs, expected = poisoned_request(method, path, op)
    kwargs["headers"] |= token_for(callers, AUDIENCES[(path, method)])
    if not expected:
        kwargs["params"] = [("undeclared", NUL)]
        r = await client.request(**kwargs)
        assert r.status_code < 500 and r.status_code != 422, r.text
        return
    r = await client.request(**kwargs)
    errors = assert_refused(r, expected)
    assert all(e["message"] == text.NUL for e in errors), errors
    assert sessions_opened == [], sessions_opened


def test_the_sweep_covers_every_operation() -> None:
    """The sweep is over the document itself (~135 operations), and the app knows the token
    audience of each."""
    assert len(OPERATIONS) >= 130
    assert {(p, m) for m, p, _ in OPERATIONS} <= set(AUDIENCES)


# ---- the named ones, with what they would have written ---------------------------------------


@pytest.fixture
async def worker(client: httpx.AsyncClient, sms: Any, federation: Any) -> tuple[str, str]:
    return await worker_login(client, sms, federation.hq)


async def test_login_before_any_principal(client: httpx.AsyncClient,
                                          sessions_opened: list[str]) -> None:
    """The admin login's username became the transaction's principal: refused first."""
    for body in (b'{"username": "adm\\u0000in", "password": "x"}',
                 b'{"username": "adm\\ud800in", "password": "x"}'):
        r = await client.post("/v1/admin/login", content=body,
                              headers={"content-type": "application/json"})
        assert_refused(r, {("username", "body")})
    r = await client.post("/v1/auth/otp", json={"federation": "a\x00", "phone": "13900000000"})
    assert_refused(r, {("federation", "body")})
    assert sessions_opened == []


async def test_consent_joining_and_report_write_nothing(
    client: httpx.AsyncClient, owner: Any, worker: tuple[str, str], federation: Any,
    sessions_opened: list[str],
) -> None:
    token, worker_id = worker
    key = {"Idempotency-Key": secrets.token_hex(8)}
    r = await client.post("/v1/me/consents", headers=bearer(token) | key, json={
        "purpose": "privacy_policy", "version": "2026\x00", "granted": True})
    assert_refused(r, {("version", "body")})
    r = await client.post("/v1/me/membership/application", headers=bearer(token) | key | JSON,
                          content=escaped({
        "real_name": "张\x00三", "id_number": "310104199001011234", "employment_form":
        "crowdsourced", "city": "上海市", "join": federation.regions[0],
        "platforms": [{"partner": "alpha", "platform_worker_id": "A-\ud800"}]}))
    assert_refused(r, {("real_name", "body"), ("platforms[0].platform_worker_id", "body")})
    r = await client.post("/v1/bargaining/reports", headers=bearer(token) | key | JSON,
                          content=escaped({
        "topic": "other", "partner": "alpha", "title": "标题", "body": "说明\x00",
        "details": {"description": "\ud800"}}))
    assert_refused(r, {("body", "body"), ("details.description", "body")})
    assert sessions_opened == []
    uid = uuid.UUID(worker_id)
    async with owner() as s:
        assert await s.scalar(select(func.count()).select_from(WorkerConsent)
                              .where(WorkerConsent.worker_id == uid)) == 0
        assert await s.scalar(select(func.count()).select_from(Member)
                              .where(Member.worker_id == uid)) == 0
        assert await s.scalar(select(func.count()).select_from(ProblemReport)
                              .where(ProblemReport.worker_id == uid)) == 0


async def test_geo_query_path_segment_csv_and_form(
    client: httpx.AsyncClient, staff_token: Any, federation: Any, worker: tuple[str, str],
    sessions_opened: list[str],
) -> None:
    hq = bearer(await staff_token(federation, "hq_admin", federation.hq))
    r = await client.get("/v1/geo/stations/nearby", headers=bearer(worker[0]),
                         params=[("lon", "121.4"), ("lat", "31.2"), ("amenity", "wifi"),
                                 ("amenity", "to\x00ilet")])
    assert_refused(r, {("amenity", "query")})
    r = await client.get("/v1/admin/geo/stations/st%00a", headers=hq)
    assert_refused(r, {("code", "path")})
    r = await client.post("/v1/admin/geo/rosters", params={"partner": "alpha"}, headers=hq | {
        "content-type": "text/csv"}, content=b"worker_ref,active_days\nw-1\x00,3\n")
    assert_refused(r, {("body", "body")})
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                          headers={"Authorization": "Basic " + base64.b64encode(
                              b"alpha-1%00:secret").decode()})
    assert_refused(r, {("authorization", "header")})
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                          headers={"Authorization": "Basic " + base64.b64encode(
                              b"alpha-\xff:secret").decode()})
    assert_refused(r, {("authorization", "header")})
    assert sessions_opened == []
    # UTF-16 is full of NUL bytes: not UTF-8 text at all, so the roster's own rule answers.
    r = await client.post("/v1/admin/geo/rosters", params={"partner": "alpha"}, headers=hq | {
        "content-type": "text/csv"}, content="worker_ref,active_days\nw-1,3\n".encode("utf-16"))
    assert r.status_code == 422 and r.json()["code"] == "csv_encoding_invalid", r.text


async def test_multipart_text_fields_and_part_headers(
    client: httpx.AsyncClient, staff_token: Any, federation: Any,
    sessions_opened: list[str],
) -> None:
    hq = bearer(await staff_token(federation, "hq_admin", federation.hq))
    url = f"/v1/admin/bargaining/items/{uuid.uuid4()}/attachments"
    for fields, named in (
        ({"file": ("ok.txt", b"fine"), "note": (None, b"n\x00te")}, {("note", "body")}),
        ({"file": ("ok.txt", b"fine"), "note": (None, b"\xff\xfe")}, {("note", "body")}),
        ({"file": ("ok.txt", b"binary \x00 is fine in a file")}, None),
    ):
        body, boundary = multipart(fields)
        r = await client.post(url, content=body, headers=hq | {
            "content-type": f"multipart/form-data; boundary={boundary}"})
        if named is None:
            assert r.status_code == 404, r.text  # past the guard: the item does not exist
        else:
            assert_refused(r, named)
    assert len(sessions_opened) == 1  # the one that got past the guard


async def test_a_nul_header_is_refused(live: LiveServer) -> None:
    """A real HTTP server refuses NUL in a header itself; an ASGI server that passes one
    meets the guard (the app is called directly here: no client sends such a header)."""
    app = live.server.config.app
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/v1/consents/required", "raw_path":
             b"/v1/consents/required", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"test"), (b"x-note", b"a\x00b")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}
    await app(scope, receive, send)
    assert sent[0]["status"] == 422
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["errors"] == [{"key": "x-note", "source": "header", "message": text.NUL}]


# ---- strict input --------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [
    ("granted", 0), ("granted", 1), ("granted", "true"), ("version", 1), ("purpose", None)])
async def test_json_bodies_are_strict(client: httpx.AsyncClient, worker: tuple[str, str],
                                      owner: Any, field: str, value: Any) -> None:
    token, worker_id = worker
    body = {"purpose": "privacy_policy", "version": "1", "granted": True} | {field: value}
    r = await client.post("/v1/me/consents", json=body,
                          headers=bearer(token) | {"Idempotency-Key": secrets.token_hex(8)})
    errors = assert_refused(r, {(field, "body")})
    assert errors[0]["message"].startswith("Expected `"), errors
    async with owner() as s:
        assert await s.scalar(select(func.count()).select_from(WorkerConsent).where(
            WorkerConsent.worker_id == uuid.UUID(worker_id))) == 0


async def test_strict_numbers_and_nested_fields(client: httpx.AsyncClient, staff_token: Any,
                                                federation: Any) -> None:
    hq = bearer(await staff_token(federation, "hq_admin", federation.hq))
    r = await client.post("/v1/admin/geo/stations", headers=hq, json={
        "code": "strict-1", "name_zh": "严格", "location": {"lon": "121.4", "lat": 31.2},
        "opening_hours": {"mon": [["07:00", "22:00"]]}, "shift_changes": ["08:00"]})
    errors = assert_refused(r, {("location.lon", "body")})
    assert errors[0]["message"] == "Expected `float`, got `str`"


@pytest.mark.parametrize(("query", "key"), [
    ({"open_now": "1"}, "open_now"), ({"open_now": "True"}, "open_now"),
    ({"open_now": "yes"}, "open_now"), ({"radius_m": "1e3"}, "radius_m"),
    ({"limit": "5.0"}, "limit"), ({"lon": "1_0"}, "lon")])
async def test_query_scalars_are_strict(client: httpx.AsyncClient, worker: tuple[str, str],
                                        query: dict[str, str], key: str) -> None:
    params = {"lon": "121.4", "lat": "31.2"} | query
    r = await client.get("/v1/geo/stations/nearby", params=params, headers=bearer(worker[0]))
    assert_refused(r, {(key, "query")})


async def test_numbers_are_the_domains_to_refuse(client: httpx.AsyncClient,
                                                 worker: tuple[str, str]) -> None:
    """A number that is no coordinate (nan, inf) is the geo rules' to refuse, by their code."""
    for lon in ("nan", "inf"):
        r = await client.get("/v1/geo/stations/nearby", params={"lon": lon, "lat": "31.2"},
                             headers=bearer(worker[0]))
        assert r.status_code == 422 and r.json()["code"] == "coordinate_out_of_range", r.text


async def test_query_scalars_written_plainly_pass(client: httpx.AsyncClient, staff_token: Any,
                                                  federation: Any) -> None:
    hq = bearer(await staff_token(federation, "hq_admin", federation.hq))
    for params in ({"active": "true", "limit": "5"}, {"active": "false"}, {}):
        r = await client.get("/v1/admin/geo/stations", params=params, headers=hq)
        assert r.status_code == 200, r.text
    for params, key in (({"active": "1"}, "active"), ({"limit": "5.0"}, "limit"),
                        ({"limit": "1e1"}, "limit"), ({"limit": ""}, "limit")):
        r = await client.get("/v1/admin/geo/stations", params=params, headers=hq)
        assert_refused(r, {(key, "query")})


async def test_a_required_body_is_required_an_optional_one_is_not(
    client: httpx.AsyncClient, worker: tuple[str, str], staff_token: Any, federation: Any,
) -> None:
    """A missing body where the operation requires one: 422 validation_failed with `body`
    named (HTTP allows an empty body; what is missing is a field of the contract, as with
    `{}`, so the same answer as any other missing field). An operation whose body is
    optional takes none."""
    token, _ = worker
    for content in (b"", b"  "):
        r = await client.post("/v1/me/consents", content=content, headers=bearer(token) | {
            "Idempotency-Key": secrets.token_hex(8), "content-type": "application/json"})
        errors = assert_refused(r, {("body", "body")})
        assert errors[0]["message"].startswith("需要请求体")
    r = await client.post("/v1/admin/login")
    assert_refused(r, {("body", "body")})
    hq = bearer(await staff_token(federation, "hq_admin", federation.hq))
    # Bodies read as they are refuse an empty one themselves: a file, a roster, a token form.
    r = await client.post(f"/v1/admin/bargaining/items/{uuid.uuid4()}/attachments", headers=hq)
    assert r.status_code == 422 and r.json()["code"] == "validation_failed", r.text
    r = await client.post("/v1/admin/geo/rosters", params={"partner": "alpha"}, headers=hq)
    assert r.status_code == 415, r.text
    r = await client.post("/oauth/token")
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    r = await client.post("/v1/admin/geo/census", headers=hq)  # body optional: none sent
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/admin/bargaining/ballots/{uuid.uuid4()}/close", headers=hq)
    assert r.status_code == 404, r.text  # past the body check: no such ballot


def test_the_document_says_which_bodies_are_required() -> None:
    optional = {("post", "/v1/admin/members/{member_id}/approve"),
                ("post", "/v1/me/transfers/{transfer_id}/cancel"),
                ("post", "/v1/me/transfer-suggestions/{suggestion_id}/accept"),
                ("post", "/v1/admin/geo/census"),
                ("post", "/v1/admin/bargaining/items/{item_id}/ballots"),
                ("post", "/v1/admin/bargaining/ballots/{ballot_id}/close")}
    bodies = {(m, p): op["requestBody"].get("required") for m, p, op in OPERATIONS
              if "requestBody" in op}
    assert {k for k, required in bodies.items() if not required} == optional
    assert len(bodies) > 40


async def test_json_too_deep_to_read_is_malformed(
    client: httpx.AsyncClient, staff_token: Any, federation: Any, worker: tuple[str, str],
) -> None:
    """Nesting past what the decoder reads (into a free-form field): 400, not a 500 — for a
    plain write and for an idempotent one (whose fingerprint reads the body too)."""
    deep = b"[" * 200_000 + b"]" * 200_000
    hq = bearer(await staff_token(federation, "hq_admin", federation.hq))
    r = await client.put("/v1/admin/geo/areas", content=b'{"features": ' + deep + b"}",
                         headers=hq | JSON)
    assert r.status_code == 400 and r.json()["code"] == "malformed_request", r.text
    r = await client.post("/v1/bargaining/reports", headers=bearer(worker[0]) | JSON | {
        "Idempotency-Key": secrets.token_hex(8)}, content=b'{"topic": "other", "partner": '
        b'"alpha", "title": "t", "body": "b", "details": {"d": ' + deep + b"}}")
    assert r.status_code == 400 and r.json()["code"] == "malformed_request", r.text


# ---- the length audit ----------------------------------------------------------------------


_BOUNDED_FORMATS = {"uuid", "date", "date-time", "time", "duration", "email", "ipv4", "ipv6"}


def bounded_pattern(pattern: str) -> bool:
    """Anchored at both ends with only finite repetition."""
    plain = re.sub(r"\\Z$", "$", pattern)
    plain = re.sub(r"\\.", "x", plain)
    return (plain.startswith("^") and plain.endswith("$")
            and not re.search(r"[*+]|\{\d*,\}", plain))


def unbounded(schema: dict[str, Any], where: str, inherited: dict[str, Any],
              seen: frozenset[str] = frozenset()) -> Iterator[str]:
    """The request strings under `schema` with no length limit: no maxLength, enum, const,
    bounded format or bounded pattern (a file's bytes, format binary, are bounded by the
    body size). Keywords of a oneOf/anyOf wrapper apply to its branches."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return
        schema, seen = COMPONENTS[name] | {k: v for k, v in schema.items() if k != "$ref"}, \
            seen | {name}
    schema = inherited | schema
    keep = {k: schema[k] for k in ("maxLength", "enum", "const", "format", "pattern")
            if k in schema}
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(key, []):
            yield from unbounded(sub, where, keep, seen)
    types = _types(schema)
    if "string" in types and not (
            "maxLength" in schema or "enum" in schema or "const" in schema
            or schema.get("format") in _BOUNDED_FORMATS | {"binary"}
            or ("pattern" in schema and bounded_pattern(schema["pattern"]))):
        yield where
    for name, sub in schema.get("properties", {}).items():
        yield from unbounded(sub, f"{where}.{name}", {}, seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from unbounded(schema["additionalProperties"], f"{where}.*", {}, seen)
    if isinstance(schema.get("items"), dict):
        yield from unbounded(schema["items"], f"{where}[]", {}, seen)
    for i, sub in enumerate(schema.get("prefixItems", [])):
        yield from unbounded(sub, f"{where}[{i}]", {}, seen)


def test_bounded_pattern() -> None:
    assert bounded_pattern(r"^[a-z0-9][a-z0-9-]{1,62}(?!\n)$")
    assert bounded_pattern(r"^[a-z0-9][a-z0-9-]{1,62}\Z")
    assert bounded_pattern(r"^[0-9]{4}-W[0-9]{2}$")
    assert not bounded_pattern(r"^[a-z]+$")
    assert not bounded_pattern(r"[a-z]{1,5}")
    assert not bounded_pattern(r"^a{2,}$")


async def test_every_request_string_has_a_length_limit(client: httpx.AsyncClient) -> None:
    """Every string of a request body, query, path or header parameter in the served
    document is bounded; a failure names the operation and the field."""
    document = (await client.get("/schema/openapi.json")).json()
    assert document["paths"].keys() == DOCUMENT["paths"].keys()
    found = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            name = f"{method.upper()} {path}"
            for p in op.get("parameters", []):
                found += unbounded(p.get("schema", {}), f"{name} {p['in']} {p['name']}", {})
            for media, content in (op.get("requestBody") or {}).get("content", {}).items():
                found += unbounded(content.get("schema", {}), f"{name} body ({media})", {})
    assert found == [], "unbounded request strings:\n" + "\n".join(found)


def test_every_pattern_reads_the_same_in_javascript() -> None:
    """The mobile team validates with ECMA-262 regular expressions: no Python-only syntax
    (`\\Z`, `\\A`, named groups, inline flags) in any pattern of the document."""
    python_only = re.compile(r"\\[AZ]|\(\?P<|\(\?[aiLmsux]")
    found = [f"{where}: {pattern}" for where, pattern in _patterns(DOCUMENT)
             if python_only.search(pattern)]
    assert found == [], "\n".join(found)


def _patterns(node: Any, where: str = "$") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield where, node["pattern"]
        for key, value in node.items():
            yield from _patterns(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _patterns(value, f"{where}[{i}]")


# ---- OPTIONS -------------------------------------------------------------------------------


async def test_options_lists_every_method_of_every_path(client: httpx.AsyncClient) -> None:
    """For each path of the document, without a token: 204 and `Allow` = the path's
    documented methods and OPTIONS (/v1/admin/bargaining/items: GET and POST)."""
    r = await client.options("/v1/admin/bargaining/items")
    assert r.status_code == 204 and r.headers["allow"] == "GET, OPTIONS, POST"
    for path, item in DOCUMENT["paths"].items():
        url = path
        for p in item.get(next(iter(item)), {}).get("parameters", []):
            if p["in"] == "path":
                url = url.replace("{" + p["name"] + "}", _placeholder(p.get("schema", {})))
        r = await client.options(url)
        documented = {m.upper() for m in item if m in METHODS} | {"OPTIONS"}
        assert r.status_code == 204, (path, r.status_code, r.text)
        assert set(r.headers["allow"].split(", ")) >= documented, (path, r.headers["allow"])


# ---- the pure part -------------------------------------------------------------------------


def test_text_rules() -> None:
    assert text.unstorable("普通文字 plain") is None
    assert text.unstorable("a\x00") == text.NUL
    assert text.unstorable("a\ud800") == text.SURROGATE
    assert text.raw_body(b'{"a": [{"b": "\\u0000"}], "c\\u0000": 1}') == [
        ("a[0].b", text.NUL), ("c\\u0000", text.NUL)]
    assert text.raw_body(b'{"a": "\\ud83d\\ude00 ok"}') == []  # a surrogate pair is fine
    assert text.raw_body(b'{"a": "\\udc00"}') == [("a", text.SURROGATE)]
    assert text.raw_body(b"plain text \x00") == [("body", text.NUL)]
    assert text.raw_body("utf-16 text".encode("utf-16")) == []  # not UTF-8: the handler's
    assert text.raw_body(b"[" * 100_000 + b"]" * 100_000) == []  # left to the decoder: 400
    assert text.form(b"a=1&b=x%00&c%00=2") == [("b", text.NUL), ("c\\u0000", text.NUL)]
    assert len(text.raw_body(json.dumps(["\x00"] * 500).encode())) == text.MAX_ERRORS
