"""The OpenAPI document is the mobile team's contract, so it is checked, not hoped for.

`test_every_operation_documents_what_it_can_answer` walks the served document against the
route handlers (their `opt`, parameters and body): every problem the pipeline can give for
that kind of operation is there, as `application/problem+json` with the `Problem` schema and
a description naming its codes, and every code named is one docs/api.md lists for that
status. Time budget: 2 s.

`test_real_answers_are_documented` makes real calls (a table below: errors of every kind,
file downloads, the status list, the OAuth token endpoint) and checks that each answer's
status and content type are the ones documented for its operation, and a problem's `code`
is named for its status. Time budget: 15 s (most of it making a federation and its users).
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flexunion.auth.tokens import audience_for
from flexunion.core.context import Role
from tests.support.bargaining import seed_item
from tests.support.factories import Federation, bearer, worker_login
from tests.support.server import LiveServer

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
# Answers in a shape of their own: RFC 6749 §5.2 errors (OAuth client libraries read them).
OWN_SHAPE = {("post", "/oauth/token", "400"), ("post", "/oauth/token", "401")}
# Codes of docs/api.md that no operation answers: 405 answers a method the path lacks.
NOT_AN_OPERATION = {("405", "method_not_allowed")}
IDEMPOTENCY = {"400": {"idempotency_key_required", "idempotency_key_invalid"},
               "409": {"idempotency_in_flight"}, "422": {"idempotency_key_reused"}}
CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z]+")
METHODS = ("get", "put", "post", "delete", "patch")


def named_codes(description: str) -> set[str]:
    """The codes a description names: in each `;` group, the comma-separated words before
    its first colon (asides in parentheses or `backquotes` left out)."""
    plain = re.sub(r"\([^()]*\)|`[^`]*`", "", description)
    return {w.strip() for group in plain.split(";") for w in group.split(":", 1)[0].split(",")
            if CODE.fullmatch(w.strip())}


def api_md_codes() -> dict[str, set[str]]:
    """docs/api.md's error-code table: status → codes (asides in parentheses left out)."""
    table: dict[str, set[str]] = {}
    for line in (ROOT / "docs" / "api.md").read_text().splitlines():
        if m := re.fullmatch(r"\| (\d{3}) \| (.*) \|", line):
            plain = re.sub(r"\([^()]*\)", "", m.group(2))
            table[m.group(1)] = set(re.findall(r"`([a-z0-9_]+)`", plain))
    return table


def forbids(opt: dict[str, Any]) -> bool:
    """Whether a token the route accepts can carry a role the route refuses."""
    roles = opt.get("roles")
    holders = {r for r in Role if audience_for(r) in (opt.get("audiences") or ())}
    return roles is not None and bool(holders - set(roles))


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    doc: dict[str, Any]
    route: HTTPRoute
    opt: dict[str, Any]
    decodes_body: bool

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def operations(app: Litestar, document: dict[str, Any]) -> list[Operation]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            doc = document["paths"].get(route.path_format, {}).get(method.lower())
            if doc is not None:
                deps = handler.resolve_dependencies().values()
                decodes = "data" in handler.parsed_fn_signature.parameters or any(
                    "data" in d.parsed_fn_signature.parameters for d in deps)
                found.append(Operation(method.lower(), route.path_format, doc, route,
                                       dict(handler.opt), decodes))
    return found


def app_of(live: LiveServer) -> Litestar:
    app = live.server.config.app
    assert isinstance(app, Litestar)
    return app


