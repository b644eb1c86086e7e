"""Ballot secrecy, checked in the catalog and in the rows: nothing joins a voter to a paper.

(a) a paper names no member, worker, elector or time; (b) the app role cannot read papers;
(c) no view, function or trigger reads papers together with the roll or the members;
(d) after closing, the papers' xmin says nothing of the voting order; (e) the audit trail
and the stored Idempotency-Key answer of a vote hold neither the choice nor the receipt."""

from __future__ import annotations

import hashlib

import asyncpg
import pytest

from flexunion.config import Settings
from flexunion.db.urls import to_asyncpg
from tests.bargaining.test_ballots import close, enrol, key, open_ballot, receipt
from tests.support.bargaining import seed_item
from tests.support.factories import Federation, bearer

LINKING = ("ballot_electors", "members", "worker_accounts", "member_homes")


@pytest.fixture
async def conn(settings: Settings):
    assert settings.database_url
    c = await asyncpg.connect(to_asyncpg(settings.database_url))
    yield c
    await c.close()


async def test_a_paper_names_no_voter_and_no_time(conn: asyncpg.Connection) -> None:
    columns = {r["attname"]: r["type"] for r in await conn.fetch(
        "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
        " WHERE attrelid = 'ballot_papers'::regclass AND attnum > 0 AND NOT attisdropped")}
    assert set(columns) == {"id", "ballot_id", "choice", "receipt_hash"}
    assert not [c for c, t in columns.items() if "time" in t or "date" in t or "interval" in t]
    targets = {r["target"] for r in await conn.fetch(
        "SELECT confrelid::regclass::text AS target FROM pg_constraint"
        " WHERE conrelid = 'ballot_papers'::regclass AND contype = 'f'")}
    assert targets == {"ballots"}
    # …and nothing points at a paper either.
    assert not await conn.fetch("SELECT conname FROM pg_constraint WHERE contype = 'f'"
                                " AND confrelid = 'ballot_papers'::regclass")


async def test_the_app_role_may_only_add_papers(conn: asyncpg.Connection,
                                                settings: Settings) -> None:
    role = settings.app_role
    for privilege, expected in (("INSERT", True), ("SELECT", False), ("UPDATE", False),
                                ("DELETE", False), ("TRUNCATE", False), ("REFERENCES", False)):
        assert await conn.fetchval("SELECT has_table_privilege($1, 'ballot_papers', $2)",
                                   role, privilege) is expected, privilege
    assert not await conn.fetchval(
        "SELECT has_any_column_privilege($1, 'ballot_papers', 'SELECT')", role)
    assert settings.app_database_url
    app = await asyncpg.connect(to_asyncpg(settings.app_database_url))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.fetch("SELECT * FROM ballot_papers")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.fetch("SELECT count(*) FROM ballot_papers")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.execute("DELETE FROM ballot_papers")
    finally:
        await app.close()


async def test_nothing_reads_papers_together_with_the_roll(conn: asyncpg.Connection) -> None:
    functions = await conn.fetch(
        "SELECT p.proname, p.prosrc FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace"
        " AND p.prosrc ILIKE '%ballot_papers%'")
    names = {f["proname"] for f in functions}
    assert {"flexunion_ballot_count", "flexunion_ballot_seal"} <= names  # the scan sees them
    linking = [f["proname"] for f in functions
               if any(t in f["prosrc"].lower() for t in LINKING)]
    assert linking == []
    views = await conn.fetch(
        "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public'"
        " AND definition ILIKE '%ballot_papers%'")
    assert [v["viewname"] for v in views
            if any(t in v["definition"].lower() for t in LINKING)] == []
    matviews = await conn.fetch("SELECT matviewname FROM pg_matviews WHERE schemaname = 'public'"
                                " AND definition ILIKE '%ballot_papers%'")
    assert matviews == []
    # No trigger on papers or on the roll could copy one into the other.
    triggers = await conn.fetch(
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN"
        " ('ballot_papers'::regclass, 'ballot_electors'::regclass)")
    assert triggers == []


async def _vote(client, voter, bid: str, choice: str, code: str):
    headers = bearer(voter.token) | key()
    r = await client.post(f"/v1/bargaining/ballots/{bid}/votes",
                          json={"choice": choice, "receipt_code": code}, headers=headers)
    assert r.status_code == 201, r.text
    return r, headers["Idempotency-Key"]


async def test_closing_seals_the_papers_and_the_trail_holds_no_choice(
    client, sms, federation: Federation, staff_token, owner, conn: asyncpg.Connection,
) -> None:
    fed = federation
    hq = await staff_token(fed, "hq_admin", fed.hq)
    voters = [await enrol(client, sms, fed, fed.regions[0], hq) for _ in range(3)]
    await enrol(client, sms, fed, fed.regions[0], hq)  # on the roll, never votes
    item = await seed_item(owner, fed, status="agreed")
    bid = (await open_ballot(client, hq, item)).json()["id"]
    codes = [receipt() for _ in voters]
    keys = []
    for voter, choice, code in zip(voters, ("yes", "no", "abstain"), codes, strict=True):
        r, k = await _vote(client, voter, bid, choice, code)
        keys.append((voter, k, r))

    # While open, each paper carries the xmin of its own vote's transaction (next to its
    # voter's roll mark): this is exactly what sealing must erase.
    before = {r["xmin"] for r in await conn.fetch(
        "SELECT xmin::text FROM ballot_papers WHERE ballot_id = $1", bid)}
    assert len(before) == 3

    assert (await close(client, hq, bid)).status_code == 200
    after = [r["xmin"] for r in await conn.fetch(
        "SELECT xmin::text FROM ballot_papers WHERE ballot_id = $1", bid)]
    electors = {r["xmin"] for r in await conn.fetch(
        "SELECT xmin::text FROM ballot_electors WHERE ballot_id = $1", bid)}
    assert len(after) == 3 and len(set(after)) == 1
    assert after[0] not in electors and after[0] not in before

    # (e) the audit trail and the stored answers of the votes.
    secrets_ = [*codes, *(hashlib.sha256(f"{bid}:{c}".encode()).hexdigest() for c in codes)]
    audits = await conn.fetch("SELECT action, payload::text AS payload FROM audit_events"
                              " WHERE object_id = $1", bid)
    voted = [a for a in audits if a["action"] == "ballot.voted"]
    assert len(voted) == 3 and {a["payload"] for a in voted} == {f'{{"ballot_id": "{bid}"}}'}
    for a in audits:
        assert not any(s in a["payload"] for s in secrets_), a["action"]
    for voter, k, response in keys:
        row = await conn.fetchrow("SELECT key, headers::text AS headers, body FROM"
                                  " idempotency_keys WHERE principal = $1 AND key = $2",
                                  f"worker:{voter.worker_id}", k)
        assert row is not None and bytes(row["body"]) == response.content
        stored = bytes(row["body"]).decode() + row["headers"]
        assert not any(s in stored for s in secrets_)
        assert not any(f'"{c}"' in stored for c in ("yes", "no", "abstain", "choice"))
