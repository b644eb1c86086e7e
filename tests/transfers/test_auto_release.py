"""An origin that does not answer within N working days (its working calendar, 调休 included)
releases automatically: `flexunion transfers auto-release`, run as the system."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from flexunion.config import Settings, TransferSettings
from flexunion.core.clock import BEIJING
from flexunion.db.runtime import owner_session
from flexunion.transfers.jobs import PRINCIPAL, auto_release
from tests.conftest import TEST_ISSUER, TEST_SECRET
from tests.support.factories import Federation, bearer, join

SCRIPT = Path(sys.executable).with_name("flexunion")


async def test_released_after_five_working_days_across_national_day(
    client, sms, fed3: Federation, staff_token, clock, settings: Settings, owner,
) -> None:
    r1, r2, _ = fed3.regions
    origin_admin = await staff_token(fed3, "regional_admin", r1)
    dest_admin = await staff_token(fed3, "regional_admin", r2)
    worker = await join(client, sms, fed3, r1, approver_token=origin_admin)
    # The service's clock goes back to Wednesday 30 September 2026, 10:00 in Beijing: the next
    # day starts the 国庆 holiday. (Tokens were issued first: their expiry is checked in real time.)
    clock.offset = datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING) - datetime.now(UTC)
    asked = await client.post("/v1/me/transfers", json={"to": r2},
                              headers=bearer(worker.token) | {"Idempotency-Key": "holiday"})
    assert asked.status_code == 201, asked.text
    tid = asked.json()["id"]
    # Oct 1–7 off; Oct 8, 9, 10 (a Saturday worked in exchange), 12 and 13: due at the end of
    # Tuesday 13 October, Beijing time — not "five days later" and not 7 October.
    due = datetime.fromisoformat(asked.json()["release_due_at"])
    assert due == datetime(2026, 10, 14, 0, 0, tzinfo=BEIJING)

    async def run(now: datetime) -> list[str]:
        async with owner_session(settings, principal=PRINCIPAL) as session:
            return [str(t.id) for t in await auto_release(session, now,
                                                          federation_id=fed3.ids[fed3.hq])]

    assert await run(datetime(2026, 10, 8, 12, 0, tzinfo=BEIJING)) == []   # a naive 5 days
    assert await run(due - timedelta(seconds=1)) == []
    assert await run(due) == [tid]
    assert await run(due + timedelta(days=1)) == []   # once only

    got = await client.get(f"/v1/admin/transfers/{tid}", headers=bearer(dest_admin))
    assert got.json()["status"] == "released" and got.json()["auto_released"] is True
    assert datetime.fromisoformat(got.json()["released_at"]) == due
    async with owner() as s:
        row = (await s.execute(text(
            "SELECT actor, tenant_id, payload FROM audit_events WHERE action = 'transfer.released'"
            " AND object_id = :t"), {"t": tid})).one()
    assert row.actor == PRINCIPAL and row.tenant_id == fed3.ids[r1] and row.payload["auto"] is True
    # The destination can take it from here.
    accepted = await client.post(f"/v1/admin/transfers/{tid}/accept", headers=bearer(dest_admin))
    assert accepted.status_code == 200, accepted.text
    mine = (await client.get("/v1/me/membership", headers=bearer(worker.token))).json()
    assert mine["home"]["code"] == r2 and mine["transfers"][0]["auto_released"] is True


async def test_the_deadline_is_configurable(
    client, sms, fed3: Federation, staff_token, clock, settings: Settings,
) -> None:
    from dataclasses import replace

    from flexunion.app import create_app
    from tests.support.server import LiveServer

    server = LiveServer(create_app(replace(settings,
                                           transfers=TransferSettings(release_working_days=1)),
                                   sms=sms, clock=clock)).start()
    try:
        import httpx

        async with httpx.AsyncClient(base_url=server.url, timeout=30) as other:
            r1, r2, _ = fed3.regions
            worker = await join(other, sms, fed3, r1,
                                approver_token=await staff_token(fed3, "regional_admin", r1))
            clock.offset = datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING) - datetime.now(UTC)
            asked = await other.post("/v1/me/transfers", json={"to": r2},
                                     headers=bearer(worker.token) | {"Idempotency-Key": "one-day"})
    finally:
        server.stop()
    assert datetime.fromisoformat(asked.json()["release_due_at"]) == \
        datetime(2026, 10, 9, 0, 0, tzinfo=BEIJING)   # the end of Thursday 8 October


async def test_the_cli_command(settings: Settings, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLEXUNION_") and k != "DATABASE_URL"}
    env.update({"DATABASE_URL": settings.database_url or "",
                "FLEXUNION_APP_DATABASE_URL": settings.app_database_url or "",
                "FLEXUNION_SECRET_KEY": TEST_SECRET, "FLEXUNION_ISSUER": TEST_ISSUER,
                "FLEXUNION_DATA_DIR": str(tmp_path / "data"), "FLEXUNION_LOAD_DEMO": "0",
                "FLEXUNION_LOG_LEVEL": "WARNING"})
    done = await asyncio.to_thread(subprocess.run, [str(SCRIPT), "transfers", "auto-release"],
                                   env=env, cwd=tmp_path, capture_output=True, text=True,
                                   timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("released ") and done.stdout.strip().endswith("transfer(s)")