async def test_every_operation_documents_what_it_can_answer(client: httpx.AsyncClient,
                                                           live: LiveServer) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    ops = operations(app_of(live), document)
    assert len(ops) == sum(1 for item in document["paths"].values() for m in item
                           if m in METHODS), "an operation of the document has no handler"
    table = api_md_codes()
    wrong: list[str] = []
    used: set[tuple[str, str]] = set()
    for op in ops:
        answers: dict[str, Any] = op.doc["responses"]
        codes = {status: named_codes(a["description"]) for status, a in answers.items()
                 if int(status) >= 400}

        def lacks(status: str, why: str, *, code: str | None = None,
                  op: Operation = op, codes: dict[str, set[str]] = codes) -> None:
            if status not in codes:
                wrong.append(f"{op}: no {status} ({why})")
            elif code and code not in codes[status]:
                wrong.append(f"{op}: {status} does not name {code} ({why})")

        audiences = list(op.opt.get("audiences") or ())
        if op.doc.get("x-flexunion-audiences") != audiences:
            wrong.append(f"{op}: x-flexunion-audiences is not {audiences}")
        idempotent = bool(op.opt.get("idempotent"))
        if op.doc.get("x-flexunion-idempotent", False) is not idempotent:
            wrong.append(f"{op}: x-flexunion-idempotent is not {idempotent}")
        if audiences:
            lacks("401", "a bearer token", code="token_missing")
            if forbids(op.opt):
                lacks("403", "roles its audiences' tokens may not carry", code="forbidden")
            elif "forbidden" in codes.get("403", ()):
                wrong.append(f"{op}: 403 forbidden, but every token it accepts may call it")
        if "requestBody" in op.doc:
            for status in ("400", "413", "422"):
                lacks(status, "a body")
            if op.decodes_body:
                lacks("400", "a body Litestar decodes", code="malformed_request")
                lacks("422", "a body Litestar decodes", code="validation_failed")
        typed = {n for n, p in op.route.path_parameters.items() if p.type is not str}
        checked = [p for p in op.doc.get("parameters", [])
                   if p["name"] not in typed and p["name"] != "Idempotency-Key"]
        if checked:
            lacks("422", f"parameter {checked[0]['name']}", code="validation_failed")
        if typed:
            lacks("404", f"path parameter {sorted(typed)[0]}", code="not_found")
        if idempotent:
            for status, needed in IDEMPOTENCY.items():
                for code in sorted(needed):
                    lacks(status, "an Idempotency-Key", code=code)
            if not any(p["name"] == "Idempotency-Key" and p["in"] == "header" and p["required"]
                       for p in op.doc.get("parameters", [])):
                wrong.append(f"{op}: no required Idempotency-Key header")
        lacks("500", "every operation", code="internal_error")
        if audiences or idempotent:
            lacks("503", "the database", code="database_unavailable")
        for status, answer in answers.items():
            if int(status) < 400:
                continue
            if (op.method, op.path, status) in OWN_SHAPE:
                if "application/json" not in answer.get("content", {}):
                    wrong.append(f"{op}: {status} is not its RFC 6749 JSON")
                continue
            if answer.get("content") != PROBLEM:
                wrong.append(f"{op}: {status} is not problem+json with the Problem schema")
            if not codes[status]:
                wrong.append(f"{op}: {status} names no code: {answer['description']!r}")
            for code in sorted(codes[status] - table.get(status, set())):
                wrong.append(f"{op}: {status} {code} is not in docs/api.md's table")
            used |= {(status, code) for code in codes[status]}
    unused = {(s, c) for s, cs in table.items() for c in cs} - used - NOT_AN_OPERATION
    wrong += [f"docs/api.md lists {s} {c}, which no operation documents" for s, c in
              sorted(unused)]
    assert not wrong, "\n".join(wrong)


# ---- real answers ------------------------------------------------------------------------


