"""The audit trail: hash-chained in PostgreSQL, append-only for the app role, and
`verify` names every broken link.

The test database is shared by the whole run, so every tampering happens in a
transaction that checks the chain over the same connection and is rolled back."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from flexunion.audit.service import record
from flexunion.audit.verify import VerifyReport, check_chain, verify
from flexunion.config import Settings
from flexunion.db.runtime import owner_session
from flexunion.db.urls import to_asyncpg
from tests.support.factories import Federation

HEAD_MOVED = "chain head is at seq {head} but the log ends at seq {last}"


@pytest.fixture
async def chain(settings: Settings) -> list[int]:
    """Three events appended in one transaction (so consecutive); their seqs."""
    marker = "t" + secrets.token_hex(4)
    async with owner_session(settings, principal="cli:test") as session:
        for n in range(3):
            await record(session, "test.event", tenant_id=None, object_type="test",
                         object_id=marker, payload={"n": n, "text": "审计 audit"})
    conn = await asyncpg.connect(to_asyncpg(settings.database_url or ""))
    try:
        rows = await conn.fetch(
            "SELECT seq, actor, payload::text AS payload, prev_hash, hash FROM audit_events"
            " WHERE object_id = $1 ORDER BY seq", marker)
    finally:
        await conn.close()
    assert [r["actor"] for r in rows] == ["cli:test"] * 3
    assert [r["seq"] for r in rows] == list(range(rows[0]["seq"], rows[0]["seq"] + 3))
    assert rows[1]["prev_hash"] == rows[0]["hash"] and rows[2]["prev_hash"] == rows[1]["hash"]
    return [r["seq"] for r in rows]


@pytest.fixture
async def owner_conn(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(to_asyncpg(settings.database_url or ""))
    yield conn
    await conn.close()


@pytest.fixture
def tampered(owner_conn: asyncpg.Connection,
             settings: Settings) -> Callable[[str], Awaitable[VerifyReport]]:
    """Run the tampering SQL as the owner, check the chain in the same transaction,
    roll back, and make sure the shared chain is whole again."""

    async def run(sql: str, *args: object) -> VerifyReport:
        tx = owner_conn.transaction(isolation="repeatable_read")
        await tx.start()
        try:
            status = await owner_conn.execute(sql, *args)
            assert status.endswith(" 1"), status  # exactly one row changed
            return await check_chain(owner_conn)
        finally:
            await tx.rollback()
            assert (await verify(settings.database_url or "")).ok

    return run


async def test_intact_chain_verifies(settings: Settings, chain: list[int]) -> None:
    report = await verify(settings.database_url or "")
    assert report.ok, report.problems
    assert report.checked >= 3 and report.head_seq >= chain[-1]
    assert len(report.head_hash) == 64


async def test_check_chain_needs_a_transaction(owner_conn: asyncpg.Connection) -> None:
    with pytest.raises(RuntimeError, match="needs a transaction"):
        await check_chain(owner_conn)


async def test_an_edited_entry_is_named(chain: list[int], tampered) -> None:
    report = await tampered(
        "UPDATE audit_events SET payload = payload || '{\"n\": 99}' WHERE seq = $1", chain[1])
    assert report.problems == [f"seq {chain[1]}: content edited (hash mismatch)"]


async def test_an_edited_actor_is_named(chain: list[int], tampered) -> None:
    report = await tampered("UPDATE audit_events SET actor = 'someone-else' WHERE seq = $1",
                            chain[0])
    assert report.problems == [f"seq {chain[0]}: content edited (hash mismatch)"]


async def test_a_deleted_middle_entry_is_named(chain: list[int], tampered) -> None:
    report = await tampered("DELETE FROM audit_events WHERE seq = $1", chain[1])
    assert report.problems == [
        f"seq {chain[1]}..{chain[1]}: missing (deleted entries)",
        f"seq {chain[2]}: prev_hash does not match the entry before",
    ]


async def test_a_deleted_last_entry_moves_the_head(chain: list[int], tampered) -> None:
    report = await tampered(
        "DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)")
    assert len(report.problems) == 1
    assert report.problems[0].startswith(
        HEAD_MOVED.format(head=report.head_seq, last=report.head_seq - 1)), report.problems


async def test_an_edited_head_is_named(chain: list[int], tampered) -> None:
    report = await tampered("UPDATE audit_chain_head SET hash = md5(hash) WHERE id = 1")
    assert len(report.problems) == 1
    assert report.problems[0].startswith(
        HEAD_MOVED.format(head=report.head_seq, last=report.head_seq)), report.problems


async def test_a_rehashed_edit_breaks_the_next_link(chain: list[int], tampered) -> None:
    """Editing an entry and recomputing its own hash hides the edit in that entry,
    but the next entry still points at the old hash."""
    report = await tampered(
        "UPDATE audit_events SET payload = '{\"n\": 99}',"
        " hash = flexunion_audit_digest(prev_hash, seq, occurred_at, tenant_id, actor, action,"
        " object_type, object_id, '{\"n\": 99}'::jsonb, request_id) WHERE seq = $1", chain[1])
    assert report.problems == [f"seq {chain[2]}: prev_hash does not match the entry before"]


@pytest.fixture
async def app_conn(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(to_asyncpg(settings.app_database_url or ""))
    await conn.execute("SELECT set_config('flexunion.principal', 'x', false)")
    yield conn
    await conn.close()


@pytest.mark.parametrize("sql", [
    "UPDATE audit_events SET payload = '{}' WHERE seq = $1",
    "DELETE FROM audit_events WHERE seq = $1",
    "UPDATE audit_chain_head SET seq = $1 WHERE id = 1",
    "SELECT seq FROM audit_chain_head WHERE seq >= $1",
    "TRUNCATE audit_events",
])
async def test_the_app_role_cannot_rewrite_history(app_conn: asyncpg.Connection, chain: list[int],
                                                   sql: str) -> None:
    args = (chain[0],) if "$1" in sql else ()
    async with app_conn.transaction():
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await app_conn.execute(sql, *args)


async def test_the_app_role_appends_only_as_itself(app_conn: asyncpg.Connection,
                                                   owner_conn: asyncpg.Connection,
                                                   federation: Federation,
                                                   settings: Settings) -> None:
    head_before = await owner_conn.fetchrow("SELECT seq, hash FROM audit_chain_head")
    insert = ("INSERT INTO audit_events (tenant_id, actor, action, seq, prev_hash, hash)"
              " VALUES ($1, $2, 'test.forged', 1, 'forged', 'forged')")
    hq = federation.ids[federation.hq]
    tx = app_conn.transaction()
    await tx.start()
    try:
        await app_conn.execute("SELECT set_config('flexunion.tenant_id', $1, true)", str(hq))
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            await app_conn.execute(insert, hq, "someone-else")
    finally:
        await tx.rollback()

    tx = app_conn.transaction()
    await tx.start()
    try:
        await app_conn.execute("SELECT set_config('flexunion.tenant_id', $1, true)", str(hq))
        row = await app_conn.fetchrow(insert + " RETURNING seq, prev_hash, hash", hq, "x")
        # The chain fields are the trigger's, whatever the caller sent.
        assert row["seq"] == head_before["seq"] + 1
        assert row["prev_hash"] == head_before["hash"]
        assert row["hash"] not in ("forged", head_before["hash"]) and len(row["hash"]) == 64
    finally:
        await tx.rollback()
    assert await owner_conn.fetchrow("SELECT seq, hash FROM audit_chain_head") == head_before
    assert (await verify(settings.database_url or "")).ok


async def test_an_event_must_name_its_actor(settings) -> None:
    """Even the owner cannot append an anonymous event (no principal set → empty actor)."""
    import asyncpg as _asyncpg

    from flexunion.db.urls import to_asyncpg as _to_asyncpg

    conn = await _asyncpg.connect(_to_asyncpg(settings.database_url))
    try:
        async with conn.transaction():
            with pytest.raises(_asyncpg.CheckViolationError):
                await conn.execute("INSERT INTO audit_events (actor, action)"
                                   " VALUES (flexunion_principal(), 'x')")
    finally:
        await conn.close()
