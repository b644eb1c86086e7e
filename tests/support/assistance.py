"""帮扶台账 helpers: a member, the staff of its region, a case taken along the track."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.factories import Federation, Joined, bearer, join

ME, ADMIN = "/v1/me/assistance", "/v1/admin/assistance"
DETAILS = {"diagnosis": "慢性肾病，需透析", "family_event": "配偶失业",
           "documents": ["诊断证明.pdf"]}


@dataclass
class Desk:
    fed: Federation
    member: Joined
    officer: str  # station officer of the member's station
    region: str  # regional admin (the committee)
    second: str  # another regional admin (a second person)
    hq: str


async def desk(client: httpx.AsyncClient, sms: Any, fed: Federation, staff_token: Any) -> Desk:
    r1 = fed.regions[0]
    station = fed.stations[r1][0]
    hq = await staff_token(fed, "hq_admin", fed.hq)
    member = await join(client, sms, fed, station, approver_token=hq)
    return Desk(fed, member,
                officer=await staff_token(fed, "station_officer", station, "officer-zhang"),
                region=await staff_token(fed, "regional_admin", r1, "chair-li"),
                second=await staff_token(fed, "regional_admin", r1, "member-wang"), hq=hq)


def key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


async def applied(client: httpx.AsyncClient, d: Desk, *, urgent: bool = False,
                  kind: str = "illness", summary: str = "大病住院，家庭困难") -> str:
    r = await client.post(ME, headers=bearer(d.member.token) | key(), json={
        "kind": kind, "summary": summary, "urgent": urgent, "details": DETAILS})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def approved(client: httpx.AsyncClient, d: Desk, amount_fen: int, **kw: Any) -> str:
    case = await applied(client, d, **kw)
    for token, step, body in ((d.officer, "accept", None), (d.second, "verify", {"note": "已核实"}),
                              (d.region, "decide", {"members_present": ["李主席", "王委员"],
                                                    "decision": "approve",
                                                    "amount_fen": amount_fen})):
        r = await client.post(f"{ADMIN}/cases/{case}/{step}", headers=bearer(token), json=body)
        assert r.status_code == 200, r.text
    return case


async def budget(client: httpx.AsyncClient, d: Desk, year: int, allocated_fen: int,
                 code: str = "hardship-fund") -> dict[str, Any]:
    r = await client.post(f"{ADMIN}/budget-lines", headers=bearer(d.hq), json={
        "year": year, "code": code, "name_zh": "困难职工帮扶资金", "allocated_fen": allocated_fen,
        "region": d.fed.regions[0]})
    assert r.status_code == 201, r.text
    return dict(r.json())