def operation_for(document: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The documented operation a concrete path answers (the most literal template wins)."""
    matches = []
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if method in item and re.match(pattern, path):
            matches.append((template.count("{"), template, item[method]))
    assert matches, f"{method.upper()} {path} is no operation of the document"
    _, template, op = min(matches)
    return template, op


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32


@pytest.fixture
async def actors(client: httpx.AsyncClient, sms: Any, federation: Federation,
                 staff_token: Any) -> dict[str, str]:
    worker, _ = await worker_login(client, sms, federation.hq)
    station = federation.stations[federation.regions[0]][0]
    return {"worker": worker,
            "hq": await staff_token(federation, "hq_admin", federation.hq),
            "region": await staff_token(federation, "regional_admin", federation.regions[0]),
            "officer": await staff_token(federation, "station_officer", station)}


async def test_real_answers_are_documented(
    client: httpx.AsyncClient, federation: Federation, actors: dict[str, str],
    owner: async_sessionmaker[AsyncSession], settings: Any,
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    w, hq, region, officer = (bearer(actors[k]) for k in ("worker", "hq", "region", "officer"))

    def key() -> dict[str, str]:
        return {"Idempotency-Key": secrets.token_hex(8)}

    consent = {"purpose": "privacy_policy", "version": "2026-11", "granted": True}
    once = key()
    item = await seed_item(owner, federation, status="on_agenda")
    nobody = uuid.uuid4()
    huge = b'{"pad": "' + b"x" * (settings.api.request_max_body_bytes + 10) + b'"}'
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("get", "/healthz", {}),
        ("post", "/v1/me/consents", {"json": consent, "headers": w}),
        ("post", "/v1/me/consents", {"json": consent, "headers": w | once}),
        ("post", "/v1/me/consents", {"json": consent | {"granted": False},
                                     "headers": w | once}),
        ("post", "/v1/me/consents", {"content": b"{not json",
                                     "headers": w | key() | {"content-type": "application/json"}}),
        ("post", "/v1/me/consents", {"content": huge,
                                     "headers": w | key() | {"content-type": "application/json"}}),
        ("post", "/v1/me/consents", {"json": {"purpose": "sell"}, "headers": w | key()}),
        ("get", "/v1/me/card", {}),
        ("get", "/v1/me/card", {"headers": {"Authorization": "Bearer not-a-jwt"}}),
        ("get", "/v1/me/card", {"headers": w}),
        ("get", "/v1/me/card", {"headers": hq}),
        ("get", "/v1/admin/audit", {"headers": officer}),
        ("get", "/v1/admin/tenants", {"headers": hq, "params": {"cursor": "%%%"}}),
        ("get", "/v1/admin/tenants/NOT_A_CODE", {"headers": hq}),
        ("get", f"/v1/admin/tenants/{federation.hq}", {"headers": hq}),
        ("get", "/v1/admin/transfers/not-a-uuid", {"headers": hq}),
        ("get", f"/v1/admin/transfers/{nobody}", {"headers": hq}),
        ("get", "/v1/geo/resolve", {"headers": hq, "params": {"lon": 500, "lat": 31}}),
        ("get", f"/v1/federations/{federation.hq}/status-list", {}),
        ("get", f"/v1/federations/{federation.hq}/jwks.json", {}),
        ("get", "/v1/federations/no-such-federation/jwks.json", {}),
        ("post", "/oauth/token", {"data": {"grant_type": "client_credentials"},
                                  "auth": ("nobody", "wrong")}),
        ("post", "/oauth/token", {"data": {"grant_type": "password"}}),
        ("post", f"/v1/admin/bargaining/items/{item}/attachments",
         {"headers": region, "files": {"file": ("a.exe", b"MZ\x90\x00" + b"\x00" * 64,
                                                "application/octet-stream")}}),
        ("get", f"/v1/admin/bargaining/attachments/{nobody}", {"headers": region}),
        ("post", "/v1/admin/geo/census", {"headers": hq, "json": {"engine": "bogus"}}),
    ]
    answers = [(m, p, await client.request(m, p, **kw)) for m, p, kw in calls]

    # Files: evidence downloads with their stored type, the census in CSV, GeoJSON and PNG,
    # the status list again with its ETag (304).
    up = await client.post(f"/v1/admin/bargaining/items/{item}/attachments", headers=region,
                           files={"file": ("shot.png", PNG, "image/png")})
    assert up.status_code == 201, up.text
    answers.append(("post", f"/v1/admin/bargaining/items/{item}/attachments", up))
    path = f"/v1/admin/bargaining/attachments/{up.json()['id']}"
    answers.append(("get", path, await client.get(path, headers=region)))
    run = await client.post("/v1/admin/geo/census", headers=hq)
    answers.append(("post", "/v1/admin/geo/census", run))
    assert run.status_code == 201, run.text
    for suffix in ("", "/zones.csv", "/zones.geojson", "/map.png"):
        path = f"/v1/admin/geo/census/{run.json()['id']}{suffix}"
        answers.append(("get", path, await client.get(path, headers=hq)))
    listed = next(r for m, p, r in answers if p.endswith("/status-list"))
    if "etag" in listed.headers:
        path = f"/v1/federations/{federation.hq}/status-list"
        answers.append(("get", path, await client.get(
            path, headers={"If-None-Match": listed.headers["etag"]})))

    wrong: list[str] = []
    seen: set[int] = set()
    for method, path, r in answers:
        template, op = operation_for(document, method, path)
        where = f"{method.upper()} {path} ({template}) answered {r.status_code}"
        seen.add(r.status_code)
        documented = op["responses"].get(str(r.status_code))
        if documented is None:
            wrong.append(f"{where}, not documented ({sorted(op['responses'])})")
            continue
        media = r.headers.get("content-type", "").split(";")[0].strip()
        types = {t.split(";")[0].strip() for t in documented.get("content") or {}}
        if (media or types) and media not in types:
            wrong.append(f"{where} as {media!r}, documented as {sorted(types)}")
        if media == "application/problem+json":
            code = r.json()["code"]
            if code not in named_codes(documented["description"]):
                wrong.append(f"{where} {code}, not named: {documented['description']!r}")
    assert not wrong, "\n".join(wrong)
    # The table reaches every kind of answer it is meant to.
    assert {200, 201, 304, 400, 401, 403, 404, 413, 415, 422} <= seen, sorted(seen)


async def test_bodies_that_refuse_unknown_members_say_so(client: httpx.AsyncClient) -> None:
    """A request struct with forbid_unknown_fields answers 422 to any other member; its
    schema says `additionalProperties: false`, and a real refusal proves the pairing."""
    from flexunion.core.openapi import _structs

    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    closed = {name for name, cls in _structs().items()
              if cls.__struct_config__.forbid_unknown_fields and name in schemas}
    assert "ConsentCreate" in closed and "JoinApplication" in closed
    wrong = sorted(n for n in closed if schemas[n].get("additionalProperties") is not False)
    assert wrong == [], wrong
    r = await client.post("/v1/auth/otp", json={"federation": "x-hq", "phone": "13912345678",
                                                "tenant_id": "x"})
    assert r.status_code == 422 and schemas["OtpRequest"]["additionalProperties"] is False


# Writes by the worker app and by platform partners that need no Idempotency-Key, and why.
NOT_RETRIED = {
    ("post", "/v1/partner/cases/hotline-orders"): "idempotent by the hotline's own order number "
    "(docs/cases.md): the same number and body return the same case",
    ("post", "/v1/partner/clauses/verify"): "writes nothing: it checks a presented document",
}


async def test_every_app_and_partner_write_takes_an_idempotency_key(
        client: httpx.AsyncClient, live: LiveServer) -> None:
    """design.md: every mobile write takes an Idempotency-Key; so does every write of a
    platform's machine client, which retries the same way over a flaky link."""
    document = (await client.get("/schema/openapi.json")).json()
    missing = [str(op) for op in operations(app_of(live), document)
               if op.method in ("post", "put", "patch", "delete")
               and op.path.startswith(("/v1/me/", "/v1/partner/"))
               and (op.method, op.path) not in NOT_RETRIED
               and not op.opt.get("idempotent")]
    assert not missing, "\n".join(missing)
