"""意见收集二维码: staff print the QR of a station in their own subtree only; any other
station — a sibling region's, another federation's — answers 404 as if it did not exist."""

from __future__ import annotations

from tests.support.factories import Federation, bearer

STAFF = "/v1/cases"


async def test_the_suggestion_qr_is_only_for_a_station_of_the_callers_subtree(
        client, federation: Federation, other_federation: Federation, staff_token) -> None:
    region_a, region_b = federation.regions[0], federation.regions[1]
    station = federation.stations[region_a][0]
    sibling = federation.stations[region_a][1]
    allowed = {
        "hq": await staff_token(federation, "hq_admin", federation.hq),
        "region": await staff_token(federation, "regional_admin", region_a),
        "station": await staff_token(federation, "station_officer", station),
    }
    for who, token in allowed.items():
        r = await client.get(f"{STAFF}/suggestion-links/{station}", headers=bearer(token))
        assert r.status_code == 200 and r.text.startswith("<svg"), (who, r.text)
        assert r.headers["X-Suggestion-Link"].endswith(f"/v1/suggestions/{station}")
    refused = {
        "another region": (await staff_token(federation, "regional_admin", region_b), station),
        "another station": (allowed["station"], sibling),
        "another federation": (await staff_token(other_federation, "hq_admin",
                                                 other_federation.hq), station),
        "its own federation, a station of the other": (
            allowed["hq"], other_federation.stations[other_federation.regions[0]][0]),
    }
    unknown = await client.get(f"{STAFF}/suggestion-links/no-such-station",
                               headers=bearer(allowed["hq"]))
    assert unknown.status_code == 404
    for who, (token, code) in refused.items():
        r = await client.get(f"{STAFF}/suggestion-links/{code}", headers=bearer(token))
        assert r.status_code == 404, (who, r.status_code, r.text)
        assert r.json()["code"] == "station_not_found", who
        assert r.json().get("detail") == unknown.json().get("detail"), who
        assert "X-Suggestion-Link" not in r.headers
