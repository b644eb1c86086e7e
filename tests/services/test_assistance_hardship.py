"""困难会员 from the ledger: a case reaching 受理 puts its member in the `hardship` service group
(services/groups), read by the home region's staff; a case closed after a grant keeps the
member there for a year, and a refused one ends the mark — unless another case is open."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from flexunion.core.clock import BEIJING
from tests.services.conftest import load_groups, open_groups
from tests.support.assistance import ADMIN, applied, approved, budget, desk
from tests.support.factories import Federation, bearer

LIST = "/v1/admin/services/groups"


async def _expiry(owner, member_id: str):
    async with owner() as s:
        return (await s.execute(text(
            "SELECT expires_at FROM member_groups WHERE member_id = :m AND until IS NULL"
            " AND group_code = 'hardship'"), {"m": member_id})).scalar_one()


async def test_the_ledger_marks_and_ends_hardship(client, sms, owner, clock,
                                                  federation: Federation, staff_token) -> None:
    await load_groups(owner, federation)
    d = await desk(client, sms, federation, staff_token)
    member = d.member.member_id
    case = await applied(client, d)
    assert "hardship" not in await open_groups(owner, member)  # applying alone marks nothing
    r = await client.post(f"{ADMIN}/cases/{case}/accept", headers=bearer(d.officer))
    assert r.status_code == 200, r.text
    assert (await open_groups(owner, member))["hardship"] == {
        "sources": [f"assistance:{case}"]}
    listed = (await client.get(f"{LIST}/hardship/members", headers=bearer(d.region))).json()
    assert [m["member_id"] for m in listed["members"]] == [member]
    # granted, then 回访: the member stays in the group for a year
    year = clock.now().astimezone(BEIJING).year
    line = await budget(client, d, year, 10_000_000)
    granted = await approved(client, d, 100000, kind="family_emergency")
    r = await client.post(f"{ADMIN}/cases/{granted}/grants", headers=bearer(d.region),
                          json={"amount_fen": 100000, "budget_line": line["code"]})
    assert r.status_code == 200 and r.json()["step"] == "granted", r.text
    # the first case is still open (accepted): closing the granted one leaves the mark open-ended
    r = await client.post(f"{ADMIN}/cases/{granted}/follow-up", headers=bearer(d.officer),
                          json={"note": "已回访，生活稳定"})
    assert r.status_code == 200 and r.json()["step"] == "closed", r.text
    assert await _expiry(owner, member) is None
    # the first one refused and closed: no case is open, none of them granted → the mark ends
    for token, step, body in (
            (d.second, "verify", {"note": "已核实"}),
            (d.region, "decide", {"members_present": ["李主席"], "decision": "refuse",
                                  "reason": "不符合帮扶条件"}),
            (d.officer, "follow-up", {"note": "已告知"})):
        r = await client.post(f"{ADMIN}/cases/{case}/{step}", headers=bearer(token), json=body)
        assert r.status_code == 200, r.text
    assert "hardship" not in await open_groups(owner, member)


async def test_a_granted_case_keeps_the_member_a_year(client, sms, owner, clock,
                                                      federation: Federation,
                                                      staff_token) -> None:
    d = await desk(client, sms, federation, staff_token)
    year = clock.now().astimezone(BEIJING).year
    line = await budget(client, d, year, 10_000_000)
    case = await approved(client, d, 50000)
    r = await client.post(f"{ADMIN}/cases/{case}/grants", headers=bearer(d.region),
                          json={"amount_fen": 50000, "budget_line": line["code"]})
    assert r.status_code == 200, r.text
    r = await client.post(f"{ADMIN}/cases/{case}/follow-up", headers=bearer(d.officer),
                          json={"note": "已回访"})
    assert r.status_code == 200, r.text
    expires = await _expiry(owner, d.member.member_id)
    assert abs(expires - (clock.now() + timedelta(days=365))) < timedelta(minutes=5)
