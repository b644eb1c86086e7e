"""Who may apply follows the member's data: a service open to groups (送清凉, for the
night/heat outdoor group) is refused until the member's shifts put them in a group that
offers it — for the worker in the app and for the window's walk-in alike; a women's service
follows the sex the resident ID gives."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

from tests.services.conftest import drain, load_groups, load_services, member, push
from tests.services.test_groups import resident_id
from tests.services.test_platform_events import shift
from tests.support.bargaining import partner_client
from tests.support.factories import Federation, bearer

ME = "/v1/me/service-applications"
ADMIN = "/v1/admin/service-applications"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(8)}


async def test_a_group_service_opens_when_the_data_puts_the_member_in_the_group(
        client, owner, sms, settings, clock, app_sessions, federation: Federation,
        staff_token) -> None:
    await load_services(owner, federation)
    await load_groups(owner, federation)
    joined, rider = await member(client, sms, federation, staff_token,
                                 id_number=resident_id(date(1994, 3, 1), female=False))
    await drain(owner, app_sessions, settings, clock, federation)
    body = {"service": "summer-cool"}
    r = await client.post(ME, json=body, headers=bearer(joined.token) | _key())
    assert r.status_code == 403 and r.json()["code"] == "service_not_offered", r.text
    assert "夜间" not in r.text and "night-heat" not in r.text  # the group is never named
    r = await client.post(ME, json={"service": "women-workers"},
                          headers=bearer(joined.token) | _key())
    assert r.status_code == 403 and r.json()["code"] == "service_not_offered", r.text
    station = await staff_token(federation, "regional_admin", federation.regions[0])
    walk_in = {"member_no": joined.body["member_no"], "service": "summer-cool"}
    r = await client.post(ADMIN, json=walk_in, headers=bearer(station))
    assert r.status_code == 403 and r.json()["code"] == "service_not_offered", r.text
    alpha = await partner_client(client, owner, federation, "alpha")
    for day in range(3):  # 3 nights of 8 night hours: 24 ≥ 20
        r = await push(client, alpha.token, shift(
            rider, hours=10, night_hours=8,
            day=(datetime.now(UTC).date() - timedelta(days=day)).isoformat()))
        assert r.status_code == 201, r.text
    await drain(owner, app_sessions, settings, clock, federation)
    r = await client.post(ME, json=body, headers=bearer(joined.token) | _key())
    assert r.status_code == 201, r.text
    r = await client.post(ADMIN, json=walk_in | {"note": "窗口代办"}, headers=bearer(station))
    assert r.status_code == 201, r.text


async def test_a_women_service_follows_the_resident_id(
        client, owner, sms, settings, clock, app_sessions, federation: Federation,
        staff_token) -> None:
    await load_services(owner, federation)
    joined, _ = await member(client, sms, federation, staff_token,
                             id_number=resident_id(date(1992, 8, 1), female=True))
    r = await client.post(ME, json={"service": "women-workers"},
                          headers=bearer(joined.token) | _key())
    assert r.status_code == 201, r.text
