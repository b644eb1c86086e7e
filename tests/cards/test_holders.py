"""Card holders in memory (membership/cards/holders.py): verification answers from memory,
and a status changed anywhere — through this instance, another instance, the owner's SQL —
is answered within the stated bound: at once here, by NOTIFY elsewhere, by the poll when
the listener is cut."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from flexunion.auth.keys import KeyStore
from flexunion.config import Settings
from flexunion.core.clock import Clock
from flexunion.core.secrets import Keyring
from flexunion.core.uow import UnitOfWork
from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.db.scope import SET_SCOPE_SQL, DbScope
from flexunion.db.urls import to_asyncpg
from flexunion.membership.cards import holders as holders_mod
from flexunion.membership.cards.holders import HolderStore
from flexunion.membership.cards.service import CardVerifier
from tests.cards.conftest import (
    app_of,
    card,
    member,
    officer_check,
    set_status,
    status_idx,
    verify,
)
from tests.conftest import TEST_SECRET
from tests.support.factories import Federation, Joined

NOTIFY_BOUND = 1.0  # seconds: the bound stated for another instance with its listener up
POLL_SECONDS = 0.5


@dataclass
class Instance:
    """A second instance of the service in this process: its own store and verifier, no
    sessions of its own (so it learns of changes only from PostgreSQL)."""

    store: HolderStore
    verifier: CardVerifier
    check: Callable[[str], Awaitable[str]]


@pytest.fixture
async def other_instance(settings: Settings, federation: Federation
                         ) -> AsyncIterator[Instance]:
    engine = make_engine(settings.app_database_url, pool_size=1, max_overflow=0)
    sessions = make_sessionmaker(engine)
    store = HolderStore(to_asyncpg(settings.app_database_url), poll_seconds=POLL_SECONDS)
    await store.start()
    verifier = CardVerifier(settings, KeyStore(sessions, Keyring(TEST_SECRET.encode())), Clock(),
                            holders=store)
    station = federation.ids[federation.stations[federation.regions[1]][0]]

    async def check(token: str) -> str:
        return await officer_check(verifier, sessions, station, token)

    try:
        yield Instance(store, verifier, check)
    finally:
        await store.close()
        await engine.dispose()


async def within(seconds: float, probe: Callable[[], Awaitable[bool]]) -> float:
    """How long until `probe` holds; fails past `seconds`."""
    started = time.monotonic()
    while not await probe():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def warm(instance: Instance, token: str, fed_id: uuid.UUID, reason: str = "ok") -> None:
    """Loaded, and answering `reason` from memory."""
    assert await instance.check(token) == reason  # a miss that starts the load
    await instance.store.ready(fed_id)
    before = instance.verifier.memory_answers
    assert await instance.check(token) == reason
    assert instance.verifier.memory_answers == before + 1


async def warm_member(client: httpx.AsyncClient, sms: Any, federation: Federation,
                      staff_token: Any, instance: Instance) -> tuple[Joined, str, uuid.UUID]:
    """A new active member, their card, and `instance` answering it from memory."""
    joined = await member(client, sms, federation, staff_token)
    token = (await card(client, joined))["token"]
    fed_id = federation.ids[federation.hq]
    await warm(instance, token, fed_id)
    return joined, token, fed_id


async def test_this_instance_answers_from_memory_and_its_own_change_at_once(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, live,
) -> None:
    joined = await member(client, sms, federation, staff_token)
    token = (await card(client, joined))["token"]
    officer = await staff_token(federation, "station_officer",
                                federation.stations[federation.regions[1]][0])
    assert (await verify(client, officer, token))["reason"] == "ok"
    desk_verifier = app_of(live).state.card_desk.verifier
    store: HolderStore = app_of(live).state.card_holders
    fed_id = federation.ids[federation.hq]
    await within(5, lambda: asyncio.sleep(0, store.slots(fed_id) is not None))
    before = desk_verifier.memory_answers
    result = await verify(client, officer, token)
    assert result["reason"] == "ok" and desk_verifier.memory_answers == before + 1
    assert result["holder"]["home_code"] == federation.stations[federation.regions[0]][0]
    assert result["holder"]["member_no"] == joined.body["member_no"]
    # A change committed through this instance is marked at commit, before the response:
    # the very next check answers it, never the old status.
    for to, reason in (("suspended", "suspended"), ("active", "ok"), ("parked", "parked"),
                       ("active", "ok"), ("left", "revoked")):
        await set_status(client, federation, staff_token, joined, to)
        result = await verify(client, officer, token)
        assert result["reason"] == reason and result["status"] == to, (to, result)
    # … and once the slot is re-read, answered from memory again.
    await within(5, lambda: asyncio.sleep(0, not store._dirty.get(fed_id)))
    before = desk_verifier.memory_answers
    assert (await verify(client, officer, token))["reason"] == "revoked"
    assert desk_verifier.memory_answers == before + 1


async def test_another_instance_learns_a_change_by_notify_within_the_bound(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token,
    other_instance: Instance,
) -> None:
    joined, token, fed_id = await warm_member(client, sms, federation, staff_token,
                                              other_instance)
    loads, fetches = other_instance.store.loads, other_instance.store.fetches
    await set_status(client, federation, staff_token, joined, "suspended")  # via the service
    took = await within(NOTIFY_BOUND, lambda: _is(other_instance, token, "suspended"))
    # Learnt by the notification (a slot re-read), not by a reload or the poll.
    await other_instance.store.ready(fed_id)
    assert other_instance.store.fetches > fetches and other_instance.store.loads == loads
    assert took < POLL_SECONDS
    before = other_instance.verifier.memory_answers
    assert await other_instance.check(token) == "suspended"
    assert other_instance.verifier.memory_answers == before + 1


async def _is(instance: Instance, token: str, reason: str) -> bool:
    return await instance.check(token) == reason


async def test_the_owners_own_sql_notifies_and_a_rollback_does_not(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, owner,
    other_instance: Instance,
) -> None:
    """The trigger fires for any role (an operator's SQL, the CLI), at commit only."""
    joined, token, _fed_id = await warm_member(client, sms, federation, staff_token,
                                              other_instance)
    park = text("UPDATE members SET status = 'parked' WHERE id = :m")
    async with owner() as s:
        await s.execute(park, {"m": uuid.UUID(joined.member_id)})
        await asyncio.sleep(0.3)  # not yet committed: nothing is told, nothing changes
        assert await other_instance.check(token) == "ok"
        await s.rollback()
    await asyncio.sleep(0.3)
    assert await other_instance.check(token) == "ok"
    async with owner() as s, s.begin():
        await s.execute(park, {"m": uuid.UUID(joined.member_id)})
    await within(NOTIFY_BOUND, lambda: _is(other_instance, token, "parked"))


async def test_with_the_listener_cut_the_poll_catches_a_change_within_its_bound(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, settings: Settings,
    other_instance: Instance,
) -> None:
    """Cut, the store is not trusted: every check reads PostgreSQL (current, or 503 when it
    is away). Within one poll the listener is back, the federation whose version moved
    meanwhile is reloaded, and memory answers again — with the change it never heard of."""
    joined, token, _fed_id = await warm_member(client, sms, federation, staff_token,
                                              other_instance)
    store, verifier = other_instance.store, other_instance.verifier
    loads = store.loads
    # Cut the listening connection from the server side, as a restart or a network cut does.
    assert store._listener is not None
    pid = store._listener.get_server_pid()
    conn = await asyncpg.connect(to_asyncpg(settings.app_database_url))  # the same role may
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()
    await within(2, lambda: asyncio.sleep(0, not store.trusted))
    await set_status(client, federation, staff_token, joined, "suspended")
    before = verifier.memory_answers
    assert await other_instance.check(token) == "suspended"  # read from PostgreSQL
    assert verifier.memory_answers == before
    # One poll (POLL_SECONDS): listener back, the federation reloaded, memory trusted again.
    async def from_memory() -> bool:
        seen = verifier.memory_answers
        return await other_instance.check(token) == "suspended" and verifier.memory_answers > seen

    await within(POLL_SECONDS + NOTIFY_BOUND, from_memory)
    assert store.loads > loads and store.listening and store.trusted
    await set_status(client, federation, staff_token, joined, "active")  # and heard again
    await within(NOTIFY_BOUND, lambda: _is(other_instance, token, "ok"))


async def test_a_silent_cut_is_found_by_the_poll(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token,
    other_instance: Instance,
) -> None:
    """A listener that no longer answers (no FIN: a network cut) is found by the poll's
    ping within POLL_SECONDS + PING_SECONDS; until then memory is what it was."""
    joined, token, _fed_id = await warm_member(client, sms, federation, staff_token,
                                              other_instance)
    store = other_instance.store
    assert store._listener is not None

    # Freeze its backend: the socket stays open, nothing is answered or delivered.
    pid = store._listener.get_server_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        await _silent_cut_checks(client, federation, staff_token, joined, token, other_instance)
    finally:
        os.kill(pid, signal.SIGCONT)


async def _silent_cut_checks(client: httpx.AsyncClient, federation: Federation, staff_token,
                             joined, token: str, other_instance: Instance) -> None:
    store = other_instance.store
    await set_status(client, federation, staff_token, joined, "suspended")
    took = await within(POLL_SECONDS + holders_mod.PING_SECONDS + NOTIFY_BOUND,
                        lambda: _is(other_instance, token, "suspended"))
    assert took > 0.05  # not by a notification: the ping found the cut
    await within(POLL_SECONDS + NOTIFY_BOUND, lambda: asyncio.sleep(0, store.trusted))


async def test_the_slot_says_whose_it_is(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, owner,
    other_instance: Instance,
) -> None:
    """Memory answers for the slot's own member only: another id at that slot is nobody."""
    joined, _token, fed_id = await warm_member(client, sms, federation, staff_token,
                                              other_instance)
    slot = await status_idx(owner, joined.member_id)
    store = other_instance.store
    status, home = store.lookup(fed_id, slot, uuid.UUID(joined.member_id))  # type: ignore[misc]
    assert status == "active" and home.code == federation.stations[federation.regions[0]][0]
    assert store.lookup(fed_id, slot, uuid.uuid4()) is None
    assert store.lookup(fed_id, 10**9, uuid.UUID(joined.member_id)) is holders_mod.MISS


async def test_slots_are_read_only_for_the_callers_own_federation(
    client: httpx.AsyncClient, sms, federation: Federation, other_federation: Federation,
    staff_token, settings: Settings,
) -> None:
    """The packed slots (homes, id prefixes) open only under the federation's own scope and
    the store's principal; the notification names only a federation and its slots."""
    await member(client, sms, federation, staff_token)
    mine, theirs = federation.ids[federation.hq], other_federation.ids[other_federation.hq]
    conn = await asyncpg.connect(to_asyncpg(settings.app_database_url))
    try:
        sql = "SELECT packed FROM flexunion_card_slots($1)"
        for scope, principal, fed, readable in (
            (mine, "system:card-holders", mine, True),
            (mine, "system:card-holders", theirs, False),  # another federation's
            (theirs, "system:card-holders", mine, False),
            (mine, "station_officer:x", mine, False),  # another principal
        ):
            async with conn.transaction():
                await conn.execute(SET_SCOPE_SQL, str(scope), principal, "")
                row = await conn.fetchrow(sql, fed)
                assert (row is not None and len(row[0]) > 0) is readable, (scope, principal, fed)
                some = await conn.fetchrow(
                    "SELECT packed FROM flexunion_card_slots($1, $2)", fed, list(range(10)))
                assert (some is not None and len(some[0]) > 0) is readable
        got: list[str] = []
        await conn.add_listener("flexunion_cards", lambda *a: got.append(a[3]))
        async with conn.transaction():
            await conn.execute("SELECT 1")
        joined = await member(client, sms, federation, staff_token)
        await within(NOTIFY_BOUND, lambda: asyncio.sleep(0, bool(got)))
        for payload in got:
            fed_s, version, slots = payload.split(":")
            assert uuid.UUID(fed_s) == mine and int(version) > 0
            assert all(s.isdigit() for s in slots.split(","))
            assert joined.member_id not in payload
    finally:
        await conn.close()


def test_a_million_slots_stay_small() -> None:
    """13 bytes a slot in memory: ~13 MB for a million members (the bench measures RSS)."""
    import numpy as np

    from flexunion.membership.cards import repository

    n = 1_000_000
    records = np.zeros(n, dtype=holders_mod.RECORD)
    records["idx"] = np.arange(n)
    records["code"] = 2
    rows = repository.PackedSlots(7, [uuid.uuid4()], ["s"], ["站"], records.tobytes())
    snap = holders_mod.build(rows)
    assert snap.nbytes <= 13 * (n + holders_mod.GROW)
    assert len(snap.codes) >= n and int(snap.codes[n - 1]) == 2


async def test_a_change_through_the_instances_own_sessions_needs_no_notification(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, settings: Settings,
) -> None:
    """The after-commit mark alone: a store that hears no notification and whose poll is
    far off still answers a change committed through its own engine, at once."""
    from flexunion.core.clock import Clock as RealClock
    from flexunion.membership import service as membership

    joined = await member(client, sms, federation, staff_token)
    token = (await card(client, joined))["token"]
    fed_id = federation.ids[federation.hq]
    region = federation.ids[federation.regions[0]]
    engine = make_engine(settings.app_database_url, pool_size=2, max_overflow=0)
    sessions = make_sessionmaker(engine)
    store = HolderStore(to_asyncpg(settings.app_database_url), poll_seconds=3600,
                        local_engines=[engine.sync_engine])
    await store.start()
    try:
        verifier = CardVerifier(settings, KeyStore(sessions, Keyring(TEST_SECRET.encode())),
                                Clock(), holders=store)
        station = federation.ids[federation.stations[federation.regions[1]][0]]

        async def check() -> str:
            return await officer_check(verifier, sessions, station, token)

        assert await check() == "ok"
        await store.ready(fed_id)
        assert store._listener is not None
        await store._listener.remove_listener("flexunion_cards", store._notified)  # deaf
        uow = UnitOfWork(sessions, DbScope(region, "regional_admin:test"))
        try:
            await membership.change_status(uow.session, RealClock(),
                                           uuid.UUID(joined.member_id), "suspended", "测试")
            await uow.commit()
        finally:
            await uow.close()
        assert await check() == "suspended"  # marked at commit: read from PostgreSQL
        await store.ready(fed_id)  # … and re-read into memory
        before = verifier.memory_answers
        assert await check() == "suspended" and verifier.memory_answers == before + 1
    finally:
        await store.close()
        await engine.dispose()
